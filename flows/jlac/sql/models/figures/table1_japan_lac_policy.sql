SELECT year_announced, pillar_no, connectivity_type, slogan, policy_objectives_paraphrased AS policy_objectives, policy,
       announced_date, venue, slogan_source, confidence, source_publisher, source_url, secondary_source_url
FROM {{ source('seeds', 'japan_lac_policy') }}
ORDER BY year_announced DESC, TRY_CAST(pillar_no AS INTEGER) NULLS LAST, pillar_no
