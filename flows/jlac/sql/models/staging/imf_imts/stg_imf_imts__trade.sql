SELECT *
FROM {{ ref('stg_imf_imts__trade_vintages') }}
WHERE vintage = (SELECT max(vintage) FROM {{ ref('stg_imf_imts__trade_vintages') }})
