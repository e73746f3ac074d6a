-- Purpose: the certification's reconciliation, one row. Unverified foreign accounts are counted
--          from three disjoint sources: open foreign customers on file whose identity is not
--          verified or exempt (as 13_cert_unverified_foreign); billing accounts with accelerator use
--          and no CIP record; and quarantined customer rows (their account has no usable record;
--          a duplicated key quarantines every copy). Then each difference from the same run's
--          CIP_GAP count: unverified accounts with no accelerator use, with use below
--          material_accelerator_hours (CLEAR), or at a more severe level (REPORTABLE, WATCH); and
--          CIP_GAP accounts whose identity is verified (sold through a reseller without a CIP on
--          file, or closed).
-- Inputs:  customers, foreign_status, flags, quarantined_customer_accounts
-- Output:  cert_reconciliation(customers_on_file, unverified_on_file, unverified_no_cip_record,
--          unverified_quarantined, unverified_total, cip_gap, unverified_no_usage,
--          unverified_below_material, unverified_more_severe, cip_gap_not_unverified)
WITH quarantined AS (
    SELECT DISTINCT account_id FROM quarantined_customer_accounts
),
unverified AS (
    SELECT c.account_id, 'on_file' AS source
    FROM customers AS c
    INNER JOIN foreign_status AS f ON c.account_id = f.account_id
    WHERE f.is_foreign
        AND COALESCE(c.verification_status, 'unknown') NOT IN ('verified', 'exempt')
        AND c.closed_at IS NULL
    UNION ALL
    SELECT q.account_id, 'quarantined' AS source
    FROM quarantined AS q
    UNION ALL
    SELECT g.account_id, 'no_cip_record' AS source
    FROM flags AS g
    LEFT JOIN quarantined AS q ON g.account_id = q.account_id
    WHERE g.foreign_basis = 'no_cip_record' AND q.account_id IS NULL
),
classified AS (
    SELECT u.account_id, u.source, g.level
    FROM unverified AS u
    LEFT JOIN flags AS g ON u.account_id = g.account_id
),
counts AS (
    SELECT
        COUNT(*) AS unverified_total,
        SUM(CASE WHEN source = 'on_file' THEN 1 ELSE 0 END) AS unverified_on_file,
        SUM(CASE WHEN source = 'no_cip_record' THEN 1 ELSE 0 END) AS unverified_no_cip_record,
        SUM(CASE WHEN source = 'quarantined' THEN 1 ELSE 0 END) AS unverified_quarantined,
        SUM(CASE WHEN level IS NULL THEN 1 ELSE 0 END) AS unverified_no_usage,
        SUM(CASE WHEN level = 'CLEAR' THEN 1 ELSE 0 END) AS unverified_below_material,
        SUM(CASE WHEN level IN ('REPORTABLE', 'WATCH') THEN 1 ELSE 0 END) AS unverified_more_severe
    FROM classified
),
gaps AS (
    SELECT
        COUNT(*) AS cip_gap,
        SUM(CASE WHEN u.account_id IS NULL THEN 1 ELSE 0 END) AS cip_gap_not_unverified
    FROM flags AS g
    LEFT JOIN unverified AS u ON g.account_id = u.account_id
    WHERE g.level = 'CIP_GAP'
),
on_file AS (
    SELECT COUNT(*) AS customers_on_file FROM customers
)
SELECT
    o.customers_on_file,
    c.unverified_on_file,
    c.unverified_no_cip_record,
    c.unverified_quarantined,
    c.unverified_total,
    g.cip_gap,
    c.unverified_no_usage,
    c.unverified_below_material,
    c.unverified_more_severe,
    g.cip_gap_not_unverified
FROM on_file AS o
CROSS JOIN counts AS c
CROSS JOIN gaps AS g
