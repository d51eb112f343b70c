-- costs.agent-costs: one page of cost metrics per group (and time bucket) plus the totals over
-- every group, in one statement: the sums and the runs are each computed once with GROUPING SETS
-- (groups, and () for the totals), joined (on hashes of run attributes when several keys: see
-- joinKeys in src/costs/query.ts), numbered, and cut to the page (QUALIFY: one level, since each
-- level of a statement costs the engine time to analyse). Sums come from the narrow rollups
-- (whole days, whole hours) plus cost_events for the ragged edges, or from cost_events alone; runs
-- from run_facts. The double-brace slots are filled only from fixed fragments in
-- src/costs/query.ts; every value is a bound parameter. In server mode the applied watermark is
-- taken first, as a scalar (`wm`), instead of in a round trip of its own.
{{with}}
SELECT is_total, {{keys}}, c, f, e, ti, tout, tcr, tcw, tr, runs,
       row_number() OVER (PARTITION BY is_total ORDER BY {{order_by}}) AS rn, {{bucket_iso}}{{wm}}
FROM ({{sums}}) AS s
LEFT JOIN ({{runs}}) AS r USING (is_total, {{join_keys}})
QUALIFY is_total = 1 OR (rn > {offset:UInt64} AND rn <= {offset:UInt64} + {limit:UInt32})
ORDER BY is_total, rn
SETTINGS log_comment = 'costs.agent-costs', join_use_nulls = 0
