-- Purpose: how many accelerators (and op/s at peak) each account had running at once in each
--          co-location group: a sweep over start (+) and end (-) events, netted per instant so that
--          one resource ending as another starts does not count twice.
-- Inputs:  usage_slots
-- Output:  colocation_sweep(billing_account_id, colocation_group, ts, running_accelerators,
--          running_ops_per_s) - the running totals from each event instant on
-- Partition: usage_slots.billing_account_id
--          A sweep is one account's (per co-location group), so the query runs on parts holding
--          whole accounts and stacks them.
WITH events AS (
    SELECT billing_account_id, colocation_group, start_s AS ts,
           concurrent_accelerators AS d_accelerators,
           concurrent_ops_per_s AS d_ops_per_s
    FROM usage_slots
    UNION ALL
    SELECT billing_account_id, colocation_group, end_s AS ts,
           -concurrent_accelerators AS d_accelerators,
           -concurrent_ops_per_s AS d_ops_per_s
    FROM usage_slots
),
net AS (
    SELECT billing_account_id, colocation_group, ts,
           SUM(d_accelerators) AS d_accelerators, SUM(d_ops_per_s) AS d_ops_per_s
    FROM events
    GROUP BY billing_account_id, colocation_group, ts
)
SELECT
    billing_account_id,
    colocation_group,
    ts,
    SUM(d_accelerators) OVER (PARTITION BY billing_account_id, colocation_group ORDER BY ts) AS running_accelerators,
    SUM(d_ops_per_s) OVER (PARTITION BY billing_account_id, colocation_group ORDER BY ts) AS running_ops_per_s
FROM net
