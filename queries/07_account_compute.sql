-- Purpose: each account's accelerator compute up to the as-of date: accelerator-hours, estimated and
--          upper-bound operations, peak co-located op/s, best interconnect, how much of the estimate
--          rests on telemetry, and the trailing burn rate over params.burn_window_days. (The day the
--          running estimate first exceeds training_ops is a decision test: 10_flags.sql.)
-- Inputs:  usage_slots, colocation_peak, daily_ops, training_runs, params
-- Output:  account_compute(billing_account_id, accelerator_hours, est_ops, upper_ops,
--          max_interconnect_gbps, rows_without_interconnect, first_usage_s, last_usage_s,
--          telemetry_accelerator_hours, accelerators, sub_accounts, est_ops_low, peak_colocated_ops_per_s,
--          peak_colocated_accelerators, burn_ops_per_day, training_runs,
--          training_confidence (of the most confident training-like run), largest_run_est_ops,
--          catalog_gap_accelerator_hours (estimated at the catalog-gap bound))
-- Partition: usage_slots.billing_account_id, colocation_peak.billing_account_id,
--          daily_ops.billing_account_id, training_runs.billing_account_id
--          One row per account of usage_slots, from that account's rows of each table.
WITH totals AS (
    SELECT
        billing_account_id,
        SUM(accelerator_hours) AS accelerator_hours,
        SUM(est_ops) AS est_ops,
        SUM(est_ops_low) AS est_ops_low,
        SUM(upper_ops) AS upper_ops,
        MAX(interconnect_gbps) AS max_interconnect_gbps,
        SUM(CASE WHEN interconnect_gbps IS NULL THEN merged_rows ELSE 0 END) AS rows_without_interconnect,
        MIN(start_s) AS first_usage_s,
        MAX(end_s) AS last_usage_s,
        SUM(CASE WHEN utilization_source = 'telemetry' THEN accelerator_hours ELSE 0 END) AS telemetry_accelerator_hours,
        -- 'catalog_gap_bound': the accelerator has no peak figure and was estimated at the bound
        -- (transforms::billed::CATALOG_GAP).
        SUM(CASE WHEN peak_precision_used = 'catalog_gap_bound' THEN accelerator_hours ELSE 0 END) AS catalog_gap_accelerator_hours
    FROM usage_slots
    GROUP BY billing_account_id
),
-- The lists are built from the distinct values first: a DISTINCT inside the aggregate de-duplicates
-- within each account's rows one group at a time, many times slower over millions of rows.
accelerators AS (
    SELECT billing_account_id, STRING_AGG(accelerator, ';' ORDER BY accelerator) AS accelerators
    FROM (SELECT DISTINCT billing_account_id, accelerator FROM usage_slots)
    GROUP BY billing_account_id
),
sub_accounts AS (
    SELECT billing_account_id, STRING_AGG(sub_account_id, ';' ORDER BY sub_account_id) AS sub_accounts
    FROM (SELECT DISTINCT billing_account_id, sub_account_id FROM usage_slots)
    GROUP BY billing_account_id
),
burn AS (
    SELECT d.billing_account_id, SUM(d.est_ops) / MAX(p.burn_window_days) AS burn_ops_per_day
    FROM daily_ops AS d
    CROSS JOIN params AS p
    WHERE d.day > p.as_of_day - p.burn_window_days
    GROUP BY d.billing_account_id
),
runs AS (
    SELECT billing_account_id,
           SUM(CASE WHEN training_like THEN 1 ELSE 0 END) AS training_runs,
           MAX(CASE WHEN training_like THEN confidence END) AS training_confidence,
           MAX(est_ops) AS largest_run_est_ops
    FROM training_runs
    GROUP BY billing_account_id
)
SELECT
    t.*,
    a.accelerators,
    s.sub_accounts,
    pk.peak_colocated_ops_per_s,
    pk.peak_colocated_accelerators,
    COALESCE(b.burn_ops_per_day, 0.0) AS burn_ops_per_day,
    COALESCE(r.training_runs, 0) AS training_runs,
    r.training_confidence,
    r.largest_run_est_ops
FROM totals AS t
INNER JOIN accelerators AS a ON t.billing_account_id = a.billing_account_id
INNER JOIN sub_accounts AS s ON t.billing_account_id = s.billing_account_id
LEFT JOIN colocation_peak AS pk ON t.billing_account_id = pk.billing_account_id
LEFT JOIN burn AS b ON t.billing_account_id = b.billing_account_id
LEFT JOIN runs AS r ON t.billing_account_id = r.billing_account_id
