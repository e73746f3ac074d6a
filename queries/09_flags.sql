-- Purpose: the level of every account with accelerator use, with its reasons. Tests, all from params:
--            ops_met          est_ops > training_ops
--            peak_met         peak_colocated_ops_per_s >= cluster_peak_ops_per_s
--            interconnect_met max_interconnect_gbps > interconnect_gbps
--          REPORTABLE: foreign and all three met.
--          WATCH: foreign, not reportable, and est_ops >= watch_fraction * training_ops, or the
--                 trailing burn rate crosses training_ops within projection_horizon_days, or the
--                 operations test is met but a cluster test is not (or the interconnect is unknown).
--          CIP_GAP: foreign, accelerator_hours >= material_accelerator_hours, and the customer is not
--                 verified or exempt, or was sold through a reseller without a CIP on file.
--          CLEAR: none of these. The level is the most severe; reasons lists every code that applies.
--          knowledge_day: the first day the estimate exceeded training_ops, or an earlier knowledge
--          date recorded by a previous run under the same parameters (the clock never restarts).
-- Inputs:  account_compute, foreign_status, prior_knowledge, params
-- Output:  flags(one row per account: compute, foreign determination, CIP and reseller facts, tests,
--          level, reasons, knowledge_day, report_due_day, projected_crossing_day (within the horizon
--          only), days_to_crossing (at the trailing burn rate, whatever the horizon))
WITH joined AS (
    SELECT
        a.*,
        COALESCE(f.foreign_basis, 'no_cip_record') AS foreign_basis,
        COALESCE(f.foreign_basis, 'no_cip_record') <> 'us_customer_and_owners' AS is_foreign,
        COALESCE(f.verification_status, 'no_record') AS cip_status,
        f.verification_method,
        f.reseller_id,
        f.reseller_name,
        f.reseller_country,
        f.reseller_cip_on_file,
        f.reseller_known,
        COALESCE(f.beneficial_owners, 0) AS beneficial_owners,
        COALESCE(f.foreign_beneficial_owners, 0) AS foreign_beneficial_owners,
        COALESCE(a.est_ops > p.training_ops, FALSE) AS ops_met,
        COALESCE(a.peak_colocated_ops_per_s >= p.cluster_peak_ops_per_s, FALSE) AS peak_met,
        COALESCE(a.max_interconnect_gbps > p.interconnect_gbps, FALSE) AS interconnect_met,
        a.max_interconnect_gbps IS NULL AS interconnect_unknown,
        COALESCE(a.est_ops >= p.watch_fraction * p.training_ops, FALSE) AS near_threshold,
        CASE
            WHEN a.est_ops <= p.training_ops AND a.burn_ops_per_day > 0
            THEN CEIL((p.training_ops - a.est_ops) / a.burn_ops_per_day)
        END AS days_to_crossing,
        COALESCE(a.accelerator_hours >= p.material_accelerator_hours, FALSE) AS material_use,
        CASE
            WHEN k.knowledge_day IS NOT NULL AND k.knowledge_day < a.crossing_day THEN k.knowledge_day
            ELSE a.crossing_day
        END AS first_knowledge_day,
        p.as_of_day AS as_of_day,
        p.projection_horizon_days AS horizon_days,
        p.report_due_days AS report_due_days
    FROM account_compute AS a
    LEFT JOIN foreign_status AS f ON a.billing_account_id = f.account_id
    LEFT JOIN prior_knowledge AS k ON a.billing_account_id = k.account_id
    CROSS JOIN params AS p
),
tested AS (
    SELECT
        j.*,
        COALESCE(j.days_to_crossing <= j.horizon_days, FALSE) AS projected_soon,
        j.cip_status NOT IN ('verified', 'exempt') AS identity_unverified,
        j.reseller_id IS NOT NULL AND (NOT j.reseller_known OR NOT COALESCE(j.reseller_cip_on_file, FALSE)) AS reseller_cip_missing
    FROM joined AS j
),
levelled AS (
    SELECT
        t.*,
        t.is_foreign AND t.ops_met AND t.peak_met AND t.interconnect_met AS reportable,
        t.is_foreign AND t.material_use AND (t.identity_unverified OR t.reseller_cip_missing) AS cip_gap
    FROM tested AS t
),
watched AS (
    SELECT
        l.*,
        l.is_foreign AND NOT l.reportable AND (l.near_threshold OR l.projected_soon OR l.ops_met) AS watch
    FROM levelled AS l
)
SELECT
    w.billing_account_id AS account_id,
    w.is_foreign,
    w.foreign_basis,
    w.cip_status,
    w.verification_method,
    w.reseller_id,
    w.reseller_name,
    w.reseller_country,
    w.reseller_cip_on_file,
    w.beneficial_owners,
    w.foreign_beneficial_owners,
    w.sub_accounts,
    w.accelerators,
    w.accelerator_hours,
    w.telemetry_accelerator_hours,
    w.est_ops,
    w.upper_ops,
    w.peak_colocated_ops_per_s,
    w.peak_colocated_accelerators,
    w.max_interconnect_gbps,
    w.training_runs,
    w.largest_run_est_ops,
    w.burn_ops_per_day,
    w.first_usage_s,
    w.last_usage_s,
    w.ops_met,
    w.peak_met,
    w.interconnect_met,
    CASE
        WHEN w.reportable THEN 'REPORTABLE'
        WHEN w.watch THEN 'WATCH'
        WHEN w.cip_gap THEN 'CIP_GAP'
        ELSE 'CLEAR'
    END AS level,
    NULLIF(CONCAT_WS(';',
        CASE WHEN NOT w.is_foreign THEN 'US_PERSON' END,
        CASE WHEN w.ops_met THEN 'OPS_OVER_THRESHOLD' END,
        CASE WHEN w.peak_met THEN 'CLUSTER_PEAK_MET' END,
        CASE WHEN w.interconnect_met THEN 'INTERCONNECT_MET' END,
        CASE WHEN w.interconnect_unknown THEN 'INTERCONNECT_UNKNOWN' END,
        CASE WHEN w.near_threshold AND NOT w.ops_met THEN 'OPS_NEAR_THRESHOLD' END,
        CASE WHEN w.projected_soon THEN 'PROJECTED_CROSSING' END,
        CASE WHEN w.material_use AND w.identity_unverified THEN 'CIP_NOT_VERIFIED' END,
        CASE WHEN w.material_use AND w.reseller_cip_missing THEN 'RESELLER_CIP_MISSING' END,
        CASE WHEN w.foreign_basis = 'no_cip_record' THEN 'NO_CIP_RECORD' END,
        CASE WHEN w.foreign_basis = 'foreign_beneficial_owner' THEN 'FOREIGN_BENEFICIAL_OWNER' END
    ), '') AS reasons,
    CASE WHEN w.reportable THEN w.first_knowledge_day END AS knowledge_day,
    CASE WHEN w.reportable THEN w.first_knowledge_day + w.report_due_days END AS report_due_day,
    CASE WHEN w.projected_soon THEN w.as_of_day + w.days_to_crossing END AS projected_crossing_day,
    w.days_to_crossing
FROM watched AS w
