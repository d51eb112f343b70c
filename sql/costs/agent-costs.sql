-- costs.agent-costs: one page of cost metrics per group (and time bucket) plus the totals over
-- every group, in one statement: the sums and the runs are each computed once with GROUPING SETS
-- (groups, and () for the totals), joined (on hashes of run attributes when several keys: see
-- joinKeys in src/costs/query.ts), sorted with the totals first, and cut after the page: the
-- caller drops the `offset` rows before it (a window function numbering the rows to cut exactly
-- cost the engine ~1 ms more per statement; pages deep enough for the dropped rows to matter are
-- rare, and every row is sorted either way). Sums come from the narrow rollups
-- (whole days, whole hours) plus cost_events for the ragged edges, or from cost_events alone; runs
-- by start from the daily run counts and run_starts (runs-starts.sql), or from run_facts (runs.sql). The double-brace slots are filled only from fixed fragments in
-- src/costs/query.ts; every value is a bound parameter. In server mode the applied watermark is
-- taken first, as a scalar (`wm`), instead of in a round trip of its own.
{{with}}
SELECT is_total, {{keys}}, c, f, e, ti, tout, tcr, tcw, tr, runs, {{bucket_iso}}{{wm}}
FROM ({{sums}}) AS s
LEFT JOIN ({{runs}}) AS r USING (is_total, {{join_keys}})
ORDER BY is_total DESC, {{order_by}}
LIMIT 1 + {offset:UInt64} + {limit:UInt32}
SETTINGS log_comment = 'costs.agent-costs', join_use_nulls = 0
