-- Purpose: each CIP customer's foreign determination, verification and reseller. The rule treats a
--          customer as foreign until shown otherwise: an account is US only if the customer is a US
--          person and every beneficial owner is in the US (an owner with no country, or an owner
--          record quarantined for bad data, counts as foreign).
--          Who the rule's tests apply to is the profile's params.subject, decided here only:
--            foreign        is_foreign (above)
--            country_group  the customer's headquarters_country or ultimate_parent_country is one
--                           of params.subject_country_codes (the profile's country groups and
--                           countries); no headquarters on file counts as in (the worst case, as
--                           an unknown nationality counts as foreign); no parent on file means none
--            all            every customer
-- Inputs:  customers, beneficial_owners, quarantined_owner_accounts, resellers, params
-- Output:  foreign_status(account_id, us_person, country, headquarters_country,
--          ultimate_parent_country, verification_status, verification_method,
--          verified_at, reseller_id, reseller_name, reseller_country, reseller_cip_on_file,
--          reseller_known, beneficial_owners, foreign_beneficial_owners, foreign_basis, is_foreign,
--          subject_basis, is_subject)
--          is_foreign is the rule's foreign test and is_subject the profile's subject test, each
--          defined here only: every later query reads these columns (an account with no CIP record
--          at all is foreign and a subject too, where a query meets one). subject_basis is
--          foreign_basis under `foreign`, else headquarters_in_group, parent_in_group,
--          headquarters_unknown, not_in_group (country_group) or all_customers (all).
WITH owners AS (
    SELECT
        account_id,
        COUNT(*) AS beneficial_owners,
        SUM(CASE WHEN country IS NULL OR country <> 'US' THEN 1 ELSE 0 END) AS foreign_beneficial_owners
    FROM beneficial_owners
    GROUP BY account_id
),
doubtful AS (
    SELECT DISTINCT account_id FROM quarantined_owner_accounts
),
determined AS (
    SELECT
        c.account_id,
        c.us_person,
        c.country,
        c.headquarters_country,
        c.ultimate_parent_country,
        c.verification_status,
        c.verification_method,
        c.verified_at,
        c.reseller_id,
        r.name AS reseller_name,
        r.country AS reseller_country,
        r.cip_on_file AS reseller_cip_on_file,
        r.reseller_id IS NOT NULL AS reseller_known,
        COALESCE(o.beneficial_owners, 0) AS beneficial_owners,
        COALESCE(o.foreign_beneficial_owners, 0) AS foreign_beneficial_owners,
        CASE
            WHEN c.us_person = 'foreign' THEN 'customer_foreign'
            WHEN c.us_person <> 'us' THEN 'customer_status_unknown'
            WHEN q.account_id IS NOT NULL THEN 'owner_record_quarantined'
            WHEN COALESCE(o.foreign_beneficial_owners, 0) > 0 THEN 'foreign_beneficial_owner'
        END AS foreign_reason
    FROM customers AS c
    LEFT JOIN owners AS o ON c.account_id = o.account_id
    LEFT JOIN resellers AS r ON c.reseller_id = r.reseller_id
    LEFT JOIN doubtful AS q ON c.account_id = q.account_id
),
based AS (
    SELECT
        d.*,
        COALESCE(d.foreign_reason, 'us_customer_and_owners') AS foreign_basis,
        d.foreign_reason IS NOT NULL AS is_foreign,
        CASE
            WHEN d.headquarters_country IS NULL THEN 'headquarters_unknown'
            WHEN STRPOS(CONCAT(',', p.subject_country_codes, ','), CONCAT(',', d.headquarters_country, ',')) > 0
                THEN 'headquarters_in_group'
            WHEN d.ultimate_parent_country IS NOT NULL
                AND STRPOS(CONCAT(',', p.subject_country_codes, ','), CONCAT(',', d.ultimate_parent_country, ',')) > 0
                THEN 'parent_in_group'
            ELSE 'not_in_group'
        END AS group_basis,
        p.subject
    FROM determined AS d
    CROSS JOIN params AS p
)
SELECT
    d.account_id,
    d.us_person,
    d.country,
    d.verification_status,
    d.verification_method,
    d.verified_at,
    d.reseller_id,
    d.reseller_name,
    d.reseller_country,
    d.reseller_cip_on_file,
    d.reseller_known,
    d.beneficial_owners,
    d.foreign_beneficial_owners,
    d.foreign_basis,
    d.is_foreign,
    d.headquarters_country,
    d.ultimate_parent_country,
    CASE d.subject
        WHEN 'foreign' THEN d.foreign_basis
        WHEN 'country_group' THEN d.group_basis
        ELSE 'all_customers'
    END AS subject_basis,
    CASE d.subject
        WHEN 'foreign' THEN d.is_foreign
        WHEN 'country_group' THEN d.group_basis <> 'not_in_group'
        ELSE TRUE
    END AS is_subject
FROM based AS d
