-- The year's twelve monthly rates as one list, for models that convert a line's months at once (MOF's HS-9 lines):
-- joining a line to its year and indexing the list by month replaces a join per monthly row.
WITH years AS (
    SELECT DISTINCT CAST(year(month) AS INTEGER) AS year FROM {{ ref('stg_fred_exjpus__rates') }}
)
SELECT y.year, list(r.jpy_per_usd ORDER BY m.month) AS jpy_per_usd_months
FROM years AS y
CROSS JOIN range(1, 13) AS m(month)
LEFT JOIN {{ ref('stg_fred_exjpus__rates') }} AS r ON r.month = make_date(y.year, CAST(m.month AS INTEGER), 1)
GROUP BY y.year
