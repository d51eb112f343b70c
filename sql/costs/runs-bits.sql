-- Runs started in the window as in runs.sql, when every event-level dimension grouped or filtered
-- has bits (migrations/020): runs are counted per bit set first (a few distinct sets, one UInt64
-- per run), then each set is split into its bits and each bit named from run_value_bits. A bit the
-- registry does not name, or a registry that is full or holds a value or bit twice, raises an
-- error naming run_value_bits, and src/costs/query.ts asks runs.sql instead.
WITH {{registries}}
SELECT {{keys}} {{count}} AS runs
FROM
(
    SELECT {{inner_keys}} count() AS n
    FROM run_facts FINAL
    WHERE started_at >= {from:DateTime64(3, 'UTC')} AND started_at < {to:DateTime64(3, 'UTC')}
      {{filters}}
    {{inner_group_by}}
)
{{array_join}}
{{group_by}}
