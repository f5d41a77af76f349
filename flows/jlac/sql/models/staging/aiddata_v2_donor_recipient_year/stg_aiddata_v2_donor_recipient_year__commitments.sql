SELECT donor_iso3, recipient_iso3, year, amount_usd, vintage
FROM {{ source('aiddata_v2_donor_recipient_year', 'aiddata_v2_donor_recipient_year') }}
WHERE donor_iso3 IS NOT NULL AND recipient_iso3 IS NOT NULL  -- countries (ISO codes, reviewed recodes: the parser)
  -- the file's 2010-2011 columns are a partial year (7 of the 40 donor countries of 2008 have a 2010 row, e.g.
  -- India 504m against 1,376m in 2009): kept out, so that no series ends in a drop that is only coverage
  AND year <= 2009
