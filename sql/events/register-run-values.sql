-- Bits for the values of the five event-level run dimensions that these commits bring and
-- run_value_bits does not hold yet (migrations/020), before the apply that inserts them, so the
-- run_facts view finds every bit it needs. New values of a dimension take the bits after its
-- highest, in value order; past bit 61 a value gets none (the view then sets bit 63, and queries
-- fall back to the value sets). Run by the applier only, one pass at a time, under its lease when
-- several processes share a ledger. `source`: event_log with the pass's commits in `where`, or
-- any table with the same columns (the benchmark's generator registers a sample first).
INSERT INTO run_value_bits (dimension, value, bit)
SELECT dimension, value, toUInt8(least(next + row_number() OVER (PARTITION BY dimension ORDER BY value) - 1, 255)) AS bit
FROM
(
    SELECT DISTINCT dv.1 AS dimension, dv.2 AS value
    FROM {{source}}
    ARRAY JOIN [('type', toString(type)), ('status', toString(status)), ('provider', toString(provider)), ('model', toString(model)), ('tool', toString(tool))] AS dv
    {{where}}
) AS fresh
LEFT JOIN
(
    SELECT dimension, toUInt32(max(bit)) + 1 AS next, groupArray(value) AS known FROM run_value_bits GROUP BY dimension
) AS registered USING (dimension)
WHERE NOT has(known, value)
QUALIFY bit < 62
SETTINGS log_comment = 'events.register-run-values', join_use_nulls = 0
