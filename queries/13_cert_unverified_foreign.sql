-- Purpose: certification metric: open foreign accounts whose identity is not verified (status other
--          than verified or exempt), by status and by age since the account was opened.
-- Inputs:  customers (with opened_day), foreign_status, params
-- Output:  cert_unverified_foreign(verification_status, age, accounts)
SELECT
    COALESCE(c.verification_status, 'unknown') AS verification_status,
    CASE
        WHEN c.opened_day IS NULL THEN 'age unknown'
        WHEN p.as_of_day - c.opened_day <= 30 THEN '0-30 days'
        WHEN p.as_of_day - c.opened_day <= 90 THEN '31-90 days'
        WHEN p.as_of_day - c.opened_day <= 365 THEN '91-365 days'
        ELSE 'over 365 days'
    END AS age,
    COUNT(*) AS accounts
FROM customers AS c
INNER JOIN foreign_status AS f ON c.account_id = f.account_id
CROSS JOIN params AS p
WHERE f.is_foreign
    AND COALESCE(c.verification_status, 'unknown') NOT IN ('verified', 'exempt')
    AND c.closed_at IS NULL
GROUP BY 1, 2
ORDER BY verification_status, age
