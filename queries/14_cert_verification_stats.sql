-- Purpose: certification metrics: verifications completed in the period (verified_at from
--          params.certification_from_day - the day after the last certification, else the profile's
--          certification_period_days back - to the as-of date), verifications failed in the period
--          (status failed, account opened in the period: the registry keeps no failure date), and the
--          median and 90th percentile of days from account opening to verification (verified
--          customers whose verification falls in the period).
-- Inputs:  customers (with opened_day, verified_day), params
-- Output:  cert_verification_stats(customers, verified_in_period, failed_in_period,
--          median_days_to_verify, p90_days_to_verify) - one row
WITH marked AS (
    SELECT
        c.verification_status,
        c.verified_day - c.opened_day AS days_to_verify,
        c.verification_status = 'verified'
            AND c.verified_day >= p.certification_from_day
            AND c.verified_day <= p.as_of_day AS verified_in_period,
        c.verification_status = 'failed'
            AND c.opened_day >= p.certification_from_day
            AND c.opened_day <= p.as_of_day AS failed_in_period
    FROM customers AS c
    CROSS JOIN params AS p
)
SELECT
    COUNT(*) AS customers,
    SUM(CASE WHEN verified_in_period THEN 1 ELSE 0 END) AS verified_in_period,
    SUM(CASE WHEN failed_in_period THEN 1 ELSE 0 END) AS failed_in_period,
    MEDIAN(CASE WHEN verified_in_period THEN days_to_verify END) AS median_days_to_verify,
    QUANTILE_CONT(CASE WHEN verified_in_period THEN days_to_verify END, 0.9) AS p90_days_to_verify
FROM marked
