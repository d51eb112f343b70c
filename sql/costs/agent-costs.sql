-- costs.agent-costs: one page of cost metrics per group (and time bucket) plus the totals over
-- every group, in one statement. Sums come from a narrow rollup
-- for whole hours + cost_events for the ragged edges, or from cost_events alone; runs from run_facts.
-- The double-brace slots are filled only from fixed fragments in src/costs/query.ts; every value
-- is a bound parameter.
SELECT * FROM
(
    (
        SELECT 0 AS is_total, {{keys}}, c, f, e, ti, tout, tcr, tcw, tr, runs
        FROM ({{page_sums}}) AS s
        {{join}} ({{page_runs}}) AS r {{using}}
        {{order_by}}
        LIMIT {limit:UInt32} OFFSET {offset:UInt64}
    )
    UNION ALL
    (
        SELECT 1 AS is_total, {{blank_keys}}, c, f, e, ti, tout, tcr, tcw, tr, runs
        FROM ({{total_sums}}) AS s CROSS JOIN ({{total_runs}}) AS r
    )
)
ORDER BY is_total{{outer_order}}
SETTINGS log_comment = 'costs.agent-costs', join_use_nulls = 0
