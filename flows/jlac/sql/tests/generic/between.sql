{# A column's values lie within [min_value, max_value] (NULL passes): a share above 100 % is a misread number
   upstream, not news. One failing row per value outside. #}
{% test between(model, column_name, min_value, max_value) %}
    SELECT {{ column_name }}
    FROM {{ model }}
    WHERE {{ column_name }} < {{ min_value }} OR {{ column_name }} > {{ max_value }}
{% endtest %}
