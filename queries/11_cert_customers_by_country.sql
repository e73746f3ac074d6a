-- Purpose: certification metric: the number of customers by country (ISO code, 'unknown' where the
--          record has none), and how many of them are foreign under the rule.
-- Inputs:  customers, foreign_status
-- Output:  cert_customers_by_country(country, customers, foreign_customers), largest first
SELECT
    COALESCE(c.country, 'unknown') AS country,
    COUNT(*) AS customers,
    SUM(CASE WHEN f.is_foreign THEN 1 ELSE 0 END) AS foreign_customers
FROM customers AS c
INNER JOIN foreign_status AS f ON c.account_id = f.account_id
GROUP BY COALESCE(c.country, 'unknown')
ORDER BY customers DESC, country
