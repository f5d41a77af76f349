{# Tests on views over a partitioned raw source (MOF HS-9: tens of millions of rows) check the rows of the partitions
   new to the warehouse, as its GX suite does: a test's `where: "__new_partitions(<raw table>: col, col)__"` becomes
   a filter on the columns whose per-partition minimum and maximum raw.<raw table>_partitions keeps.

   * a build that holds only new partitions (a first or a full build): no filter, every row is tested;
   * an incremental build that adds partitions: only their rows (one new month costs a month, not the history);
   * an incremental build that adds none (the view is rebuilt because another input changed): nothing to test.
     The tested columns come from the raw partitions alone; the views' joins are to tables whose own grain
     tests run in the same build (MOF's country codes, the months each file reports, FRED's months), and the
     models' code is unchanged (a code change makes a full build).

   Only in jlac's refreshes, which pass the var `jlac_new_partitions_only` (jlac.transform.build): the flags say
   what the build that wrote them added, so a `dbt test` run by hand on a published warehouse (the README's way)
   tested no row at all after a refresh of another source, and passed over a repeated line (found by a QA pass).
   Without the var every row is tested.

   dbt's documented way to template `where` at run time is to override get_where_subquery
   (docs.getdbt.com/reference/resource-configs/where, "Custom logic"). #}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where') -%}
    {%- if where -%}
        {%- if '__new_partitions(' in where -%}
            {%- set spec = where.split('__new_partitions(')[1].split(')__')[0] -%}
            {%- set table = spec.split(':')[0] | trim -%}
            {%- set columns = [] -%}
            {%- for c in spec.split(':')[1].split(',') -%}{%- do columns.append(c | trim) -%}{%- endfor -%}
            {%- set where = where | replace('__new_partitions(' ~ spec ~ ')__', new_partitions(table, columns)) -%}
        {%- endif -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{# A SQL predicate selecting the rows of the new partitions of raw.<table> by `columns` (each between the partition's
   minimum and maximum): 'true' when every partition is new, 'false' when none is. #}
{% macro new_partitions(table, columns) -%}
    {%- if not execute or not var('jlac_new_partitions_only', false) -%}{{ return('true') }}{%- endif -%}
    {%- set ranges = [] -%}
    {%- for c in columns -%}
        {%- do ranges.append("'" ~ c ~ " BETWEEN ' || " ~ _sql_literal("min_" ~ c) ~ " || ' AND ' || "
                              ~ _sql_literal("max_" ~ c)) -%}
    {%- endfor -%}
    {%- set query -%}
        WITH p AS (SELECT *, '(' || {{ ranges | join(" || ' AND ' || ") }} || ')' AS range
                   FROM {{ target.database }}.raw.{{ table }}_partitions)
        SELECT count(*) FILTER (WHERE is_new), count(*),
               coalesce(string_agg(DISTINCT range, ' OR ') FILTER (WHERE is_new), 'false')
        FROM p
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- if row[0] == row[1] -%}{{ return('true') }}{%- endif -%}
    {{ return('(' ~ row[2] ~ ')') }}
{%- endmacro %}

{# SQL that renders the value of column `expr` as a quoted SQL literal ('2025', 'export'). #}
{% macro _sql_literal(expr) -%}
    {{ return("('''' || replace(CAST(" ~ expr ~ " AS VARCHAR), '''', '''''') || '''')") }}
{%- endmacro %}
