-- Annual average yen per US dollar: the mean of the twelve monthly averages (as FRED's AEXJPUS); only
-- complete years. Used to convert MOF yen values to dollars.
-- @col year: Calendar year
-- @col jpy_per_usd: Yen per US dollar, mean of the 12 monthly averages
-- @col months: Number of months averaged (always 12)
-- @col vintage: Snapshot vintage of the monthly series
SELECT year(month) AS year, avg(jpy_per_usd) AS jpy_per_usd, count(*) AS months, max(vintage) AS vintage
FROM staging.stg_fred_exjpus__rates
GROUP BY year(month)
HAVING count(*) = 12
ORDER BY year
