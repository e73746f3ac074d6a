-- Purpose: each identified accelerator usage row with its operations (upper bound at peak, and the
--          estimate at measured or assumed utilisation), its co-location group and the number of
--          accelerators it kept busy on average over its charge period.
--          Co-location group: the telemetry cluster if known, else the availability zone, else the
--          region, else one 'unplaced' group per account (which over-, never under-, states a peak).
-- Inputs:  accelerator_usage, resource_telemetry, params
--          The estimate is an interval: est_ops_low uses params.utilization_low where utilisation is
--          assumed (measured utilisation is a point), upper_ops assumes full utilisation.
-- Output:  usage_enriched(accelerator_usage columns, colocation_group, colocation_basis, utilization,
--          utilization_source, upper_ops, est_ops, est_ops_low, committed (PricingCategory Committed, a
--          commitment discount or a capacity reservation), concurrent_accelerators)
SELECT
    u.*,
    COALESCE(t.cluster_id, u.availability_zone, u.region_id, 'unplaced') AS colocation_group,
    CASE
        WHEN t.cluster_id IS NOT NULL THEN 'cluster'
        WHEN u.availability_zone IS NOT NULL THEN 'zone'
        WHEN u.region_id IS NOT NULL THEN 'region'
        ELSE 'unplaced'
    END AS colocation_basis,
    COALESCE(t.measured_utilization, p.assumed_utilization) AS utilization,
    CASE WHEN t.measured_utilization IS NOT NULL THEN 'telemetry' ELSE 'assumed' END AS utilization_source,
    u.accelerator_hours * 3600.0 * u.peak_ops_per_s AS upper_ops,
    u.accelerator_hours * 3600.0 * u.peak_ops_per_s
        * COALESCE(t.measured_utilization, p.assumed_utilization) AS est_ops,
    u.accelerator_hours * 3600.0 * u.peak_ops_per_s
        * COALESCE(t.measured_utilization, p.utilization_low) AS est_ops_low,
    COALESCE(LOWER(u.pricing_category) = 'committed', FALSE) OR COALESCE(u.reserved_capacity, FALSE) AS committed,
    u.accelerator_hours / ((u.end_s - u.start_s) / 3600.0) AS concurrent_accelerators
FROM accelerator_usage AS u
LEFT JOIN resource_telemetry AS t
    ON u.resource_id = t.resource_id AND u.billing_account_id = t.billing_account_id
CROSS JOIN params AS p
