-- Figure 2: Japanese automakers' plants in Mexico as of each year from 2018 (the report's JETRO map) to the
-- current year, from jlac's reviewed seed (coordinates approximate, see coord_precision). Pick a year with
-- WHERE as_of_year = ...: later years show openings (Toyota Guanajuato, 2019) and closures (Honda El Salto
-- autos 2020, Nissan CIVAC and COMPAS 2026).
-- @col as_of_year: The plant's status is as of the end of this year
-- @col plant_id: jlac plant id
-- @col company: Automaker
-- @col plant_name: Plant name
-- @col facility_type: vehicle_assembly, engine, transmission, truck_assembly, ...
-- @col state: Mexican state
-- @col municipality: Municipality or city
-- @col latitude: Latitude (approximate)
-- @col longitude: Longitude (approximate)
-- @col coord_precision: How approximate the coordinates are
-- @col opened_year: Year production started
-- @col closed_year: Year production ended or is to end
-- @col status: operating, not yet open or closed, as of as_of_year
-- @col status_changed_since_2018: True where the status differs from the report's 2018 view
-- @col products_2018: Products in 2018
-- @col capacity_units: Capacity or output figure
-- @col capacity_unit: Unit of capacity_units
-- @col likely_in_report_figure: Whether the report's Figure 2 likely shows the plant
-- @col source_url: Main source of the row
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
    FROM seeds.mexico_auto_plants p CROSS JOIN years y
)
SELECT as_of_year, plant_id, company, plant_name, facility_type, state, municipality, latitude, longitude,
       coord_precision, opened_year, closed_year, status, status <> status_2018_derived AS status_changed_since_2018,
       products_2018, capacity_units, capacity_unit, likely_in_fig2_2018 AS likely_in_report_figure, source_url
FROM status
ORDER BY as_of_year, company, plant_id
