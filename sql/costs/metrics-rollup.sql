-- The same metrics over cost_rollup_hourly (sums of partial sums, merged distinct-run states).
toString(sum(cost_usd)) AS m_cost_usd,
sum(events) AS m_events,
sum(input_tokens) AS m_input_tokens,
sum(output_tokens) AS m_output_tokens,
sum(cache_read_tokens) AS m_cache_read_tokens,
sum(cache_write_tokens) AS m_cache_write_tokens,
sum(reasoning_tokens) AS m_reasoning_tokens,
uniqExactIfMerge(runs) AS m_runs,
toString(sum(failed_cost_usd)) AS m_failed_cost_usd,
toString(if(uniqExactIfMerge(runs) = 0, NULL, sum(cost_usd) / uniqExactIfMerge(runs))) AS m_cost_per_run
