-- Sums over cost_events (all record types: corrections carry cost, only events count as events).
SELECT {{keys}}
    sum(cost_usd) AS c, sumIf(cost_usd, status != 'success') AS f, countIf(record_type = 'event') AS e,
    sum(input_tokens) AS ti, sum(output_tokens) AS tout, sum(cache_read_tokens) AS tcr,
    sum(cache_write_tokens) AS tcw, sum(reasoning_tokens) AS tr
FROM cost_events
WHERE {{window}}
  {{filters}}
{{group_by}}
