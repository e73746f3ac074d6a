-- Purpose: records retention: every closed account with the day its CIP record may be purged, and
--          whether that day has passed. The proposed rule keeps identifying information at least
--          retention_days after the account closes or is last accessed, whichever is later; an open
--          account is never purge-eligible.
-- Inputs:  customers, access_log, params
-- Output:  cert_retention(account_id, closed_day, last_access_day, purge_eligible_day, past_retention)
WITH last_access AS (
    SELECT account_id, MAX(accessed_day) AS last_access_day
    FROM access_log
    GROUP BY account_id
),
closed AS (
    SELECT
        c.account_id,
        c.closed_day,
        l.last_access_day,
        CASE
            WHEN l.last_access_day IS NOT NULL AND l.last_access_day > c.closed_day THEN l.last_access_day
            ELSE c.closed_day
        END AS basis_day
    FROM customers AS c
    LEFT JOIN last_access AS l ON c.account_id = l.account_id
    WHERE c.closed_day IS NOT NULL
)
SELECT
    k.account_id,
    k.closed_day,
    k.last_access_day,
    k.basis_day + p.retention_days AS purge_eligible_day,
    k.basis_day + p.retention_days <= p.as_of_day AS past_retention
FROM closed AS k
CROSS JOIN params AS p
ORDER BY k.account_id
