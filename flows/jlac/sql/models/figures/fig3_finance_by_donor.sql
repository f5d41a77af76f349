SELECT
    recipient_iso3,
    donor_iso3,
    year,
    measure,
    source,
    price_basis,
    round(sum(amount_usd) / 1e6, 3) AS amount_usd_m,
    -- a year whose projects are all grants has no loans (0); loans recorded without an amount stay unknown (NULL)
    CASE WHEN source IN ('aiddata-gcdf2-projects', 'mideplan-cooperation')
         THEN round(coalesce(sum(amount_usd) FILTER (WHERE instrument = 'loan'),
                             CASE WHEN count(*) FILTER (WHERE instrument = 'loan') = 0 THEN 0 END) / 1e6, 3)
    END AS loans_usd_m,
    CAST(sum(n_records) AS BIGINT) AS n_records  -- a count: BIGINT, not the HUGEINT of sum()
FROM {{ ref('fct_dev_finance') }}
GROUP BY recipient_iso3, donor_iso3, year, measure, source, price_basis
ORDER BY recipient_iso3, donor_iso3, year, source
