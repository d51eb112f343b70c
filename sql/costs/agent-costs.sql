-- costs.agent-costs: cost metrics per group (and time bucket) over a window. The double-brace
-- slots are filled only from fixed fragments in src/costs/query.ts; every value is a bound parameter.
SELECT
    {{keys}}
    {{metrics}}
FROM {{source}}
WHERE {{time}} >= {from:DateTime64(3, 'UTC')}
  AND {{time}} < {to:DateTime64(3, 'UTC')}
  {{filters}}
{{group_by}}
{{order_by}}
LIMIT {limit:UInt32} OFFSET {offset:UInt64}
SETTINGS prefer_column_name_to_alias = 1, log_comment = 'costs.agent-costs'
