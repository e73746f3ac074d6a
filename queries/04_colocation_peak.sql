-- Purpose: each account's peak co-located compute: the most op/s (at peak precision) and the most
--          accelerators it ran at once within one co-location group.
-- Inputs:  colocation_sweep
-- Output:  colocation_peak(billing_account_id, peak_colocated_ops_per_s, peak_colocated_accelerators)
-- Partition: colocation_sweep.billing_account_id
SELECT
    billing_account_id,
    MAX(running_ops_per_s) AS peak_colocated_ops_per_s,
    MAX(running_accelerators) AS peak_colocated_accelerators
FROM colocation_sweep
GROUP BY billing_account_id
