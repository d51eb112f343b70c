-- Runs started in the window as in runs.sql, when every event-level dimension grouped or filtered
-- has bits (migrations/020): runs are counted per bit set first (a few distinct sets, one UInt64
-- per run), then each set is split into its bits and each bit named. The registry comes bound as
-- parameters (src/costs/run-bits.ts): per dimension the names by bit (n_<dim>), the bits it names
-- (k_<dim>) and a filter's mask (m_<dim>). A bit the parameters do not name (a value registered
-- since, bit 63 for a value without one, or a set of 0) raises an error naming run_value_bits, and
-- src/costs/query.ts reads the registry again, then asks runs.sql.
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
