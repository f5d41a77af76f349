WITH years AS (
    SELECT unnest(generate_series(2018, year(current_date))) AS as_of_year
), status AS (
    SELECT y.as_of_year, p.*,
           CASE WHEN p.opened_year > y.as_of_year THEN 'not yet open'
                WHEN p.closed_year <= y.as_of_year THEN 'closed'
                ELSE 'operating' END AS status,
           CASE WHEN p.opened_year > 2018 THEN 'not yet open'
                WHEN p.closed_year <= 2018 THEN 'closed'
                ELSE 'operating' END AS status_2018_derived
    FROM {{ source('seeds', 'mexico_auto_plants') }} p CROSS JOIN years y
)
SELECT as_of_year, plant_id, company, plant_name, facility_type, state, municipality, latitude, longitude,
       coord_precision, opened_year, closed_year, status, status <> status_2018_derived AS status_changed_since_2018,
       products_2018, capacity_units, capacity_unit, capacity_year, capacity_note, confidence,
       likely_in_fig2_2018 AS likely_in_report_figure, source_publisher, source_url, secondary_source_url
FROM status
ORDER BY as_of_year, company, plant_id
