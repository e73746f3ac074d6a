-- Purpose: certification metric: the number of foreign beneficial owners (country not 'US', or
--          unknown) by country.
-- Inputs:  beneficial_owners
-- Output:  cert_foreign_owners_by_country(country, foreign_beneficial_owners), largest first
SELECT
    COALESCE(country, 'unknown') AS country,
    COUNT(*) AS foreign_beneficial_owners
FROM beneficial_owners
WHERE country IS NULL OR country <> 'US'
GROUP BY COALESCE(country, 'unknown')
ORDER BY foreign_beneficial_owners DESC, country
