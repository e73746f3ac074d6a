-- Purpose: the level of every account with accelerator use, with its reasons. Each decision test is
--          written once, over subjects: every account, and every entity of two or more linked
--          accounts (09_entity_compute), side by side with subject_kind 'account' or 'entity'.
--          Tests, all from params:
--            ops_met          est_ops > training_ops
--            peak_met         peak co-located op/s >= cluster_peak_ops_per_s
--            interconnect_met max_interconnect_gbps > interconnect_gbps
--            confident        a training-like run with confidence >= min_report_confidence
--            reportable       a subject (is_subject from 08_foreign_status: the profile's subject
--                             test; an entity when any member is) and the four tests above
--          A threshold of 0 is no floor: cluster_peak_ops_per_s = 0 and interconnect_gbps = 0 are met
--          also where the figure is unknown; training_ops = 0 is met by any estimate above 0.
--            near_threshold   est_ops >= watch_ops (watch_fraction * training_ops as the decimal product)
--            rate_test        est_ops <= training_ops and the burn rate held for plausible_run_days
--                             would exceed training_ops
--            days_to_crossing at the trailing burn rate; projected_soon within projection_horizon_days
--            crossing_day     the first day the subject's running estimate (daily_ops, summed over an
--                             entity's members) exceeded training_ops
--          An account reads its own subject's tests and its entity's.
--          REPORTABLE: the account's subject is reportable; or it is a member of a reportable entity
--                 (ENTITY_OVER_THRESHOLD).
--          WATCH: a subject (or in an entity with a subject), not reportable, and any of: near_threshold;
--                 projected_soon; ops_met without the cluster tests or without a confident
--                 training-like run; rate_test; for its subject entity: ops_met, near_threshold with no
--                 member near it, rate_test; split (the entity's ops_met with no member's),
--                 synchronised or handed-over runs among linked accounts.
--          CIP_GAP: a subject, accelerator_hours >= material_accelerator_hours, and the customer is not
--                 verified or exempt, or was sold through a reseller without a CIP on file.
--          CLEAR: none of these. The level is the most severe; reasons lists every code that applies.
--          CATALOG_GAP (a reason, not a level): some of the account's accelerator-hours were estimated
--          at the catalog-gap bound because the catalog has no peak figure for their accelerator.
--          SANCTIONS_CANDIDATE and OWNED_50PCT_LISTED (reasons, not levels): the screening stage
--          (screening_candidates; empty without [screening]) found a candidate for review among the
--          account's customer, owners or reseller, and candidate owners' shares summing to 50% or more.
--          first_flagged_day: the as-of day of the first published filing run that found the
--          account REPORTABLE under the same parameters (prior_knowledge), else this run's as-of
--          day: the screening tells the provider when a run flags, not when the data crossed (the
--          clock never restarts and is never backdated). knowledge_day: the knowledge date counsel
--          adopted in the answers file (prior_knowledge.adopted_day), else first_flagged_day. crossing_day: the day the estimate (the account's, or for an
--          entity-reportable account the entity's) first exceeded training_ops, shown beside it.
--          provisional_due_day: for a WATCH account meeting every test but the operations total,
--          the due day of its projected crossing day.
--          Due days follow params.deadline: `days` adds report_due_days to the day; `quarterly` adds
--          after_quarter_days to the last day of the day's calendar quarter; `none` gives none.
-- Inputs:  account_compute, daily_ops, foreign_status, entity_members, entity_compute, prior_knowledge,
--          screening_candidates, params
-- Output:  flags(one row per account: compute and interval, entity, foreign determination, CIP and
--          reseller facts, tests, level, reasons, knowledge_day, first_flagged_day, report_due_day,
--          crossing_day,
--          provisional_due_day,
--          projected_crossing_day (within the horizon only), days_to_crossing)
WITH accounts AS (
    SELECT
        a.*,
        COALESCE(f.foreign_basis, 'no_cip_record') AS foreign_basis,
        COALESCE(f.is_foreign, TRUE) AS is_foreign,
        COALESCE(f.subject_basis, 'no_cip_record') AS subject_basis,
        COALESCE(f.is_subject, TRUE) AS is_subject,
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
        COALESCE(a.accelerator_hours >= p.material_accelerator_hours, FALSE) AS material_use,
        COALESCE(e.synchronized_pairs > 0, FALSE) AS synchronized,
        COALESCE(e.handovers > 0, FALSE) AS handover,
        COALESCE(k.adopted_day, k.knowledge_day, p.as_of_day) AS first_knowledge_day,
        COALESCE(k.knowledge_day, p.as_of_day) AS screening_knowledge_day,
        sc.account_id IS NOT NULL AS sanctions_candidate,
        COALESCE(sc.owned_50pct_listed, FALSE) AS owned_50pct_listed,
        p.as_of_day AS as_of_day,
        p.report_due_days AS report_due_days,
        p.deadline AS deadline,
        p.after_quarter_days AS after_quarter_days,
        p.subject AS subject,
        'account' AS account_kind,
        'entity' AS entity_kind
    FROM account_compute AS a
    LEFT JOIN foreign_status AS f ON a.billing_account_id = f.account_id
    LEFT JOIN entity_members AS em ON a.billing_account_id = em.account_id
    LEFT JOIN entity_compute AS e ON em.entity_id = e.entity_id
    LEFT JOIN prior_knowledge AS k ON a.billing_account_id = k.account_id
    LEFT JOIN screening_candidates AS sc ON a.billing_account_id = sc.account_id
    CROSS JOIN params AS p
),
subjects AS (
    SELECT
        'account' AS subject_kind,
        billing_account_id AS subject_id,
        is_subject,
        est_ops,
        peak_colocated_ops_per_s AS peak_ops_per_s,
        max_interconnect_gbps,
        training_confidence,
        burn_ops_per_day
    FROM accounts
    UNION ALL
    SELECT
        'entity' AS subject_kind,
        entity_id AS subject_id,
        subject_members > 0 AS is_subject,
        entity_est_ops AS est_ops,
        entity_peak_ops_per_s AS peak_ops_per_s,
        entity_max_interconnect_gbps AS max_interconnect_gbps,
        entity_training_confidence AS training_confidence,
        entity_burn_ops_per_day AS burn_ops_per_day
    FROM entity_compute
    WHERE entity_size > 1
),
subject_days AS (
    SELECT 'account' AS subject_kind, billing_account_id AS subject_id, day, est_ops
    FROM daily_ops
    UNION ALL
    SELECT 'entity' AS subject_kind, m.entity_id AS subject_id, d.day, SUM(d.est_ops) AS est_ops
    FROM daily_ops AS d
    INNER JOIN entity_members AS m ON d.billing_account_id = m.account_id
    WHERE m.entity_size > 1
    GROUP BY m.entity_id, d.day
),
running AS (
    SELECT
        subject_kind, subject_id, day,
        SUM(est_ops) OVER (PARTITION BY subject_kind, subject_id ORDER BY day) AS cumulative_est_ops
    FROM subject_days
),
crossings AS (
    SELECT r.subject_kind, r.subject_id, MIN(r.day) AS crossing_day
    FROM running AS r
    CROSS JOIN params AS p
    WHERE r.cumulative_est_ops > p.training_ops
    GROUP BY r.subject_kind, r.subject_id
),
crossed AS (
    SELECT s.*, c.crossing_day
    FROM subjects AS s
    LEFT JOIN crossings AS c ON s.subject_kind = c.subject_kind AND s.subject_id = c.subject_id
),
tested AS (
    SELECT
        s.*,
        COALESCE(s.est_ops > p.training_ops, FALSE) AS ops_met,
        COALESCE(s.peak_ops_per_s >= p.cluster_peak_ops_per_s, p.cluster_peak_ops_per_s = 0) AS peak_met,
        COALESCE(s.max_interconnect_gbps > p.interconnect_gbps, p.interconnect_gbps = 0) AS interconnect_met,
        COALESCE(s.training_confidence >= p.min_report_confidence, FALSE) AS confident,
        s.max_interconnect_gbps IS NULL AS interconnect_unknown,
        COALESCE(s.est_ops >= p.watch_ops, FALSE) AS near_threshold,
        COALESCE(s.est_ops <= p.training_ops AND s.burn_ops_per_day * p.plausible_run_days > p.training_ops, FALSE) AS rate_test,
        CASE
            WHEN s.est_ops <= p.training_ops AND s.burn_ops_per_day > 0
            THEN CEIL((p.training_ops - s.est_ops) / s.burn_ops_per_day)
        END AS days_to_crossing,
        p.projection_horizon_days AS horizon_days
    FROM crossed AS s
    CROSS JOIN params AS p
),
-- A step that reads one table names its columns unqualified: Polars 0.55's SQL plans the whole
-- input again for every qualified name (this query took 0.96 s to plan with them, 0.03 s without).
decided AS (
    SELECT
        *,
        is_subject AND ops_met AND peak_met AND interconnect_met AND confident AS reportable,
        COALESCE(days_to_crossing <= horizon_days, FALSE) AS projected_soon
    FROM tested
),
-- Subjects are joined back on (kind, id) rather than filtered by kind: Polars 0.55's predicate
-- pushdown fails on a filtered plan used twice that holds a cross join.
member_tests AS (
    SELECT
        a.entity_id,
        MAX(CASE WHEN t.ops_met THEN 1 ELSE 0 END) = 1 AS member_ops_met,
        MAX(CASE WHEN t.near_threshold THEN 1 ELSE 0 END) = 1 AS member_near
    FROM accounts AS a
    INNER JOIN decided AS t ON a.billing_account_id = t.subject_id AND a.account_kind = t.subject_kind
    GROUP BY a.entity_id
),
joined AS (
    SELECT
        a.*,
        t.ops_met,
        t.peak_met,
        t.interconnect_met,
        t.confident,
        t.interconnect_unknown,
        t.near_threshold,
        t.rate_test,
        t.days_to_crossing,
        t.projected_soon,
        t.crossing_day,
        et.crossing_day AS entity_crossing_day,
        t.reportable AS account_reportable,
        COALESCE(et.is_subject, FALSE) AS in_subject_entity,
        COALESCE(et.reportable, FALSE) AS entity_reportable,
        COALESCE(et.ops_met, FALSE) AS entity_ops_met,
        COALESCE(et.ops_met AND NOT mt.member_ops_met, FALSE) AS split,
        COALESCE(et.near_threshold AND NOT mt.member_near, FALSE) AS entity_near,
        COALESCE(et.rate_test, FALSE) AS entity_rate
    FROM accounts AS a
    INNER JOIN decided AS t ON a.billing_account_id = t.subject_id AND a.account_kind = t.subject_kind
    LEFT JOIN decided AS et ON a.entity_id = et.subject_id AND a.entity_kind = et.subject_kind
    LEFT JOIN member_tests AS mt ON a.entity_id = mt.entity_id
),
tested_accounts AS (
    SELECT
        *,
        cip_status NOT IN ('verified', 'exempt') AS identity_unverified,
        reseller_id IS NOT NULL AND (NOT reseller_known OR NOT COALESCE(reseller_cip_on_file, FALSE)) AS reseller_cip_missing
    FROM joined
),
levelled AS (
    SELECT
        *,
        account_reportable OR entity_reportable AS reportable,
        is_subject AND material_use AND (identity_unverified OR reseller_cip_missing) AS cip_gap
    FROM tested_accounts
),
watched AS (
    SELECT
        *,
        (is_subject OR in_subject_entity) AND NOT reportable AND (
            (is_subject AND (near_threshold OR projected_soon OR ops_met OR rate_test))
            OR (in_subject_entity AND (entity_ops_met OR entity_near OR entity_rate OR synchronized OR handover))
        ) AS watch
    FROM levelled
),
-- The days deadlines count from (knowledge; a WATCH account's projected crossing within the
-- horizon), each one's year, quarter and day of the year, and the last day of its calendar quarter
-- (for `deadline = quarterly`): the day before the year began, plus the day of the year the
-- quarter ends on (90, 181, 273, 365; one more after February in a leap year).
based AS (
    SELECT
        *,
        CAST(first_knowledge_day AS BIGINT) AS knowledge_base_day,
        CASE WHEN projected_soon THEN CAST(as_of_day + days_to_crossing AS BIGINT) END AS projected_base_day
    FROM watched
),
dated AS (
    SELECT
        *,
        DATE_PART('year', CAST(knowledge_base_day AS DATE)) AS knowledge_year,
        DATE_PART('quarter', CAST(knowledge_base_day AS DATE)) AS knowledge_quarter,
        DATE_PART('doy', CAST(knowledge_base_day AS DATE)) AS knowledge_doy,
        DATE_PART('year', CAST(projected_base_day AS DATE)) AS projected_year,
        DATE_PART('quarter', CAST(projected_base_day AS DATE)) AS projected_quarter,
        DATE_PART('doy', CAST(projected_base_day AS DATE)) AS projected_doy
    FROM based
),
quartered AS (
    SELECT
        *,
        knowledge_base_day - knowledge_doy
            + CASE knowledge_quarter WHEN 1 THEN 90 WHEN 2 THEN 181 WHEN 3 THEN 273 ELSE 365 END
            + CASE WHEN knowledge_quarter > 1 AND ((knowledge_year % 4 = 0 AND knowledge_year % 100 <> 0) OR knowledge_year % 400 = 0) THEN 1 ELSE 0 END
            AS knowledge_quarter_end_day,
        projected_base_day - projected_doy
            + CASE projected_quarter WHEN 1 THEN 90 WHEN 2 THEN 181 WHEN 3 THEN 273 ELSE 365 END
            + CASE WHEN projected_quarter > 1 AND ((projected_year % 4 = 0 AND projected_year % 100 <> 0) OR projected_year % 400 = 0) THEN 1 ELSE 0 END
            AS projected_quarter_end_day
    FROM dated
)
SELECT
    billing_account_id AS account_id,
    is_foreign,
    foreign_basis,
    cip_status,
    verification_method,
    reseller_id,
    reseller_name,
    reseller_country,
    reseller_cip_on_file,
    beneficial_owners,
    foreign_beneficial_owners,
    sub_accounts,
    accelerators,
    accelerator_hours,
    telemetry_accelerator_hours,
    est_ops,
    est_ops_low,
    upper_ops,
    peak_colocated_ops_per_s,
    peak_colocated_accelerators,
    max_interconnect_gbps,
    training_runs,
    training_confidence,
    largest_run_est_ops,
    burn_ops_per_day,
    entity_id,
    entity_size,
    entity_est_ops,
    entity_peak_ops_per_s,
    first_usage_s,
    last_usage_s,
    ops_met,
    peak_met,
    interconnect_met,
    CASE
        WHEN reportable THEN 'REPORTABLE'
        WHEN watch THEN 'WATCH'
        WHEN cip_gap THEN 'CIP_GAP'
        ELSE 'CLEAR'
    END AS level,
    NULLIF(CONCAT_WS(';',
        CASE WHEN NOT is_foreign THEN 'US_PERSON' END,
        CASE WHEN subject = 'country_group' THEN
            CASE subject_basis
                WHEN 'headquarters_in_group' THEN 'HEADQUARTERS_IN_GROUP'
                WHEN 'parent_in_group' THEN 'PARENT_IN_GROUP'
                WHEN 'headquarters_unknown' THEN 'HEADQUARTERS_UNKNOWN'
                WHEN 'not_in_group' THEN 'NOT_IN_COUNTRY_GROUP'
            END
        END,
        CASE WHEN ops_met THEN 'OPS_OVER_THRESHOLD' END,
        CASE WHEN peak_met THEN 'CLUSTER_PEAK_MET' END,
        CASE WHEN interconnect_met THEN 'INTERCONNECT_MET' END,
        CASE WHEN interconnect_unknown THEN 'INTERCONNECT_UNKNOWN' END,
        CASE WHEN ops_met AND peak_met AND interconnect_met AND NOT confident THEN 'LOW_CONFIDENCE_CLASS' END,
        CASE WHEN near_threshold AND NOT ops_met THEN 'OPS_NEAR_THRESHOLD' END,
        CASE WHEN projected_soon THEN 'PROJECTED_CROSSING' END,
        CASE WHEN rate_test THEN 'RATE_TEST' END,
        CASE WHEN entity_reportable THEN 'ENTITY_OVER_THRESHOLD' END,
        CASE WHEN entity_ops_met AND NOT entity_reportable THEN 'ENTITY_OPS_OVER_THRESHOLD' END,
        CASE WHEN split THEN 'SPLIT_ACROSS_ACCOUNTS' END,
        CASE WHEN entity_near THEN 'ENTITY_NEAR_THRESHOLD' END,
        CASE WHEN entity_rate THEN 'ENTITY_RATE_TEST' END,
        CASE WHEN synchronized THEN 'SYNCHRONIZED_RUNS' END,
        CASE WHEN handover THEN 'FLEET_HANDOVER' END,
        CASE WHEN weak_links <> '' THEN 'WEAK_LINK_REVIEW' END,
        CASE WHEN material_use AND identity_unverified THEN 'CIP_NOT_VERIFIED' END,
        CASE WHEN material_use AND reseller_cip_missing THEN 'RESELLER_CIP_MISSING' END,
        CASE WHEN foreign_basis = 'no_cip_record' THEN 'NO_CIP_RECORD' END,
        CASE WHEN foreign_basis = 'foreign_beneficial_owner' THEN 'FOREIGN_BENEFICIAL_OWNER' END,
        CASE WHEN catalog_gap_accelerator_hours > 0 THEN 'CATALOG_GAP' END,
        CASE WHEN sanctions_candidate THEN 'SANCTIONS_CANDIDATE' END,
        CASE WHEN owned_50pct_listed THEN 'OWNED_50PCT_LISTED' END
    ), '') AS reasons,
    CASE WHEN reportable THEN first_knowledge_day END AS knowledge_day,
    CASE WHEN reportable THEN screening_knowledge_day END AS first_flagged_day,
    CASE WHEN reportable THEN
        CASE deadline
            WHEN 'days' THEN first_knowledge_day + report_due_days
            WHEN 'quarterly' THEN knowledge_quarter_end_day + after_quarter_days
        END
    END AS report_due_day,
    CASE
        WHEN account_reportable THEN crossing_day
        WHEN entity_reportable THEN entity_crossing_day
    END AS crossing_day,
    CASE
        WHEN watch AND projected_soon AND peak_met AND interconnect_met AND confident
        THEN CASE deadline
            WHEN 'days' THEN as_of_day + days_to_crossing + report_due_days
            WHEN 'quarterly' THEN projected_quarter_end_day + after_quarter_days
        END
    END AS provisional_due_day,
    CASE WHEN projected_soon THEN as_of_day + days_to_crossing END AS projected_crossing_day,
    days_to_crossing
FROM quartered
