-- Purpose: segment each account's usage in each co-location group into runs: contiguous usage,
--          where a pause of at most params.segment_gap_hours does not end a run (gaps and islands
--          over the running latest end time). A run is training-like when it lasted at least
--          params.training_min_hours with at least params.training_min_accelerators at its peak;
--          ongoing when it reaches the end of the as-of day (within the gap tolerance).
-- Inputs:  usage_enriched, colocation_sweep, params
-- Output:  training_runs(billing_account_id, colocation_group, run_seq, run_start_s, run_end_s,
--          duration_hours, accelerator_hours, est_ops, upper_ops, accelerators, instance_types,
--          peak_accelerators, peak_ops_per_s, max_interconnect_gbps, training_like, ongoing)
WITH ordered AS (
    SELECT
        billing_account_id, colocation_group, row_id, start_s, end_s, accelerator_hours, est_ops,
        upper_ops, accelerator, instance_type, interconnect_gbps,
        MAX(end_s) OVER (PARTITION BY billing_account_id, colocation_group ORDER BY start_s, end_s, row_id) AS reach_s
    FROM usage_enriched
),
marked AS (
    SELECT
        o.*,
        LAG(o.reach_s) OVER (PARTITION BY o.billing_account_id, o.colocation_group ORDER BY o.start_s, o.end_s, o.row_id) AS prev_reach_s
    FROM ordered AS o
),
flagged AS (
    SELECT
        m.*,
        CASE WHEN m.prev_reach_s IS NULL OR m.start_s > m.prev_reach_s + p.segment_gap_hours * 3600 THEN 1 ELSE 0 END AS starts_run
    FROM marked AS m
    CROSS JOIN params AS p
),
numbered AS (
    SELECT
        f.*,
        SUM(f.starts_run) OVER (PARTITION BY f.billing_account_id, f.colocation_group ORDER BY f.start_s, f.end_s, f.row_id) AS run_seq
    FROM flagged AS f
),
runs AS (
    SELECT
        billing_account_id, colocation_group, run_seq,
        MIN(start_s) AS run_start_s,
        MAX(end_s) AS run_end_s,
        SUM(accelerator_hours) AS accelerator_hours,
        SUM(est_ops) AS est_ops,
        SUM(upper_ops) AS upper_ops,
        STRING_AGG(DISTINCT accelerator, ';' ORDER BY accelerator) AS accelerators,
        STRING_AGG(DISTINCT instance_type, ';' ORDER BY instance_type) AS instance_types,
        MAX(interconnect_gbps) AS max_interconnect_gbps
    FROM numbered
    GROUP BY billing_account_id, colocation_group, run_seq
),
peaks AS (
    SELECT
        r.billing_account_id, r.colocation_group, r.run_seq,
        MAX(s.running_accelerators) AS peak_accelerators,
        MAX(s.running_ops_per_s) AS peak_ops_per_s
    FROM runs AS r
    INNER JOIN colocation_sweep AS s
        ON r.billing_account_id = s.billing_account_id AND r.colocation_group = s.colocation_group
    WHERE s.ts >= r.run_start_s AND s.ts < r.run_end_s
    GROUP BY r.billing_account_id, r.colocation_group, r.run_seq
)
SELECT
    r.billing_account_id,
    r.colocation_group,
    r.run_seq,
    r.run_start_s,
    r.run_end_s,
    (r.run_end_s - r.run_start_s) / 3600.0 AS duration_hours,
    r.accelerator_hours,
    r.est_ops,
    r.upper_ops,
    r.accelerators,
    r.instance_types,
    pk.peak_accelerators,
    pk.peak_ops_per_s,
    r.max_interconnect_gbps,
    COALESCE((r.run_end_s - r.run_start_s) / 3600.0 >= p.training_min_hours
        AND pk.peak_accelerators >= p.training_min_accelerators, FALSE) AS training_like,
    r.run_end_s >= p.as_of_end_s - p.segment_gap_hours * 3600 AS ongoing
FROM runs AS r
LEFT JOIN peaks AS pk
    ON r.billing_account_id = pk.billing_account_id
    AND r.colocation_group = pk.colocation_group
    AND r.run_seq = pk.run_seq
CROSS JOIN params AS p
