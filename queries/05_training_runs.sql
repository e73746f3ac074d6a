-- Purpose: segment each account's usage in each co-location group into runs: contiguous usage,
--          where a pause of at most params.segment_gap_hours does not end a run (gaps and islands
--          over the running latest end time); ongoing when it reaches the end of the as-of day.
--          Each run is classed by transparent signals: LARGE_FLEET (peak >= training_min_accelerators),
--          LONG_RUN (>= training_min_hours), FAST_FABRIC (interconnect >= training_interconnect_gbps),
--          STEADY (mean fleet >= steady_fraction of peak), COMMITTED (committed pricing, a
--          commitment discount or a capacity reservation),
--          BUSY (measured utilisation >= assumed_utilization), LOW_EGRESS (the account's billed internet
--          egress is at most low_egress_gb_per_accelerator_hour; only where billing shows egress).
--          training-like: a large fleet for long, with at least two of the other five;
--          inference-like: a small or unsteady fleet; else mixed. Confidence: share of the seven signals.
-- Inputs:  usage_slots, colocation_sweep, account_egress, params
-- Output:  training_runs(billing_account_id, colocation_group, run_seq, run_start_s, run_end_s,
--          duration_hours, accelerator_hours, est_ops, est_ops_low, upper_ops, accelerators,
--          instance_types, peak_accelerators, peak_ops_per_s, max_interconnect_gbps, ongoing,
--          class, confidence, class_reasons, training_like)
-- Partition: usage_slots.billing_account_id, colocation_sweep.billing_account_id,
--          account_egress.billing_account_id
--          Runs, their peaks and the egress signal are one account's, so the query runs on parts
--          holding whole accounts of the three tables and stacks them.
WITH ordered AS (
    SELECT
        billing_account_id, colocation_group, first_row_id, start_s, end_s, accelerator_hours, est_ops,
        est_ops_low, upper_ops, accelerator, instance_type, interconnect_gbps, committed, merged_rows,
        CASE WHEN utilization_source = 'telemetry' THEN est_ops END AS measured_ops,
        CASE WHEN utilization_source = 'telemetry' THEN upper_ops END AS measured_upper_ops,
        MAX(end_s) OVER (PARTITION BY billing_account_id, colocation_group ORDER BY start_s, end_s, first_row_id) AS reach_s
    FROM usage_slots
),
-- Steps that read one table name columns unqualified (see 10_flags.sql).
marked AS (
    SELECT
        *,
        LAG(reach_s) OVER (PARTITION BY billing_account_id, colocation_group ORDER BY start_s, end_s, first_row_id) AS prev_reach_s
    FROM ordered
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
        *,
        SUM(starts_run) OVER (PARTITION BY billing_account_id, colocation_group ORDER BY start_s, end_s, first_row_id) AS run_seq
    FROM flagged
),
runs AS (
    SELECT
        billing_account_id, colocation_group, run_seq,
        MIN(start_s) AS run_start_s,
        MAX(end_s) AS run_end_s,
        SUM(accelerator_hours) AS accelerator_hours,
        SUM(est_ops) AS est_ops,
        SUM(est_ops_low) AS est_ops_low,
        SUM(upper_ops) AS upper_ops,
        STRING_AGG(DISTINCT accelerator, ';' ORDER BY accelerator) AS accelerators,
        STRING_AGG(DISTINCT instance_type, ';' ORDER BY instance_type) AS instance_types,
        MAX(interconnect_gbps) AS max_interconnect_gbps,
        SUM(CASE WHEN committed THEN merged_rows ELSE 0 END) AS committed_rows,
        SUM(measured_ops) / NULLIF(SUM(measured_upper_ops), 0) AS measured_utilization
    FROM numbered
    GROUP BY billing_account_id, colocation_group, run_seq
),
run_instants AS (
    -- Each instant of the sweep with the run whose span holds it: the run starts and the sweep's
    -- instants in time order (a start before an instant at the same time), each instant taking the
    -- latest run started at or before it and that run's end. Runs of one placement do not overlap,
    -- so this is the range join "run_start_s <= ts < run_end_s" done by one sort.
    SELECT
        billing_account_id, colocation_group, ts, is_instant, running_accelerators, running_ops_per_s,
        MAX(run_seq) OVER (PARTITION BY billing_account_id, colocation_group ORDER BY ts, is_instant) AS run_seq,
        MAX(run_end_s) OVER (PARTITION BY billing_account_id, colocation_group ORDER BY ts, is_instant) AS run_end_s
    FROM (
        SELECT billing_account_id, colocation_group, run_start_s AS ts, 0 AS is_instant, run_seq, run_end_s,
               CAST(NULL AS DOUBLE) AS running_accelerators, CAST(NULL AS DOUBLE) AS running_ops_per_s
        FROM runs
        UNION ALL
        SELECT billing_account_id, colocation_group, ts, 1 AS is_instant, NULL AS run_seq, NULL AS run_end_s,
               running_accelerators, running_ops_per_s
        FROM colocation_sweep
    )
),
peaks AS (
    SELECT
        billing_account_id, colocation_group, run_seq,
        MAX(running_accelerators) AS peak_accelerators,
        MAX(running_ops_per_s) AS peak_ops_per_s
    FROM run_instants
    WHERE is_instant = 1 AND ts < run_end_s
    GROUP BY billing_account_id, colocation_group, run_seq
),
account_hours AS (
    SELECT billing_account_id, SUM(accelerator_hours) AS accelerator_hours
    FROM usage_slots
    GROUP BY billing_account_id
),
low_egress AS (
    SELECT h.billing_account_id,
           e.egress_gb / NULLIF(h.accelerator_hours, 0) <= p.low_egress_gb_per_accelerator_hour AS low_egress
    FROM account_hours AS h
    INNER JOIN account_egress AS e ON h.billing_account_id = e.billing_account_id
    CROSS JOIN params AS p
    WHERE e.egress_gb IS NOT NULL
),
signals AS (
    SELECT
        r.*,
        (r.run_end_s - r.run_start_s) / 3600.0 AS duration_hours,
        pk.peak_accelerators,
        pk.peak_ops_per_s,
        r.run_end_s >= p.as_of_end_s - p.segment_gap_hours * 3600 AS ongoing,
        COALESCE(pk.peak_accelerators >= p.training_min_accelerators, FALSE) AS large_fleet,
        (r.run_end_s - r.run_start_s) / 3600.0 >= p.training_min_hours AS long_run,
        COALESCE(r.max_interconnect_gbps >= p.training_interconnect_gbps, FALSE) AS fast_fabric,
        COALESCE(r.accelerator_hours / NULLIF((r.run_end_s - r.run_start_s) / 3600.0, 0)
            >= p.steady_fraction * pk.peak_accelerators, FALSE) AS steady,
        r.committed_rows > 0 AS committed,
        COALESCE(r.measured_utilization >= p.assumed_utilization, FALSE) AS busy,
        COALESCE(le.low_egress, FALSE) AS low_egress
    FROM runs AS r
    LEFT JOIN low_egress AS le ON r.billing_account_id = le.billing_account_id
    LEFT JOIN peaks AS pk
        ON r.billing_account_id = pk.billing_account_id
        AND r.colocation_group = pk.colocation_group
        AND r.run_seq = pk.run_seq
    CROSS JOIN params AS p
),
classed AS (
    SELECT
        *,
        CASE WHEN large_fleet THEN 1 ELSE 0 END + CASE WHEN long_run THEN 1 ELSE 0 END
            + CASE WHEN fast_fabric THEN 1 ELSE 0 END + CASE WHEN steady THEN 1 ELSE 0 END
            + CASE WHEN committed THEN 1 ELSE 0 END + CASE WHEN busy THEN 1 ELSE 0 END
            + CASE WHEN low_egress THEN 1 ELSE 0 END AS signal_count,
        CASE WHEN fast_fabric THEN 1 ELSE 0 END + CASE WHEN steady THEN 1 ELSE 0 END
            + CASE WHEN committed THEN 1 ELSE 0 END + CASE WHEN busy THEN 1 ELSE 0 END
            + CASE WHEN low_egress THEN 1 ELSE 0 END AS support_count
    FROM signals
)
SELECT
    billing_account_id,
    colocation_group,
    run_seq,
    run_start_s,
    run_end_s,
    duration_hours,
    accelerator_hours,
    est_ops,
    est_ops_low,
    upper_ops,
    accelerators,
    instance_types,
    peak_accelerators,
    peak_ops_per_s,
    max_interconnect_gbps,
    ongoing,
    CASE
        WHEN peak_accelerators IS NULL THEN 'unknown'
        WHEN large_fleet AND long_run AND support_count >= 2 THEN 'training-like'
        WHEN NOT large_fleet OR NOT steady THEN 'inference-like'
        ELSE 'mixed'
    END AS class,
    signal_count / 7.0 AS confidence,
    NULLIF(CONCAT_WS(';',
        CASE WHEN large_fleet THEN 'LARGE_FLEET' END,
        CASE WHEN long_run THEN 'LONG_RUN' END,
        CASE WHEN fast_fabric THEN 'FAST_FABRIC' END,
        CASE WHEN steady THEN 'STEADY' END,
        CASE WHEN committed THEN 'COMMITTED' END,
        CASE WHEN busy THEN 'BUSY' END,
        CASE WHEN low_egress THEN 'LOW_EGRESS' END
    ), '') AS class_reasons,
    peak_accelerators IS NOT NULL AND large_fleet AND long_run AND support_count >= 2 AS training_like
FROM classed
