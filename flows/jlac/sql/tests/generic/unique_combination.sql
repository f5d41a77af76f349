{# The grain of a table: no two rows share the values of `columns` (NULLs compare equal, as a key).
   One row per repeated key, with how often it occurs: dbt counts them as the test's failures. #}
{% test unique_combination(model, columns) %}
    SELECT {{ columns | join(', ') }}, count(*) AS n_rows
    FROM {{ model }}
    GROUP BY ALL
    HAVING count(*) > 1
{% endtest %}
