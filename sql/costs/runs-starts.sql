-- Runs started in the window from the run starts (migrations/021; src/costs/query.ts
-- runsFromStarts): `source` sums the signed run rows of each tier (whole UTC days from a daily run
-- count, the rest from run_starts) per run keys and bit sets; each set is then split into its bits
-- and each bit named from the registry bound as parameters (n_<dim> names by bit, k_<dim> the bits
-- it names). A bit the parameters do not name (a value registered since, bit 63 for a value without
-- one, or a set of 0) raises an error naming run_value_bits, and src/costs/query.ts reads the
-- registry again, then asks runs.sql.
SELECT {{keys}} {{count}} AS runs
FROM ({{source}})
{{array_join}}
{{group_by}}
