{# A folder's schema is used as is (marts.fct_trade_annual, not main_marts.fct_trade_annual): jlac's table names
   are its interface (BI tools, the serving copy, the report page). #}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
