-- Purpose: per billed resource, the accelerator utilisation measured by telemetry (weighted by
--          accelerator-hours) and the cluster (placement group or fabric) it ran in.
-- Inputs:  telemetry (validated rows up to the as-of date)
-- Output:  resource_telemetry(resource_id, billing_account_id, measured_utilization, cluster_id,
--          telemetry_accelerator_hours)
SELECT
    resource_id,
    billing_account_id,
    SUM(avg_utilization * accelerator_count * (end_s - start_s))
        / NULLIF(SUM(accelerator_count * (end_s - start_s)), 0) AS measured_utilization,
    MIN(cluster_id) AS cluster_id,
    SUM(accelerator_count * (end_s - start_s)) / 3600.0 AS telemetry_accelerator_hours
FROM telemetry
GROUP BY resource_id, billing_account_id
