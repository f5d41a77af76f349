-- Japan's total imports per year from MOF's HS 9-digit files: the sum of Value-Year over every HS-9 line, i.e.
-- MOF's national total (CIF, all partners), in yen. Only the newest vintage. An independent count of
-- Japan's imports from the world, beside what Japan reports to the IMF.
-- @col year: Calendar year
-- @col flow: Always 'import' (the files hold imports only)
-- @col value_jpy: Total imports, yen (thousand yen x 1000)
-- @col hs9_lines: Number of HS-9 lines summed
-- @col source: Always 'mof-hs9-imports'
-- @col vintage: Snapshot vintage
SELECT
    year,
    flow,
    CAST(sum(value_jpy_thousand) * 1000 AS BIGINT) AS value_jpy,
    count(*) AS hs9_lines,
    'mof-hs9-imports' AS source,
    vintage
FROM raw.mof_hs9_imports
WHERE vintage = (SELECT max(vintage) FROM raw.mof_hs9_imports)
GROUP BY year, flow, vintage
ORDER BY year, flow
