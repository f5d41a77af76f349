-- Yen per US dollar by month (FRED EXJPUS, Federal Reserve H.10 noon buying rates, monthly average).
-- @col month: First day of the month
-- @col jpy_per_usd: Yen per US dollar, monthly average
-- @col vintage: Snapshot vintage
SELECT month, jpy_per_usd, vintage
FROM raw.fred_exjpus
WHERE jpy_per_usd IS NOT NULL
