-- The countries as built in intermediate.int_countries, which the intermediate models read (a layer reads only the
-- layers below it: tests/test_model_layers.py).
SELECT * FROM {{ ref('int_countries') }}
ORDER BY iso3
