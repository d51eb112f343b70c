-- Events accepted without a price (unknown model, unit without a price) and not priced since.
-- A tool call or a human escalation without a quantity is priced as one call / one event
-- (src/pricing/book.ts), so it is listed under that unit, with that quantity.
SELECT provider, model, tool, priced_unit AS unit, count() AS events,
       sum(input_tokens) AS input_tokens, sum(output_tokens) AS output_tokens, toString(sum(priced_quantity)) AS quantity,
       toString(min(timestamp)) AS first_seen, toString(max(timestamp)) AS last_seen
FROM
(
    SELECT provider, model, tool, input_tokens, output_tokens, timestamp, event_id, record_type, cost_source,
           unit = '' AND input_tokens + output_tokens = 0 AND type IN ('tool', 'human_escalation') AS implied,
           if(implied, if(type = 'tool', 'calls', 'events'), toString(unit)) AS priced_unit,
           if(implied, toDecimal128(1, 12), quantity) AS priced_quantity
    FROM cost_events
)
WHERE record_type = 'event'
  AND cost_source = 'unpriced'
  AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')}
  AND event_id NOT IN (SELECT event_id FROM cost_events WHERE record_type = 'reprice' AND timestamp >= {from:DateTime64(3, 'UTC')} AND timestamp < {to:DateTime64(3, 'UTC')})
GROUP BY provider, model, tool, priced_unit
ORDER BY events DESC, provider, model, tool, priced_unit
LIMIT 1000
SETTINGS prefer_column_name_to_alias = 1, log_comment = 'pricing.unpriced'
