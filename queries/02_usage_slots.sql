-- Purpose: the identified accelerator usage in slots: rows of one account, co-location group and
--          charge period (start and end) that agree on everything a later query or explanation
--          reads (day, sub-account, instance type, accelerator, catalog figures, interconnect,
--          utilisation source, commitment) add up into one slot, and no later result changes: the
--          co-location sweep sums accelerators per instant, runs sum their rows, daily and account
--          totals are sums. On a GPU cloud's fragmented export many resources run the same hour in
--          one zone, so slots are several times fewer than rows; the per-row operations are
--          computed first, per resource (telemetry utilisation is a resource's), then summed.
--          Co-location group: the telemetry cluster if known, else the availability zone, else the
--          region, else one 'unplaced' group per account (which over-, never under-, states a peak).
-- Inputs:  accelerator_usage, resource_telemetry, params
--          The estimate is an interval: est_ops_low uses params.utilization_low where utilisation is
--          assumed (measured utilisation is a point), upper_ops assumes full utilisation.
-- Output:  usage_slots(billing_account_id, colocation_group, colocation_basis, start_s, end_s, day,
--          sub_account_id, instance_type, accelerator, peak_ops_per_s, peak_precision_used,
--          interconnect_gbps, utilization_source, committed (PricingCategory Committed, a commitment
--          discount or a capacity reservation), first_row_id (the slot's first usage row, which orders
--          slots of one instant), merged_rows (usage rows summed), source_rows (billing rows summed),
--          accelerator_hours, upper_ops, est_ops, est_ops_low, concurrent_accelerators (accelerators
--          kept busy on average over the charge period), concurrent_ops_per_s (the same at peak op/s),
--          accelerators (the rows' accelerators per instance, summed: over merged_rows, their mean))
-- Partition: accelerator_usage.day
--          A slot lies within one UTC day (day is in its key; telemetry is per resource, whatever
--          the day), so the query runs on parts of the usage holding whole days and stacks them.
WITH enriched AS (
    SELECT
        u.*,
        COALESCE(t.cluster_id, u.availability_zone, u.region_id, 'unplaced') AS colocation_group,
        CASE
            WHEN t.cluster_id IS NOT NULL THEN 'cluster'
            WHEN u.availability_zone IS NOT NULL THEN 'zone'
            WHEN u.region_id IS NOT NULL THEN 'region'
            ELSE 'unplaced'
        END AS colocation_basis,
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
)
SELECT
    billing_account_id, colocation_group, colocation_basis, start_s, end_s, day, sub_account_id,
    instance_type, accelerator, peak_ops_per_s, peak_precision_used, interconnect_gbps,
    utilization_source, committed,
    MIN(row_id) AS first_row_id,
    COUNT(*) AS merged_rows,
    SUM(source_rows) AS source_rows,
    SUM(accelerator_hours) AS accelerator_hours,
    SUM(upper_ops) AS upper_ops,
    SUM(est_ops) AS est_ops,
    SUM(est_ops_low) AS est_ops_low,
    SUM(concurrent_accelerators) AS concurrent_accelerators,
    SUM(concurrent_accelerators * peak_ops_per_s) AS concurrent_ops_per_s,
    SUM(accelerators) AS accelerators
FROM enriched
GROUP BY billing_account_id, colocation_group, colocation_basis, start_s, end_s, day, sub_account_id,
    instance_type, accelerator, peak_ops_per_s, peak_precision_used, interconnect_gbps,
    utilization_source, committed
