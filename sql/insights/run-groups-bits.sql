-- insights.run-groups grouped by model from run_facts' model bit sets (migrations/020): the runs are
-- aggregated per (other keys, model bit set) by run-groups.sql, then each set is split into the
-- models it names and the sums added up per model. A run's models leave out '' (its non-LLM
-- events) unless it used no other model, as in src/insights/runs.ts. The registry comes bound as
-- parameters (src/costs/run-bits.ts): n_model (names by bit), k_model (the bits named), e_model
-- (the bit of ''), m_model (a filter's mask, or every bit). A set of 0 or with a bit the
-- parameters do not name becomes bit 63, which raises an error naming run_value_bits. With the
-- totals ({{total_bit}} = [255]) every inner row is also counted once under bit 255 with empty keys
-- and is_total = 1: the totals count each run once, from the same read of the runs.
SELECT {{keys}}
    sum(runs) + max(throwIf(b_model != 255 AND NOT bitTest({k_model:UInt64}, least(b_model, 63)), 'run_value_bits: a run of model has a bit the registry read does not name')) AS runs,
    sum(successes) AS successes, sum(cost) AS cost, sum(failed_cost) AS failed_cost,
    sum(retry_cost) AS retry_cost, sum(retry_events) AS retry_events, sum(events) AS events,
    sum(escalated_runs) AS escalated_runs, sum(escalated_successes) AS escalated_successes,
    sum(escalated_cost) AS escalated_cost, sum(escalation_cost) AS escalation_cost,
    sum(with_outcome) AS with_outcome, sum(revenue) AS revenue
FROM
(
    {{inner}}
)
ARRAY JOIN arrayConcat({{total_bit}}, if(bits_model = 0 OR bitAnd(bits_model, bitNot({k_model:UInt64})) != 0, [toUInt8(63)],
    bitPositionsToArray(bitAnd(if(bits_model = {e_model:UInt64}, bits_model, bitAnd(bits_model, bitNot({e_model:UInt64}))), {m_model:UInt64})))) AS b_model
{{group_by}}
SETTINGS log_comment = 'insights.run-groups'
