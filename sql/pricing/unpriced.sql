-- Events accepted without a price (unknown model, unit without a price) and not priced since.
SELECT provider, model, tool, unit, count() AS events,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, toString(sum(quantity)) AS quantity,
       toString(min(timestamp)) AS first_seen, toString(max(timestamp)) AS last_seen
FROM cost_events
WHERE record_type = 'event'
  AND cost_source = 'unpriced'
  AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
  AND event_id NOT IN (SELECT event_id FROM cost_events WHERE record_type = 'reprice' AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')})
GROUP BY provider, model, tool, unit
ORDER BY events DESC, provider, model, tool, unit
LIMIT 1000
SETTINGS prefer_column_name_to_alias = 1, log_comment = 'pricing.unpriced'
