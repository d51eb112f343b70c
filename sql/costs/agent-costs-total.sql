-- costs.agent-costs without groups or buckets: one row, the totals.
SELECT 1 AS is_total, c, f, e, ti, tout, tcr, tcw, tr, runs
FROM ({{sums}}) AS s CROSS JOIN ({{runs}}) AS r
SETTINGS log_comment = 'costs.agent-costs', join_use_nulls = 0
