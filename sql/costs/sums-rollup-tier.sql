-- One tier of sums-rollup.sql: a rollup table over its part of the window.
SELECT {{keys}}
    sum(cost_usd) AS c, sum(failed_cost_usd) AS f, sum(events) AS e, sum(input_tokens) AS ti, sum(output_tokens) AS tout,
    sum(cache_read_tokens) AS tcr, sum(cache_write_tokens) AS tcw, sum(reasoning_tokens) AS tr
FROM {{table}}
WHERE {{time}}
  {{filters}}
{{group_by}}
