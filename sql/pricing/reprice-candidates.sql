-- Events of one day that the book prices (not reported costs), with their net cost over the
-- (prefer_column_name_to_alias: the aliases reuse column names, and WHERE/HAVING mean the columns.)
-- original row and every correction so far, and the original row's fields to copy.
SELECT
    event_id,
    anyIf(type, record_type = 'event') AS type,
    toString(anyIf(timestamp, record_type = 'event')) AS timestamp,
    anyIf(product_line_id, record_type = 'event') AS product_line_id,
    anyIf(environment, record_type = 'event') AS environment,
    anyIf(workflow_id, record_type = 'event') AS workflow_id,
    anyIf(run_id, record_type = 'event') AS run_id,
    anyIf(parent_run_id, record_type = 'event') AS parent_run_id,
    anyIf(trace_id, record_type = 'event') AS trace_id,
    anyIf(span_id, record_type = 'event') AS span_id,
    anyIf(parent_span_id, record_type = 'event') AS parent_span_id,
    anyIf(agent_id, record_type = 'event') AS agent_id,
    anyIf(agent_version, record_type = 'event') AS agent_version,
    anyIf(step_name, record_type = 'event') AS step_name,
    anyIf(customer_id, record_type = 'event') AS customer_id,
    anyIf(user_id, record_type = 'event') AS user_id,
    anyIf(segment, record_type = 'event') AS segment,
    anyIf(intent, record_type = 'event') AS intent,
    anyIf(feature, record_type = 'event') AS feature,
    anyIf(feature_flag, record_type = 'event') AS feature_flag,
    anyIf(priority_tier, record_type = 'event') AS priority_tier,
    anyIf(prompt_version, record_type = 'event') AS prompt_version,
    anyIf(provider, record_type = 'event') AS provider,
    anyIf(model, record_type = 'event') AS model,
    anyIf(tool, record_type = 'event') AS tool,
    anyIf(input_tokens, record_type = 'event') AS input_tokens,
    anyIf(output_tokens, record_type = 'event') AS output_tokens,
    anyIf(cache_read_tokens, record_type = 'event') AS cache_read_tokens,
    anyIf(cache_write_tokens, record_type = 'event') AS cache_write_tokens,
    anyIf(reasoning_tokens, record_type = 'event') AS reasoning_tokens,
    toString(anyIf(quantity, record_type = 'event')) AS quantity,
    anyIf(unit, record_type = 'event') AS unit,
    anyIf(status, record_type = 'event') AS status,
    anyIf(attempt, record_type = 'event') AS attempt,
    anyIf(retry_of, record_type = 'event') AS retry_of,
    anyIf(attributes, record_type = 'event') AS attributes,
    toString(sum(cost_usd)) AS net_cost,
    toString(sum(list_cost_usd)) AS net_list_cost,
    countIf(record_type = 'reversal') AS corrections
FROM cost_events
WHERE timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
  AND ({provider:String} = '' OR provider = {provider:String})
  AND ({model:String} = '' OR model = {model:String})
GROUP BY event_id
HAVING countIf(record_type = 'event') = 1 AND anyIf(cost_source, record_type = 'event') != 'reported'
SETTINGS prefer_column_name_to_alias = 1, log_comment = 'pricing.reprice-candidates'
