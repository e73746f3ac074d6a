-- Purpose: certification list: foreign resellers (country not 'US', or unknown), their CIP status and
--          the number of customer accounts sold through each.
-- Inputs:  resellers, customers
-- Output:  cert_foreign_resellers(reseller_id, name, country, cip_on_file, cip_attested_at, accounts)
SELECT
    r.reseller_id,
    r.name,
    r.country,
    r.cip_on_file,
    r.cip_attested_at,
    COUNT(c.account_id) AS accounts
FROM resellers AS r
LEFT JOIN customers AS c ON c.reseller_id = r.reseller_id
WHERE r.country IS NULL OR r.country <> 'US'
GROUP BY r.reseller_id, r.name, r.country, r.cip_on_file, r.cip_attested_at
ORDER BY r.reseller_id
