-- Purpose: compute and evasion patterns per entity (accounts linked by strong links, see
--          README "Detection"): the entity's summed estimate (and its interval), its peak co-located
--          op/s (an upper bound: the sum over member accounts of their peaks in one placement),
--          best interconnect, burn rate, how many members are subjects of the profile's tests
--          (foreign_status.is_subject; an account without a CIP record counts as one), and two structuring patterns among
--          members with large fleets: synchronised runs (in one placement, starting within
--          params.sync_tolerance_hours) and fleet handovers (a run on the same instance types and a
--          peak within params.handover_size_tolerance starting within params.handover_gap_hours
--          after another member's run ends).
-- Inputs:  account_compute, entity_members, foreign_status, colocation_sweep, training_runs, params
-- Output:  entity_compute(entity_id, entity_size, entity_est_ops, entity_est_ops_low,
--          entity_upper_ops, max_member_est_ops, entity_burn_ops_per_day,
--          entity_max_interconnect_gbps, entity_training_confidence, subject_members,
--          entity_peak_ops_per_s, synchronized_pairs, handovers)
--          The decision tests on these figures (and the entity's crossing day) are in 10_flags.sql.
WITH members AS (
    SELECT m.entity_id, m.entity_size, a.*
    FROM account_compute AS a
    INNER JOIN entity_members AS m ON a.billing_account_id = m.account_id
),
subjectness AS (
    SELECT
        m.entity_id,
        SUM(CASE WHEN COALESCE(f.is_subject, TRUE) THEN 1 ELSE 0 END) AS subject_members
    FROM entity_members AS m
    LEFT JOIN foreign_status AS f ON m.account_id = f.account_id
    GROUP BY m.entity_id
),
account_group_peaks AS (
    SELECT billing_account_id, colocation_group, MAX(running_ops_per_s) AS peak_ops_per_s
    FROM colocation_sweep
    GROUP BY billing_account_id, colocation_group
),
group_peaks AS (
    SELECT m.entity_id, g.colocation_group, SUM(g.peak_ops_per_s) AS peak_ops_per_s
    FROM account_group_peaks AS g
    INNER JOIN entity_members AS m ON g.billing_account_id = m.account_id
    GROUP BY m.entity_id, g.colocation_group
),
entity_peaks AS (
    SELECT entity_id, MAX(peak_ops_per_s) AS entity_peak_ops_per_s
    FROM group_peaks
    GROUP BY entity_id
),
big_runs AS (
    SELECT m.entity_id, r.billing_account_id, r.colocation_group, r.run_start_s, r.run_end_s,
           r.instance_types, r.peak_accelerators
    FROM training_runs AS r
    INNER JOIN entity_members AS m ON r.billing_account_id = m.account_id
    CROSS JOIN params AS p
    WHERE m.entity_size > 1 AND r.peak_accelerators >= p.training_min_accelerators
),
synchronized AS (
    SELECT x.entity_id, COUNT(*) AS synchronized_pairs
    FROM big_runs AS x
    INNER JOIN big_runs AS y ON x.entity_id = y.entity_id AND x.colocation_group = y.colocation_group
    CROSS JOIN params AS p
    WHERE x.billing_account_id < y.billing_account_id
        AND ABS(x.run_start_s - y.run_start_s) <= p.sync_tolerance_hours * 3600
    GROUP BY x.entity_id
),
handed_over AS (
    SELECT x.entity_id, COUNT(*) AS handovers
    FROM big_runs AS x
    INNER JOIN big_runs AS y ON x.entity_id = y.entity_id AND x.instance_types = y.instance_types
    CROSS JOIN params AS p
    WHERE x.billing_account_id <> y.billing_account_id
        AND y.run_start_s >= x.run_end_s - p.segment_gap_hours * 3600
        AND y.run_start_s <= x.run_end_s + p.handover_gap_hours * 3600
        AND ABS(y.peak_accelerators - x.peak_accelerators) <= p.handover_size_tolerance * x.peak_accelerators
    GROUP BY x.entity_id
),
totals AS (
    SELECT
        entity_id,
        MAX(entity_size) AS entity_size,
        SUM(est_ops) AS entity_est_ops,
        SUM(est_ops_low) AS entity_est_ops_low,
        SUM(upper_ops) AS entity_upper_ops,
        MAX(est_ops) AS max_member_est_ops,
        SUM(burn_ops_per_day) AS entity_burn_ops_per_day,
        MAX(max_interconnect_gbps) AS entity_max_interconnect_gbps,
        MAX(training_confidence) AS entity_training_confidence
    FROM members
    GROUP BY entity_id
)
SELECT
    t.*,
    COALESCE(f.subject_members, 0) AS subject_members,
    pk.entity_peak_ops_per_s,
    COALESCE(s.synchronized_pairs, 0) AS synchronized_pairs,
    COALESCE(h.handovers, 0) AS handovers
FROM totals AS t
LEFT JOIN subjectness AS f ON t.entity_id = f.entity_id
LEFT JOIN entity_peaks AS pk ON t.entity_id = pk.entity_id
LEFT JOIN synchronized AS s ON t.entity_id = s.entity_id
LEFT JOIN handed_over AS h ON t.entity_id = h.entity_id
