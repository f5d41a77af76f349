{# A model's keys (and the fields a chart or a page draws by) are never NULL: one dbt node for all of them (a not_null
   test per column costs a node each: 23 fewer nodes in a whole build, 10 fewer in an HS-9 month's append). One
   failing row per row with a NULL among `columns`; the failure's sample shows which.
   One filter per column, joined by UNION ALL, not one OR: DuckDB pushes `c IS NULL` down into a view (the HS-9 monthly
   fact filters its 5.7 M lines, 0.07 s at 38 years) but evaluates an OR of them over the view's 47 M monthly rows
   (0.74 s). Each branch leaves out the rows an earlier branch returns, so a row counts once. #}
{% test not_null_columns(model, columns) %}
    {%- for c in columns %}
    SELECT {{ columns | join(', ') }}
    FROM {{ model }}
    WHERE {{ c }} IS NULL{% for p in columns[:loop.index0] %} AND {{ p }} IS NOT NULL{% endfor %}
    {{ 'UNION ALL' if not loop.last }}
    {%- endfor %}
{% endtest %}
