{# A model's keys (and the fields a chart or a page draws by) are never NULL: one scan and one dbt node for all of
   them (a not_null test per column costs a node each: 23 fewer nodes in a whole build, 10 fewer in an HS-9 month's
   append). One failing row per row with a NULL among `columns`; the failure's sample shows which. #}
{% test not_null_columns(model, columns) %}
    SELECT {{ columns | join(', ') }}
    FROM {{ model }}
    WHERE {% for c in columns %}{{ c }} IS NULL{{ ' OR ' if not loop.last }}{% endfor %}
{% endtest %}
