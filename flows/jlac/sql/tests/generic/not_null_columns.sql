{# The columns a chart or a page cannot do without are never NULL: one scan and one dbt node for all of them (a
   not_null test per column would cost a node each). One failing row per row with a NULL among `columns`. #}
{% test not_null_columns(model, columns) %}
    SELECT {{ columns | join(', ') }}
    FROM {{ model }}
    WHERE {% for c in columns %}{{ c }} IS NULL{{ ' OR ' if not loop.last }}{% endfor %}
{% endtest %}
