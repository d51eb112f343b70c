-- Metrics over cost_events (all record types: corrections carry cost, only events count as events).
toString(sum(cost_usd)) AS m_cost_usd,
countIf(record_type = 'event') AS m_events,
sum(input_tokens) AS m_input_tokens,
sum(output_tokens) AS m_output_tokens,
sum(cache_read_tokens) AS m_cache_read_tokens,
sum(cache_write_tokens) AS m_cache_write_tokens,
sum(reasoning_tokens) AS m_reasoning_tokens,
uniqExactIf(run_id, run_id != '') AS m_runs,
toString(sumIf(cost_usd, status != 'success')) AS m_failed_cost_usd,
toString(if(uniqExactIf(run_id, run_id != '') = 0, NULL, sum(cost_usd) / uniqExactIf(run_id, run_id != ''))) AS m_cost_per_run
