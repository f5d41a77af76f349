SELECT
    recipient_iso3,
    donor_iso3,
    year,
    measure,
    source,
    price_basis,
    round(sum(amount_usd) / 1e6, 3) AS amount_usd_m,
    -- a year whose projects are all grants has no loans (0); loans recorded without an amount stay unknown (NULL),
    -- as do a series' loans beside records that do not say their instrument
    CASE WHEN {{ splits_instruments('source') }}
              AND count(*) FILTER (WHERE instrument IN ('oda_all_instruments', 'oof_all_instruments')) = 0
         THEN round(coalesce(sum(amount_usd) FILTER (WHERE instrument = 'loan'),
                             CASE WHEN count(*) FILTER (WHERE instrument = 'loan') = 0 THEN 0 END) / 1e6, 3)
    END AS loans_usd_m,
    CAST(sum(n_records) AS BIGINT) AS n_records  -- a count: BIGINT, not the HUGEINT of sum()
FROM {{ ref('fct_dev_finance') }}
GROUP BY recipient_iso3, donor_iso3, year, measure, source, price_basis
ORDER BY recipient_iso3, donor_iso3, year, source
