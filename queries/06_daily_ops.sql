-- Purpose: each account's estimated operations per UTC day of charge start, and the running total,
--          from which the knowledge date (first day over the threshold) and burn rate are read.
-- Inputs:  usage_slots
-- Output:  daily_ops(billing_account_id, day, est_ops, upper_ops, cumulative_est_ops)
-- Partition: usage_slots.billing_account_id
WITH daily AS (
    SELECT billing_account_id, day, SUM(est_ops) AS est_ops, SUM(upper_ops) AS upper_ops
    FROM usage_slots
    GROUP BY billing_account_id, day
)
SELECT
    billing_account_id,
    day,
    est_ops,
    upper_ops,
    SUM(est_ops) OVER (PARTITION BY billing_account_id ORDER BY day) AS cumulative_est_ops
FROM daily
