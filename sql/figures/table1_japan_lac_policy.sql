-- Table 1: Japan's policy toward LAC. The 2018 Japan-LAC Connectivity Enhancement Initiative (announced by
-- Prime Minister Abe in Buenos Aires, December 2018) with its three pillars and the 2014 'Juntos' slogans the
-- report pairs with them, from jlac's reviewed seed of MOFA sources.
-- @col year_announced: Year announced (2018 initiative first, then the 2014 principles it builds on)
-- @col pillar_no: Pillar number (1-3) or 'cross-cutting'
-- @col connectivity_type: Pillar
-- @col slogan: The report's label for the pillar
-- @col policy_objectives: Objectives of the pillar (paraphrased from MOFA)
-- @col policy: Policy name
-- @col announced_date: Date announced
-- @col venue: Where announced
-- @col slogan_source: Where the slogan mapping comes from
-- @col confidence: Reviewer's confidence
-- @col source_url: MOFA source
SELECT year_announced, pillar_no, connectivity_type, slogan, policy_objectives_paraphrased AS policy_objectives, policy,
       announced_date, venue, slogan_source, confidence, source_url
FROM seeds.japan_lac_policy
ORDER BY year_announced DESC, TRY_CAST(pillar_no AS INTEGER) NULLS LAST, pillar_no
