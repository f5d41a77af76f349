-- Each (reporter, partner, flow, year) from the newest vintage that has it: a vintage that answered fewer years or
-- reporters (an answer with only the latest year, a narrower JLAC_IMF_REPORTERS, a reporter without observations)
-- revises what it holds and leaves the rest as the earlier vintages had it, as marts.trade_revisions chains them.
SELECT *
FROM {{ ref('stg_imf_imts__trade_vintages') }}
QUALIFY row_number() OVER (
    PARTITION BY reporter_iso3, partner_iso3, partner_aggregate, flow, year
    ORDER BY vintage DESC
) = 1
