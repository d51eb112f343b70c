-- The newest term of a lease, its holder, when it was last seen alive (claim or heartbeat) and
-- the engine's clock, so every process judges expiry by the same clock.
SELECT
    c.key AS key,
    c.owner AS owner,
    greatest(c.claimed_ms, ifNull(h.at_ms, 0)) AS last_seen_ms,
    toUnixTimestamp64Milli(now64(3)) AS now_ms
FROM
(
    SELECT key, argMin(owner, claimed_at) AS owner, toUnixTimestamp64Milli(min(claimed_at)) AS claimed_ms
    FROM ledger_claims
    WHERE startsWith(key, {prefix:String})
    GROUP BY key
    ORDER BY key DESC
    LIMIT 1
) AS c
LEFT JOIN
(
    SELECT lease_key, toUnixTimestamp64Milli(max(at)) AS at_ms
    FROM lease_heartbeats
    WHERE startsWith(lease_key, {prefix:String})
    GROUP BY lease_key
) AS h ON h.lease_key = c.key
SETTINGS join_use_nulls = 1
