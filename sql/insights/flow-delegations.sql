-- insights.flow-delegations: who started whose runs. The runs started in the window, each with its
-- own cost (run_facts), grouped by the agent of the run that started it (its parent_run_id, same
-- product line) and its own agent; has_parent = 0: started from outside (no parent run in the ledger).
SELECT p.run_id != '' AS has_parent, p.agent AS caller, c.agent AS callee, count() AS runs, toString(sum(c.cost)) AS cost
FROM
(
    SELECT product_line_id, run_id, parent_run_id AS parent, agent_id AS agent, cost_usd AS cost
    FROM run_facts FINAL
    WHERE started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')} {{filters}}
) AS c
LEFT JOIN
(
    SELECT product_line_id, run_id, agent_id AS agent
    FROM run_facts FINAL
    WHERE run_id IN (
        SELECT parent_run_id FROM run_facts FINAL
        WHERE started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')} AND parent_run_id != '' {{filters}}
    ) {{scope}}
) AS p ON c.product_line_id = p.product_line_id AND c.parent = p.run_id
GROUP BY has_parent, caller, callee
SETTINGS join_use_nulls = 0, log_comment = 'insights.flow-delegations'
