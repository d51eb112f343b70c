-- Cost per value and hour in the window, against a baseline: the same hour of day averaged over
-- the 7 days before the window. The column is chosen from an allow-list; values are parameters.
SELECT
    cur.value AS value,
    toString(cur.hour) AS hour,
    toString(cur.cost) AS cost_usd,
    cur.events AS events,
    toString(base.cost / 7) AS baseline_cost_usd,
    base.events / 7 AS baseline_events,
    toString(if(cur.events = 0, NULL, cur.cost / cur.events)) AS cost_per_event,
    toString(if(base.events = 0, NULL, base.cost / base.events)) AS baseline_cost_per_event
FROM
(
    SELECT {{column}} AS value, toStartOfHour(timestamp) AS hour, sum(cost_usd) AS cost, countIf(record_type = 'event') AS events
    FROM cost_events
    WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')} AND {{column}} != ''
      AND ({scoped:UInt8} = 0 OR product_line_id IN {scope:Array(String)})
    GROUP BY value, hour
) AS cur
LEFT JOIN
(
    SELECT {{column}} AS value, toHour(timestamp) AS hod, sum(cost_usd) AS cost, countIf(record_type = 'event') AS events
    FROM cost_events
    WHERE timestamp >= {base_from:DateTime64(3, 'UTC')} AND timestamp < {from:DateTime64(3, 'UTC')} AND {{column}} != ''
      AND ({scoped:UInt8} = 0 OR product_line_id IN {scope:Array(String)})
    GROUP BY value, hod
) AS base ON base.value = cur.value AND base.hod = toHour(cur.hour)
ORDER BY cur.hour, cur.value
SETTINGS join_use_nulls = 0, log_comment = 'anomalies.hourly'
