-- Purpose: per billed resource, the accelerator utilisation measured by telemetry (weighted by
--          accelerator-hours) and the cluster (placement group or fabric) it ran in. A row without
--          avg_utilization gives placement only: its hours are left out of both sums of the
--          weighted average (counting them would read a blank as 0% busy) and out of the measured
--          hours.
-- Inputs:  telemetry (validated rows up to the as-of date)
-- Output:  resource_telemetry(resource_id, billing_account_id, measured_utilization, cluster_id,
--          telemetry_accelerator_hours)
WITH measured AS (
    SELECT
        resource_id,
        billing_account_id,
        cluster_id,
        avg_utilization,
        CASE WHEN avg_utilization IS NOT NULL THEN accelerator_count * (end_s - start_s) END
            AS measured_accelerator_s
    FROM telemetry
)
SELECT
    resource_id,
    billing_account_id,
    SUM(avg_utilization * measured_accelerator_s) / NULLIF(SUM(measured_accelerator_s), 0)
        AS measured_utilization,
    MIN(cluster_id) AS cluster_id,
    COALESCE(SUM(measured_accelerator_s), 0) / 3600.0 AS telemetry_accelerator_hours
FROM measured
GROUP BY resource_id, billing_account_id
