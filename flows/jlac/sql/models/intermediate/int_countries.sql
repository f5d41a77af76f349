WITH names AS (
    SELECT * FROM {{ source('staging', 'country_name_map') }} WHERE iso3 IS NOT NULL
), mof_direct AS (
    SELECT iso3, list(code ORDER BY code) AS mof_codes, bool_or(is_mof_latin_america) AS is_mof_latin_america
    FROM {{ ref('stg_japan_customs_country_codes__countries') }}
    WHERE iso3 IS NOT NULL
    GROUP BY iso3
), successors AS (
    -- ISO 3166-3 ANHH: the Netherlands Antilles were dissolved in 2010 into Curacao, Sint Maarten and Bonaire,
    -- Sint Eustatius and Saba; MOF's code list keeps one code for them ('Netherlands Antilles'), so they take its
    -- codes and zone (the IMF reports Japan's trade with Curacao from 2019 on, no longer under ANT)
    SELECT * FROM (VALUES ('CUW', 'ANT'), ('SXM', 'ANT'), ('BES', 'ANT')) AS s(iso3, predecessor)
    UNION ALL
    -- MOF's 327 'French West Indies' (mapped to Guadeloupe) covers Martinique too, and Saint Martin, part of
    -- Guadeloupe until 2007: they had no MOF code and stood outside MOF's Middle and South America (QA pass)
    SELECT * FROM (VALUES ('MTQ', 'GLP'), ('MAF', 'GLP')) AS s(iso3, predecessor)
), mof AS (
    SELECT * FROM mof_direct
    UNION ALL
    SELECT s.iso3, m.mof_codes, m.is_mof_latin_america
    FROM successors AS s JOIN mof_direct AS m ON m.iso3 = s.predecessor
    WHERE s.iso3 NOT IN (SELECT iso3 FROM mof_direct)  -- a code of their own, once MOF has one, wins
)
SELECT
    n.iso3,
    arg_min(n.display_name, CASE n.source WHEN 'imf' THEN 0 WHEN 'mof' THEN 1 WHEN 'iso' THEN 3 ELSE 2 END) AS name,
    max(n.m49) AS m49,
    arg_min(n.kind, CASE n.source WHEN 'imf' THEN 0 WHEN 'mof' THEN 1 WHEN 'iso' THEN 3 ELSE 2 END) AS kind,
    bool_or(n.is_celac) AS is_celac,
    coalesce(any_value(mof.is_mof_latin_america), false) AS is_mof_latin_america,
    list(DISTINCT n.name ORDER BY n.name) FILTER (WHERE n.source = 'imf') AS imf_names,
    any_value(mof.mof_codes) AS mof_codes
FROM names AS n
LEFT JOIN mof USING (iso3)
GROUP BY n.iso3
ORDER BY n.iso3
