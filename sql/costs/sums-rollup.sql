-- The whole hours of the window from a narrow rollup, the ragged edges from cost_events, summed.
SELECT {{keys}}
    sum(c) AS c, sum(f) AS f, sum(e) AS e, sum(ti) AS ti, sum(tout) AS tout, sum(tcr) AS tcr, sum(tcw) AS tcw, sum(tr) AS tr
FROM
(
    SELECT {{rollup_keys}}
        sum(cost_usd) AS c, sum(failed_cost_usd) AS f, sum(events) AS e, sum(input_tokens) AS ti, sum(output_tokens) AS tout,
        sum(cache_read_tokens) AS tcr, sum(cache_write_tokens) AS tcw, sum(reasoning_tokens) AS tr
    FROM {{rollup}}
    WHERE hour >= {whole_from_hour:DateTime('UTC')} AND hour < {whole_to_hour:DateTime('UTC')}
      {{filters}}
    {{group_by}}
    UNION ALL
    {{edges}}
)
{{group_by}}
