-- Whole UTC days from a daily rollup, the other whole hours from its hourly twin, the ragged edges
-- from cost_events, summed. Only the tiers the window needs are in the statement
-- (src/costs/query.ts sumsQuery): an hour-aligned 30-day window reads the daily rollup alone.
SELECT {{keys}}
    sum(c) AS c, sum(f) AS f, sum(e) AS e, sum(ti) AS ti, sum(tout) AS tout, sum(tcr) AS tcr, sum(tcw) AS tcw, sum(tr) AS tr
FROM
(
    {{tiers}}
)
{{group_by}}
