-- Purpose: the certification's resolution log: every customer whose identity verification failed,
--          for the provider to state how each case was resolved.
-- Inputs:  customers
-- Output:  cert_failed_verifications(account_id, legal_name, country, opened_at)
SELECT account_id, legal_name, country, opened_at
FROM customers
WHERE verification_status = 'failed'
ORDER BY account_id
