-- Purpose: the certification's resolution log: every customer whose identity verification failed
--          in the period (status failed, account opened from params.certification_from_day to the
--          as-of date, as failed_in_period of 14_cert_verification_stats: the registry keeps
--          no failure date), for the provider to state how each case was resolved.
-- Inputs:  customers (with opened_day), params
-- Output:  cert_failed_verifications(account_id, legal_name, country, opened_at)
SELECT c.account_id, c.legal_name, c.country, c.opened_at
FROM customers AS c
CROSS JOIN params AS p
WHERE c.verification_status = 'failed'
    AND c.opened_day >= p.certification_from_day
    AND c.opened_day <= p.as_of_day
ORDER BY c.account_id
