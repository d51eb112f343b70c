-- insights.run-groups: per-run facts of the runs started in a window, aggregated per group. A run
-- succeeds when its latest outcome event says success; without an outcome event, when none of its
-- events had status error, timeout, cancelled or retry (docs/insights.md). Costs are whole runs'
-- costs (every event of the run, corrections included), from run_facts read with FINAL.
-- The double-brace slots are filled only from fixed fragments in src/insights/runs.ts.
SELECT {{keys}}
    count() AS runs,
    countIf(ok) AS successes,
    sum(cost_usd) AS cost,
    sumIf(cost_usd, NOT ok) AS failed_cost,
    sum(retry_cost_usd) AS retry_cost,
    sum(retry_events) AS retry_events,
    sum(events) AS events,
    countIf(escalations > 0) AS escalated_runs,
    countIf(escalations > 0 AND ok) AS escalated_successes,
    sumIf(cost_usd, escalations > 0) AS escalated_cost,
    sum(escalation_cost_usd) AS escalation_cost,
    countIf(outcome.2 != '') AS with_outcome,
    sum(revenue_usd) AS revenue
FROM
(
    SELECT *, if(outcome.2 != '', outcome.2 = 'success', error_events = 0) AS ok
    FROM run_facts FINAL
    WHERE started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')}
      {{filters}}
)
{{array_join}}
{{group_by}}
{{settings}}
