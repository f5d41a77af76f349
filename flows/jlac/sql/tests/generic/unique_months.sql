{# The grain of a monthly fact: no two rows share the values of `columns` and the same `month`, and every month is
   1-12. Checked per group of `columns` as its row count against its distinct months (a bit per month), so the
   aggregation holds one group per yearly line instead of one per month: the answer of unique_combination over
   columns + [month] with a twelfth of the groups, which is what keeps a view of tens of millions of monthly rows
   (MOF's HS-9 x partner history) testable within memory at every build. One row per failing group. #}
{% test unique_months(model, columns, month) %}
    SELECT {{ columns | join(', ') }}, count(*) AS n_rows,
           bit_count(bit_or(CASE WHEN {{ month }} BETWEEN 1 AND 12 THEN 1::INTEGER << {{ month }} END)) AS n_months
    FROM {{ model }}
    GROUP BY ALL
    HAVING count(*) <> bit_count(bit_or(CASE WHEN {{ month }} BETWEEN 1 AND 12 THEN 1::INTEGER << {{ month }} END))
{% endtest %}
