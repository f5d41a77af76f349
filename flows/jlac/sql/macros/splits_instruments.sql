{# The sources of marts.fct_dev_finance whose records say their instrument (loan, grant, ...), so that a figure can
   give the part recorded as loans: AidData's project files (Flow Type), MIDEPLAN's registry and OECD CRS activities
   (FINANCETYPE). Only GCDF 2.0 and MIDEPLAN were listed: GCDF 3.0 projects and CRS gave no loans beside a split
   (found by a QA pass). A CRS record without a finance type ('oda_all_instruments', 'oof_all_instruments') makes
   its series' loans unknown (fig3_finance_by_donor). #}
{% macro splits_instruments(source_column) -%}
    {{ source_column }} IN ('aiddata-gcdf2-projects', 'aiddata-gcdf3-projects', 'mideplan-cooperation', 'oecd-crs-api')
{%- endmacro %}
