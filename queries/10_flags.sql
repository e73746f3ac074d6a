-- Purpose: the level of every account with accelerator use, with its reasons. Tests, all from params:
--            ops_met          est_ops > training_ops
--            peak_met         peak_colocated_ops_per_s >= cluster_peak_ops_per_s
--            interconnect_met max_interconnect_gbps > interconnect_gbps
--            confident        a training-like run with confidence >= min_report_confidence
--          The same tests are applied to the account's entity (linked accounts, 09_entity_compute).
--          REPORTABLE: foreign, the three tests met and confident; or a member of a foreign entity of
--                 two or more accounts whose entity totals meet them (ENTITY_OVER_THRESHOLD).
--          WATCH: foreign (or in a foreign entity), not reportable, and any of: estimate >=
--                 watch_fraction * training_ops; the trailing burn rate crosses training_ops within
--                 projection_horizon_days; the ops test met without the cluster tests or without a
--                 confident training-like run; the burn rate held for plausible_run_days would exceed
--                 training_ops (RATE_TEST); the same for the entity; split, synchronised or handed-over
--                 runs among linked accounts.
--          CIP_GAP: foreign, accelerator_hours >= material_accelerator_hours, and the customer is not
--                 verified or exempt, or was sold through a reseller without a CIP on file.
--          CLEAR: none of these. The level is the most severe; reasons lists every code that applies.
--          knowledge_day: the as-of day of the first published filing run that found the account
--          REPORTABLE under the same parameters (prior_knowledge), else this run's as-of day: the
--          provider knows when a run tells it, not when the data crossed (the clock never restarts
--          and is never backdated). crossing_day: the day the estimate (the account's, or for an
--          entity-reportable account the entity's) first exceeded training_ops, shown beside it.
--          provisional_due_day: for a WATCH account meeting every test but the operations total,
--          its projected crossing day plus report_due_days.
-- Inputs:  account_compute, foreign_status, entity_members, entity_compute, prior_knowledge, params
-- Output:  flags(one row per account: compute and interval, entity, foreign determination, CIP and
--          reseller facts, tests, level, reasons, knowledge_day, report_due_day, crossing_day,
--          provisional_due_day,
--          projected_crossing_day (within the horizon only), days_to_crossing)
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
        em.entity_id,
        em.weak_links,
        e.entity_size,
        e.entity_est_ops,
        e.entity_est_ops_low,
        e.entity_peak_ops_per_s,
        e.entity_crossing_day,
        COALESCE(a.est_ops > p.training_ops, FALSE) AS ops_met,
        COALESCE(a.peak_colocated_ops_per_s >= p.cluster_peak_ops_per_s, FALSE) AS peak_met,
        COALESCE(a.max_interconnect_gbps > p.interconnect_gbps, FALSE) AS interconnect_met,
        COALESCE(a.training_confidence >= p.min_report_confidence, FALSE) AS confident,
        a.max_interconnect_gbps IS NULL AS interconnect_unknown,
        COALESCE(a.est_ops >= p.watch_fraction * p.training_ops, FALSE) AS near_threshold,
        COALESCE(a.est_ops <= p.training_ops AND a.burn_ops_per_day * p.plausible_run_days > p.training_ops, FALSE) AS rate_test,
        CASE
            WHEN a.est_ops <= p.training_ops AND a.burn_ops_per_day > 0
            THEN CEIL((p.training_ops - a.est_ops) / a.burn_ops_per_day)
        END AS days_to_crossing,
        COALESCE(a.accelerator_hours >= p.material_accelerator_hours, FALSE) AS material_use,
        COALESCE(e.entity_size > 1 AND e.foreign_members > 0, FALSE) AS in_foreign_entity,
        COALESCE(e.entity_size > 1 AND e.entity_est_ops > p.training_ops, FALSE) AS entity_ops_met,
        COALESCE(e.entity_size > 1 AND e.entity_est_ops > p.training_ops
            AND e.entity_peak_ops_per_s >= p.cluster_peak_ops_per_s
            AND e.entity_max_interconnect_gbps > p.interconnect_gbps
            AND e.entity_training_confidence >= p.min_report_confidence, FALSE) AS entity_tests_met,
        COALESCE(e.entity_size > 1 AND e.entity_est_ops > p.training_ops AND e.max_member_est_ops <= p.training_ops, FALSE) AS split,
        COALESCE(e.entity_size > 1 AND e.entity_est_ops >= p.watch_fraction * p.training_ops
            AND e.max_member_est_ops < p.watch_fraction * p.training_ops, FALSE) AS entity_near,
        COALESCE(e.entity_size > 1 AND e.entity_est_ops <= p.training_ops
            AND e.entity_burn_ops_per_day * p.plausible_run_days > p.training_ops, FALSE) AS entity_rate,
        COALESCE(e.synchronized_pairs > 0, FALSE) AS synchronized,
        COALESCE(e.handovers > 0, FALSE) AS handover,
        COALESCE(k.knowledge_day, p.as_of_day) AS first_knowledge_day,
        p.as_of_day AS as_of_day,
        p.projection_horizon_days AS horizon_days,
        p.report_due_days AS report_due_days
    FROM account_compute AS a
    LEFT JOIN foreign_status AS f ON a.billing_account_id = f.account_id
    LEFT JOIN entity_members AS em ON a.billing_account_id = em.account_id
    LEFT JOIN entity_compute AS e ON em.entity_id = e.entity_id
    LEFT JOIN prior_knowledge AS k ON a.billing_account_id = k.account_id
    CROSS JOIN params AS p
),
tested AS (
    SELECT
        j.*,
        COALESCE(j.days_to_crossing <= j.horizon_days, FALSE) AS projected_soon,
        j.cip_status NOT IN ('verified', 'exempt') AS identity_unverified,
        j.reseller_id IS NOT NULL AND (NOT j.reseller_known OR NOT COALESCE(j.reseller_cip_on_file, FALSE)) AS reseller_cip_missing,
        j.is_foreign AND j.ops_met AND j.peak_met AND j.interconnect_met AND j.confident AS account_reportable,
        j.in_foreign_entity AND j.entity_tests_met AS entity_reportable
    FROM joined AS j
),
levelled AS (
    SELECT
        t.*,
        t.account_reportable OR t.entity_reportable AS reportable,
        t.is_foreign AND t.material_use AND (t.identity_unverified OR t.reseller_cip_missing) AS cip_gap
    FROM tested AS t
),
watched AS (
    SELECT
        l.*,
        (l.is_foreign OR l.in_foreign_entity) AND NOT l.reportable AND (
            (l.is_foreign AND (l.near_threshold OR l.projected_soon OR l.ops_met OR l.rate_test))
            OR (l.in_foreign_entity AND (l.entity_ops_met OR l.entity_near OR l.entity_rate OR l.synchronized OR l.handover))
        ) AS watch
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
    w.est_ops_low,
    w.upper_ops,
    w.peak_colocated_ops_per_s,
    w.peak_colocated_accelerators,
    w.max_interconnect_gbps,
    w.training_runs,
    w.training_confidence,
    w.largest_run_est_ops,
    w.burn_ops_per_day,
    w.entity_id,
    w.entity_size,
    w.entity_est_ops,
    w.entity_peak_ops_per_s,
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
        CASE WHEN w.ops_met AND w.peak_met AND w.interconnect_met AND NOT w.confident THEN 'LOW_CONFIDENCE_CLASS' END,
        CASE WHEN w.near_threshold AND NOT w.ops_met THEN 'OPS_NEAR_THRESHOLD' END,
        CASE WHEN w.projected_soon THEN 'PROJECTED_CROSSING' END,
        CASE WHEN w.rate_test THEN 'RATE_TEST' END,
        CASE WHEN w.entity_reportable THEN 'ENTITY_OVER_THRESHOLD' END,
        CASE WHEN w.entity_ops_met AND NOT w.entity_reportable THEN 'ENTITY_OPS_OVER_THRESHOLD' END,
        CASE WHEN w.split THEN 'SPLIT_ACROSS_ACCOUNTS' END,
        CASE WHEN w.entity_near THEN 'ENTITY_NEAR_THRESHOLD' END,
        CASE WHEN w.entity_rate THEN 'ENTITY_RATE_TEST' END,
        CASE WHEN w.synchronized THEN 'SYNCHRONIZED_RUNS' END,
        CASE WHEN w.handover THEN 'FLEET_HANDOVER' END,
        CASE WHEN w.weak_links <> '' THEN 'WEAK_LINK_REVIEW' END,
        CASE WHEN w.material_use AND w.identity_unverified THEN 'CIP_NOT_VERIFIED' END,
        CASE WHEN w.material_use AND w.reseller_cip_missing THEN 'RESELLER_CIP_MISSING' END,
        CASE WHEN w.foreign_basis = 'no_cip_record' THEN 'NO_CIP_RECORD' END,
        CASE WHEN w.foreign_basis = 'foreign_beneficial_owner' THEN 'FOREIGN_BENEFICIAL_OWNER' END
    ), '') AS reasons,
    CASE WHEN w.reportable THEN w.first_knowledge_day END AS knowledge_day,
    CASE WHEN w.reportable THEN w.first_knowledge_day + w.report_due_days END AS report_due_day,
    CASE
        WHEN w.account_reportable THEN w.crossing_day
        WHEN w.entity_reportable THEN w.entity_crossing_day
    END AS crossing_day,
    CASE
        WHEN w.watch AND w.projected_soon AND w.peak_met AND w.interconnect_met AND w.confident
        THEN w.as_of_day + w.days_to_crossing + w.report_due_days
    END AS provisional_due_day,
    CASE WHEN w.projected_soon THEN w.as_of_day + w.days_to_crossing END AS projected_crossing_day,
    w.days_to_crossing
FROM watched AS w
