-- Who holds a claim: the first insert of the key (deduplication keeps only one; argMin breaks a
-- tie should the deduplication window ever have been exceeded). The alias must not be
-- `claimed_at`: it would shadow the column inside argMin (nested aggregate).
SELECT argMin(owner, claimed_at) AS owner, toString(min(claimed_at)) AS first_claimed_at
FROM ledger_claims
WHERE key = {key:String}
