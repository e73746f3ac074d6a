"""Seeded generator of provider-scale cipwatch inputs, for the benchmark (benches/run.sh).

Writes, under OUT: billing/part-*.parquet (FOCUS columns; one hourly row per resource; about 8% of
rows are GPU instances, 2% of them the sustained fleets of five large training accounts), a CSV copy
of the billing for sizes up to 1M rows, telemetry for the training fleets, and the CIP registry
(customers, beneficial owners, access log, resellers) for every account. Everything is a function
of the row number (DuckDB's hash), so the same SIZE always gives the same files.

    python3 benches/gen.py ROWS OUT
"""

import os
import sys

import duckdb

rows = int(sys.argv[1])
out = sys.argv[2]
accounts = max(10_000, rows // 100)
os.makedirs(f"{out}/billing", exist_ok=True)
os.makedirs(f"{out}/cip", exist_ok=True)
con = duckdb.connect()
con.execute("SET threads TO 2")

# The billing: row i belongs to resource i // 720 (a month of hours), whose kind and account follow
# from its number; large training fleets are the resources with r % 50 == 0 (2%).
billing = f"""
WITH r AS (
    SELECT i, i // 720 AS res, i % 720 AS hour FROM range({rows}) t(i)
), k AS (
    SELECT *,
        CASE WHEN res % 50 = 0 THEN 'train'
             WHEN res % 100 < 8 THEN 'gpu'
             WHEN res % 100 < 60 THEN 'cpu'
             WHEN res % 100 < 85 THEN 'storage'
             ELSE 'egress' END AS kind,
        hash(res) AS h
    FROM r
), a AS (
    SELECT *,
        CASE WHEN kind = 'train' THEN (h % 5)::BIGINT ELSE 5 + (h % {accounts - 5})::BIGINT END AS acct,
        ['p4d.24xlarge', 'g5.12xlarge', 'g6.xlarge', 'p5.48xlarge', 'g6e.12xlarge', 'a3-highgpu-8g'][(1 + (h // 7) % 6)::BIGINT] AS gpu_type,
        ['us-east-1a', 'us-east-1b', 'us-west-2a', 'eu-west-1a', 'ap-northeast-1a'][(1 + (h // 11) % 5)::BIGINT] AS zone
    FROM k
)
SELECT
    printf('%012d', 400000000000 + acct) AS BillingAccountId,
    printf('%012d-%02d', 400000000000 + acct, h % 3) AS SubAccountId,
    TIMESTAMP '2026-10-01' + INTERVAL (hour) HOUR AS ChargePeriodStart,
    TIMESTAMP '2026-10-01' + INTERVAL (hour + 1) HOUR AS ChargePeriodEnd,
    'Usage' AS ChargeCategory,
    CAST(NULL AS VARCHAR) AS ChargeClass,
    CASE WHEN kind = 'storage' THEN 100.0 + (h % 900) WHEN kind = 'egress' THEN 1.0 + (h % 50) ELSE 1.0 END AS ConsumedQuantity,
    CASE WHEN kind = 'storage' THEN 'GB-Mo' WHEN kind = 'egress' THEN 'GB' ELSE 'Hours' END AS ConsumedUnit,
    CASE WHEN kind IN ('gpu', 'train') THEN 32.77 WHEN kind = 'cpu' THEN 0.192 ELSE 0.023 END AS BilledCost,
    CASE WHEN kind IN ('gpu', 'train') THEN 32.77 WHEN kind = 'cpu' THEN 0.192 ELSE 0.023 END AS EffectiveCost,
    'USD' AS BillingCurrency,
    printf('r-%d', res) AS ResourceId,
    CASE WHEN kind = 'train' THEN 'us-east-2b' ELSE zone END AS AvailabilityZone,
    'us-east-1' AS RegionId,
    CASE
        WHEN kind = 'train' THEN '$98.320 per On Demand Linux p5.48xlarge Instance Hour'
        WHEN kind = 'gpu' THEN printf('$%.3f per On Demand Linux %s Instance Hour', 10.0, gpu_type)
        WHEN kind = 'cpu' THEN '$0.192 per On Demand Linux m5.xlarge Instance Hour'
        WHEN kind = 'storage' THEN '$0.023 per GB-Month of storage used'
        ELSE '$0.09 per GB - data transfer out to internet'
    END AS ChargeDescription,
    CASE WHEN kind = 'train' THEN '{{"InstanceType":"p5.48xlarge","GpuCount":8}}' END AS SkuPriceDetails,
    CASE WHEN kind IN ('gpu', 'train', 'cpu') THEN 'instance' ELSE 'storage' END AS ResourceType
FROM a
"""
parts = max(1, rows // 10_000_000)
con.execute(f"CREATE TEMP VIEW billing AS {billing}")
con.execute(
    f"COPY (SELECT * FROM billing) TO '{out}/billing' (FORMAT PARQUET, PER_THREAD_OUTPUT FALSE, FILE_SIZE_BYTES '256MB', FILENAME_PATTERN 'part-{{i}}', OVERWRITE_OR_IGNORE)"
)
if rows <= 1_000_000:
    os.makedirs(f"{out}/billing-csv", exist_ok=True)
    con.execute(f"COPY (SELECT * FROM billing) TO '{out}/billing-csv/focus.csv' (HEADER, DATEFORMAT '%Y-%m-%d', TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ')")

# Telemetry for the training fleets: one row per resource and day.
con.execute(f"""
COPY (
    SELECT printf('r-%d', res) AS resource_id, printf('%012d', 400000000000 + (hash(res) % 5)::BIGINT) AS billing_account_id,
           TIMESTAMP '2026-10-01' + INTERVAL (d) DAY AS period_start, TIMESTAMP '2026-10-01' + INTERVAL (d + 1) DAY AS period_end,
           'p5.48xlarge' AS instance_type, 8 AS accelerator_count, 0.40 + (hash(res * 31 + d) % 5) / 100.0 AS avg_utilization,
           'us-east-2b' AS availability_zone, 'us-east-2b/pg-train' AS cluster_id
    FROM range(0, ({rows} + 719) // 720, 50) t(res), range(30) u(d)
) TO '{out}/telemetry.parquet' (FORMAT PARQUET)
""")

# The CIP registry, one customer per account.
con.execute(f"""
COPY (
    SELECT printf('%012d', 400000000000 + a) AS account_id, printf('Customer %d', a) AS legal_name,
           CASE WHEN a % 10 = 0 THEN 'individual' ELSE 'entity' END AS customer_type,
           ['US', 'SG', 'DE', 'GB', 'JP', 'CN', 'AE'][1 + a % 7] AS country,
           printf('%d Example Street', a) AS address, printf('ops%d@example.com', a) AS email, '+1 555 0100' AS phone,
           'card' AS payment_method, printf('4%015d', a) AS payment_identifier, printf('Customer %d', a) AS payment_source,
           printf('ID-%08d', a) AS national_id,
           CASE WHEN a % 7 = 0 THEN 'us' ELSE 'foreign' END AS us_person,
           CASE WHEN a % 13 = 0 THEN 'pending' ELSE 'verified' END AS verification_status,
           'documentary' AS verification_method, '2026-09-01T00:00:00Z' AS verified_at, '2026-08-30T00:00:00Z' AS opened_at,
           '' AS closed_at, '' AS reseller_id
    FROM range({accounts}) t(a)
) TO '{out}/cip/customers.csv' (HEADER)
""")
con.execute(f"""
COPY (SELECT printf('%012d', 400000000000 + a) AS account_id, printf('Owner %d', a) AS name, 'SG' AS country,
             60 AS ownership_pct, 'true' AS substantial_control, 'verified' AS verification_status
      FROM range(0, {accounts}, 10) t(a)) TO '{out}/cip/beneficial_owners.csv' (HEADER)
""")
con.execute(f"""
COPY (SELECT printf('%012d', 400000000000 + a) AS account_id, printf('10.%d.%d.%d', a // 65536 % 256, a // 256 % 256, a % 256) AS ip_address,
             '2026-10-30T09:00:00Z' AS accessed_at, 'admin' AS action
      FROM range({accounts}) t(a)) TO '{out}/cip/access_log.csv' (HEADER)
""")
with open(f"{out}/cip/resellers.csv", "w") as f:
    f.write("reseller_id,name,country,cip_on_file,cip_attested_at\nRS-1,Bench Reseller,NL,true,2026-01-01T00:00:00Z\n")
print(f"{rows} billing rows, {accounts} accounts written to {out}")
