// What DBeaver, Metabase and Tableau do through pgjdbc: DatabaseMetaData, typed getters, bound parameters.
// Compiled with javac at test time (tests/integration/test_pg_clients.py); prints key=value lines.
import java.math.BigDecimal;
import java.sql.*;

public class JdbcProbe {
    public static void main(String[] args) throws Exception {
        try (Connection con = DriverManager.getConnection(args[0], args[1], args[2])) {
            DatabaseMetaData md = con.getMetaData();
            StringBuilder schemas = new StringBuilder();
            try (ResultSet rs = md.getSchemas()) {
                while (rs.next()) schemas.append(rs.getString("TABLE_SCHEM")).append(',');
            }
            System.out.println("schemas=" + schemas);
            for (String schema : new String[] {"marts", "figures", "meta"}) {
                StringBuilder tables = new StringBuilder();
                java.util.List<String> names = new java.util.ArrayList<>();
                try (ResultSet rs = md.getTables(null, schema, "%", new String[] {"TABLE"})) {
                    while (rs.next()) {
                        tables.append(rs.getString("TABLE_NAME")).append(',');
                        names.add(rs.getString("TABLE_NAME"));
                    }
                }
                System.out.println("tables." + schema + "=" + tables);
                // every table it lists can be queried
                try (Statement st = con.createStatement()) {
                    for (String name : names) {
                        try (ResultSet rs = st.executeQuery("SELECT count(*) FROM " + schema + ".\"" + name + "\"")) {
                            rs.next();
                            System.out.println("count." + schema + "." + name + "=" + rs.getLong(1));
                        }
                    }
                }
            }
            StringBuilder cols = new StringBuilder();
            try (ResultSet rs = md.getColumns(null, "marts", "fct_trade_annual", "%")) {
                while (rs.next()) cols.append(rs.getString("COLUMN_NAME")).append(':')
                        .append(rs.getString("TYPE_NAME")).append(':').append(rs.getString("REMARKS") != null).append(',');
            }
            System.out.println("columns.fct_trade_annual=" + cols);

            // Bound parameters: string, int, and typed getters: double, boolean
            try (PreparedStatement ps = con.prepareStatement(
                    "SELECT value_usd, is_estimate FROM marts.fct_trade_annual "
                    + "WHERE reporter_iso3 = ? AND partner_iso3 = ? AND flow = ? AND year = ?")) {
                ps.setString(1, "JPN"); ps.setString(2, "MEX"); ps.setString(3, "export"); ps.setInt(4, 2018);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    System.out.println("jpn_mex_export_2018=" + new BigDecimal(rs.getDouble(1)).toPlainString());
                    System.out.println("jpn_mex_export_2018.is_estimate=" + rs.getBoolean(2));
                }
            }
            // getBoolean must be true where the value is true
            try (Statement st = con.createStatement();
                 ResultSet rs = st.executeQuery("SELECT in_report_span FROM figures.fig1_japan_lac_trade WHERE year = 2018")) {
                rs.next();
                System.out.println("fig1_2018.in_report_span=" + rs.getBoolean(1));
            }
            // A date parameter and a date getter
            try (PreparedStatement ps = con.prepareStatement(
                    "SELECT count(*), min(announced_date) FROM figures.table1_japan_lac_policy WHERE announced_date = ?")) {
                ps.setDate(1, Date.valueOf("2014-08-02"));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    System.out.println("policy_2014_08_02.count=" + rs.getInt(1));
                    System.out.println("policy_2014_08_02.date=" + rs.getDate(2));
                }
            }
            // A numeric parameter and a numeric getter
            try (PreparedStatement ps = con.prepareStatement(
                    "SELECT statement_id, report_value FROM figures.fig1_reconciliation WHERE report_value = ?")) {
                ps.setBigDecimal(1, new BigDecimal("58.0"));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    System.out.println("reconciliation_58.id=" + rs.getString(1));
                    System.out.println("reconciliation_58.value=" + rs.getBigDecimal(2).toPlainString());
                }
            }
        }
    }
}
