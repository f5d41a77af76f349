WITH sections(section_no, section, first_chapter, last_chapter, section_name) AS (VALUES
    (1, 'I', 1, 5, 'Live animals; animal products'),
    (2, 'II', 6, 14, 'Vegetable products'),
    (3, 'III', 15, 15, 'Animal, vegetable or microbial fats and oils'),
    (4, 'IV', 16, 24, 'Prepared foodstuffs, beverages, tobacco'),
    (5, 'V', 25, 27, 'Mineral products (ores, fuels)'),
    (6, 'VI', 28, 38, 'Chemical products'),
    (7, 'VII', 39, 40, 'Plastics and rubber'),
    (8, 'VIII', 41, 43, 'Hides, skins, leather, furskins'),
    (9, 'IX', 44, 46, 'Wood, cork, plaiting materials'),
    (10, 'X', 47, 49, 'Pulp, paper, printed matter'),
    (11, 'XI', 50, 63, 'Textiles and textile articles'),
    (12, 'XII', 64, 67, 'Footwear, headgear, umbrellas'),
    (13, 'XIII', 68, 70, 'Stone, ceramic and glass articles'),
    (14, 'XIV', 71, 71, 'Pearls, precious stones and metals'),
    (15, 'XV', 72, 83, 'Base metals and articles'),
    (16, 'XVI', 84, 85, 'Machinery and electrical equipment'),
    (17, 'XVII', 86, 89, 'Vehicles, aircraft, vessels'),
    (18, 'XVIII', 90, 92, 'Optical, medical, precision instruments; clocks; musical instruments'),
    (19, 'XIX', 93, 93, 'Arms and ammunition'),
    (20, 'XX', 94, 96, 'Miscellaneous manufactured articles'),
    (21, 'XXI', 97, 97, 'Works of art, antiques')
)
SELECT lpad(CAST(c AS VARCHAR), 2, '0') AS hs_chapter, coalesce(s.section, 'other') AS section,
       coalesce(s.section_no, 22) AS section_no,
       coalesce(s.section_name, 'Other (national special codes: 00, 98, 99)') AS section_name
FROM range(0, 100) AS t(c)
LEFT JOIN sections s ON c BETWEEN s.first_chapter AND s.last_chapter
ORDER BY hs_chapter
