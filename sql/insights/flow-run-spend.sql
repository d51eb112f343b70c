-- insights.flow-run-spend: the spend of a run tree's runs by run, event agent and what was bought
-- (outcome events carry revenue, not cost, and are left out), with each run's own attributes.
SELECT e.run_id AS run_id, f.product_line_id AS product_line_id, f.parent AS parent, f.run_agent AS run_agent,
       e.ev_agent AS agent, e.ev_type AS type, e.ev_model AS model, e.ev_tool AS tool, e.calls AS calls, e.cost AS cost
FROM
(
    SELECT product_line_id, run_id, toString(agent_id) AS ev_agent, toString(type) AS ev_type, toString(model) AS ev_model, toString(tool) AS ev_tool,
           countIf(record_type = 'event') AS calls, toString(sum(cost_usd)) AS cost
    FROM cost_events
    WHERE run_id IN {runs:Array(String)} AND type != 'outcome'
    GROUP BY product_line_id, run_id, ev_agent, ev_type, ev_model, ev_tool
) AS e
INNER JOIN
(
    SELECT product_line_id, run_id, parent_run_id AS parent, agent_id AS run_agent
    FROM run_facts FINAL
    WHERE run_id IN {runs:Array(String)}
) AS f ON e.product_line_id = f.product_line_id AND e.run_id = f.run_id
ORDER BY run_id, agent, type, model, tool
SETTINGS log_comment = 'insights.flow-run-spend'
