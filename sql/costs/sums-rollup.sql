-- Whole UTC days from a daily rollup, the other whole hours from its hourly twin, the ragged edges
-- from cost_events, summed. Empty tiers select nothing (their bounds coincide).
SELECT {{keys}}
    sum(c) AS c, sum(f) AS f, sum(e) AS e, sum(ti) AS ti, sum(tout) AS tout, sum(tcr) AS tcr, sum(tcw) AS tcw, sum(tr) AS tr
FROM
(
    SELECT {{daily_keys}}
        sum(cost_usd) AS c, sum(failed_cost_usd) AS f, sum(events) AS e, sum(input_tokens) AS ti, sum(output_tokens) AS tout,
        sum(cache_read_tokens) AS tcr, sum(cache_write_tokens) AS tcw, sum(reasoning_tokens) AS tr
    FROM {{daily}}
    WHERE day >= {day_from:DateTime('UTC')} AND day < {day_to:DateTime('UTC')}
      {{filters}}
    {{inner_group_by}}
    UNION ALL
    SELECT {{hourly_keys}}
        sum(cost_usd) AS c, sum(failed_cost_usd) AS f, sum(events) AS e, sum(input_tokens) AS ti, sum(output_tokens) AS tout,
        sum(cache_read_tokens) AS tcr, sum(cache_write_tokens) AS tcw, sum(reasoning_tokens) AS tr
    FROM {{hourly}}
    WHERE ((hour >= {hour_from:DateTime('UTC')} AND hour < {day_from:DateTime('UTC')}) OR (hour >= {day_to:DateTime('UTC')} AND hour < {hour_to:DateTime('UTC')}))
      {{filters}}
    {{inner_group_by}}
    UNION ALL
    {{edges}}
)
{{group_by}}
