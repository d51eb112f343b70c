-- The runs an apply changes, into run_changes (migrations/021), computed before the apply inserts:
-- `batch` is the apply's own rows (the apply's SELECT, so the same ids are dropped), folded per run
-- as run_facts folds them; `was` is the run's last state in run_directory. A run whose state
-- changes gets -1 with `was` (when it had one) and +1 with the new state. Min, max and OR are
-- idempotent, so running this again for a batch it already counted (a pass that failed after it)
-- changes nothing. The bit registry comes bound as parameters (v_<dim> values, b_<dim> their bits:
-- run_value_bits as the run_facts view reads it, src/events/applier.ts).
INSERT INTO run_changes (product_line_id, run_id, sign, version, started_at, environment, agent_id, agent_version, segment, intent, feature,
                         customer_id, user_id, workflow_id, prompt_version, type_bits, status_bits, provider_bits, model_bits, tool_bits)
SELECT product_line_id, run_id, change.1 AS sign, {version:UInt64} AS version,
       change.2.1, change.2.2, change.2.3, change.2.4, change.2.5, change.2.6, change.2.7, change.2.8,
       change.2.9, change.2.10, change.2.11, change.2.12, change.2.13, change.2.14, change.2.15, change.2.16
FROM
(
    SELECT product_line_id, run_id, known, was,
           (if(known, least(b.started_at, was.1), b.started_at), greatest(b.environment, was.2), greatest(b.agent_id, was.3),
            greatest(b.agent_version, was.4), greatest(b.segment, was.5), greatest(b.intent, was.6), greatest(b.feature, was.7),
            greatest(b.customer_id, was.8), greatest(b.user_id, was.9), greatest(b.workflow_id, was.10), greatest(b.prompt_version, was.11),
            bitOr(b.type_bits, was.12), bitOr(b.status_bits, was.13), bitOr(b.provider_bits, was.14), bitOr(b.model_bits, was.15),
            bitOr(b.tool_bits, was.16)) AS now
    FROM
    (
        SELECT product_line_id, run_id,
               min(timestamp) AS started_at, max(environment) AS environment, max(agent_id) AS agent_id,
               max(agent_version) AS agent_version, max(segment) AS segment, max(intent) AS intent, max(feature) AS feature,
               max(customer_id) AS customer_id, max(user_id) AS user_id, max(workflow_id) AS workflow_id,
               max(prompt_version) AS prompt_version,
               groupBitOr(bitShiftLeft(toUInt64(1), transform(toString(type), {v_type:Array(String)}, {b_type:Array(UInt8)}, toUInt8(63)))) AS type_bits,
               groupBitOr(bitShiftLeft(toUInt64(1), transform(toString(status), {v_status:Array(String)}, {b_status:Array(UInt8)}, toUInt8(63)))) AS status_bits,
               groupBitOr(bitShiftLeft(toUInt64(1), transform(toString(provider), {v_provider:Array(String)}, {b_provider:Array(UInt8)}, toUInt8(63)))) AS provider_bits,
               groupBitOr(bitShiftLeft(toUInt64(1), transform(toString(model), {v_model:Array(String)}, {b_model:Array(UInt8)}, toUInt8(63)))) AS model_bits,
               groupBitOr(bitShiftLeft(toUInt64(1), transform(toString(tool), {v_tool:Array(String)}, {b_tool:Array(UInt8)}, toUInt8(63)))) AS tool_bits
        FROM ({{batch}})
        WHERE run_id != ''
        GROUP BY product_line_id, run_id
    ) AS b
    LEFT JOIN
    (
        SELECT product_line_id, run_id, 1 AS known,
               argMax((started_at, toString(environment), toString(agent_id), toString(agent_version), toString(segment), toString(intent),
                       toString(feature), customer_id, user_id, workflow_id, toString(prompt_version),
                       type_bits, status_bits, provider_bits, model_bits, tool_bits), version) AS was
        FROM run_directory
        WHERE run_id IN (SELECT run_id FROM event_log WHERE received_at IN {logged:Array(DateTime64(3, 'UTC'))} AND commit_id IN {commits:Array(String)})
        GROUP BY product_line_id, run_id
    ) AS o USING (product_line_id, run_id)
)
ARRAY JOIN arrayConcat(if(known = 1 AND now != was, [(toInt8(-1), was)], []), if(known = 0 OR now != was, [(toInt8(1), now)], [])) AS change
SETTINGS log_comment = 'events.run-changes', join_use_nulls = 0, max_execution_time = {{seconds}}
