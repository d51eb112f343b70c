-- Cost per value and hour in the window, against a baseline: the same hour of day averaged over
-- the 7 days before the window. Whole hours come from {{source}} (a narrow rollup when one carries
-- the dimension, else cost_events), the running hour up to `to` from cost_events. The columns are
-- chosen from an allow-list; values are parameters. The baseline is given as the 7 days' sums:
-- averages and costs per event are divided (and rounded) exactly by the caller, not truncated here.
WITH src AS
(
    SELECT {{column}} AS value, {{hour}} AS h, sum(cost_usd) AS cost, {{events}} AS events
    FROM {{source}}
    WHERE {{hour}} >= {base_from:DateTime('UTC')} AND {{hour}} < {whole_to:DateTime('UTC')} AND {{column}} != ''
      AND ({scoped:UInt8} = 0 OR product_line_id IN {scope:Array(String)})
    GROUP BY value, h
    UNION ALL
    SELECT {{raw_column}} AS value, toStartOfHour(timestamp) AS h, sum(cost_usd) AS cost, countIf(record_type = 'event') AS events
    FROM cost_events
    WHERE timestamp >= {whole_to:DateTime('UTC')} AND timestamp < {to:DateTime64(3, 'UTC')} AND {{raw_column}} != ''
      AND ({scoped:UInt8} = 0 OR product_line_id IN {scope:Array(String)})
    GROUP BY value, h
)
SELECT
    cur.value AS value,
    toString(cur.hour) AS hour,
    toString(cur.cost) AS cost_usd,
    cur.events AS events,
    toString(base.cost) AS baseline_week_cost_usd,
    base.events AS baseline_week_events
FROM
(
    SELECT value, h AS hour, sum(cost) AS cost, sum(events) AS events FROM src WHERE h >= {from:DateTime('UTC')} GROUP BY value, hour
) AS cur
LEFT JOIN
(
    SELECT value, toHour(h) AS hod, sum(cost) AS cost, sum(events) AS events FROM src WHERE h < {from:DateTime('UTC')} GROUP BY value, hod
) AS base ON base.value = cur.value AND base.hod = toHour(cur.hour)
ORDER BY cur.hour, cur.value
SETTINGS join_use_nulls = 0, log_comment = 'anomalies.hourly'
