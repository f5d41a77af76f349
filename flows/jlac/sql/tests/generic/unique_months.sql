{# The grain of a monthly fact: no two rows share the values of `columns` and the same `month`, and every month is
   1-12. Checked per group of `columns` as its row count against its distinct months (a bit per month), so the
   aggregation holds one group per yearly line instead of one per month: the answer of unique_combination over
   columns + [month] with a twelfth of the groups, which is what keeps a view of tens of millions of monthly rows
   (MOF's HS-9 x partner history) testable within memory at every build. One row per failing group.

   The groups are first keyed by one 64-bit hash of `columns`, not by the columns themselves: the aggregation then
   holds 5.7 M small keys instead of 5.7 M keys of five text columns (the build's peak memory at 38 years was this
   test's). The groups that fail are grouped again by their real columns. A group that fails makes its hash's group
   fail too (rows add up, months at most add up: a count above the months stays above), so nothing is missed; a
   hash collision only sends more rows to the second pass. #}
{% test unique_months(model, columns, month) %}
    {%- set key = columns | join(', ') %}
    {%- set months = "bit_count(bit_or(CASE WHEN " ~ month ~ " BETWEEN 1 AND 12 THEN 1::INTEGER << " ~ month ~ " END))" %}
    WITH failing_hashes AS (
        SELECT hash({{ key }}) AS key_hash
        FROM {{ model }}
        GROUP BY key_hash
        HAVING count(*) <> {{ months }}
    )
    SELECT {{ key }}, count(*) AS n_rows, {{ months }} AS n_months
    FROM {{ model }}
    WHERE hash({{ key }}) IN (SELECT key_hash FROM failing_hashes)
    GROUP BY ALL
    HAVING count(*) <> {{ months }}
{% endtest %}
