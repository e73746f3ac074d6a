"""Seeded generator of provider-scale cipwatch inputs, for the benchmark (benches/run.sh).

    python3 benches/gen.py ROWS OUT [--shape default|gpu-heavy]

Two shapes of billing export, written under OUT as billing/part-*.parquet (FOCUS columns):

- `default`: one hourly row per resource for a month, so a resource's rows follow on; about 8% of
  rows are GPU instances, 2% of them the sustained fleets of five large training accounts;
  max(10^4, ROWS / 100) accounts.
- `gpu-heavy`, a GPU cloud's export: about 46% accelerator rows (eight instance types); accounts
  Zipf-distributed over 5,000 (account a has weight ~ 1/(a+1)); each row's hour and resource drawn
  independently (a resource has about 30 scattered hours in the month: spot capacity, preemptions,
  short jobs), so little is contiguous; `SkuPriceDetails` JSON on half the rows.

Both write the charge period as zone-aware UTC timestamps (Parquet `timestamp[us, tz=UTC]`), as FOCUS
Parquet written by pyarrow or Spark carries them. Also written: a CSV copy of the billing for sizes up
to 1M rows, telemetry for the training fleets (default) or the five largest accounts' accelerators
(gpu-heavy), and the CIP registry (customers, beneficial owners, access log, resellers) for every
account. Everything is a function of the row number (DuckDB's `hash`), so the same ROWS and shape
always give the same files.
"""

import argparse
import os

import duckdb

parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
parser.add_argument("rows", type=int)
parser.add_argument("out")
parser.add_argument("--shape", choices=["default", "gpu-heavy"], default="default")
parser.add_argument("--file-bytes", default="256MB",
                    help="size of each billing Parquet file (DuckDB's FILE_SIZE_BYTES; smaller: more files)")
args = parser.parse_args()
rows, out = args.rows, args.out
os.makedirs(f"{out}/billing", exist_ok=True)
os.makedirs(f"{out}/cip", exist_ok=True)
con = duckdb.connect()
con.execute("SET threads TO 2")
# Zone-aware timestamps in UTC: `TIMESTAMPTZ` is written to Parquet as isAdjustedToUTC.
con.execute("SET TimeZone = 'UTC'")

MONTH = "TIMESTAMPTZ '2026-10-01 00:00:00+00'"


def default_shape():
    """The contiguous shape: row i belongs to resource i // 720 (a month of hours), whose kind and
    account follow from its number; large training fleets are the resources with r % 50 == 0."""
    accounts = max(10_000, rows // 100)
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
        {MONTH} + INTERVAL (hour) HOUR AS ChargePeriodStart,
        {MONTH} + INTERVAL (hour + 1) HOUR AS ChargePeriodEnd,
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
    # Telemetry for the training fleets: one row per resource and day.
    telemetry = f"""
    SELECT printf('r-%d', res) AS resource_id, printf('%012d', 400000000000 + (hash(res) % 5)::BIGINT) AS billing_account_id,
           {MONTH} + INTERVAL (d) DAY AS period_start, {MONTH} + INTERVAL (d + 1) DAY AS period_end,
           'p5.48xlarge' AS instance_type, 8 AS accelerator_count, 0.40 + (hash(res * 31 + d) % 5) / 100.0 AS avg_utilization,
           'us-east-2b' AS availability_zone, 'us-east-2b/pg-train' AS cluster_id
    FROM range(0, ({rows} + 719) // 720, 50) t(res), range(30) u(d)
    """
    return accounts, billing, telemetry


# gpu-heavy: the accelerator instance types (catalog names, GPUs per instance, hourly price).
GPU_TYPES = [
    ("p5.48xlarge", 8, 98.32),
    ("p4d.24xlarge", 8, 32.77),
    ("p5e.48xlarge", 8, 110.0),
    ("g5.12xlarge", 4, 5.672),
    ("g6e.12xlarge", 4, 10.493),
    ("g6.xlarge", 1, 0.805),
    ("g4dn.xlarge", 1, 0.526),
    ("a3-highgpu-8g", 8, 88.49),
]
ZONES = ["us-east-1a", "us-east-1b", "us-west-2a", "eu-west-1a", "ap-northeast-1a"]


def gpu_heavy_shape():
    """The fragmented shape. Row i: account a = Zipf(5000) from hash(i); resource = one of a's
    nres(a) resources (about 30 rows each) from a second hash; hour from a third. A resource's kind,
    instance type, zone and sub-account follow from (a, resource)."""
    accounts = 5000
    sql_list = lambda xs: "[" + ", ".join(xs) + "]"
    types = sql_list(f"'{t}'" for t, _, _ in GPU_TYPES)
    counts = sql_list(str(c) for _, c, _ in GPU_TYPES)
    prices = sql_list(str(p) for _, _, p in GPU_TYPES)
    zones = sql_list(f"'{z}'" for z in ZONES)
    n = len(GPU_TYPES)
    # Resources of account a: its expected rows / 30 (Zipf weight ln((a+2)/(a+1)) / ln(5001)).
    con.execute(f"CREATE MACRO nres(a) AS greatest(4, ceil({rows} * ln((a + 2) / (a + 1)) / ln({accounts + 1}) / 30))::BIGINT")
    con.execute("CREATE MACRO rhash(a, r) AS hash(a * 1000003 + r)")
    con.execute("""CREATE MACRO kind(a, r) AS CASE WHEN rhash(a, r) % 100 < 46 THEN 'gpu'
        WHEN rhash(a, r) % 100 < 80 THEN 'cpu' WHEN rhash(a, r) % 100 < 93 THEN 'storage' ELSE 'egress' END""")
    con.execute(f"CREATE MACRO gpu_i(a, r) AS (1 + (rhash(a, r) // 101) % {n})::BIGINT")
    billing = f"""
    WITH r AS (
        SELECT i, hash(i * 3 + 1) AS h,
            least({accounts - 1}, floor(exp((hash(i * 3) % 1000000007) / 1000000007.0 * ln({accounts + 1}))) - 1)::BIGINT AS acct,
            (hash(i * 3 + 2) % 720)::BIGINT AS hour
        FROM range({rows}) t(i)
    ), k AS (
        SELECT *, (h % nres(acct))::BIGINT AS res FROM r
    ), a AS (
        SELECT *, kind(acct, res) AS kind, gpu_i(acct, res) AS g, rhash(acct, res) AS rh,
            {types}[gpu_i(acct, res)] AS gpu_type
        FROM k
    )
    SELECT
        printf('%012d', 400000000000 + acct) AS BillingAccountId,
        printf('%012d-%02d', 400000000000 + acct, rh % 3) AS SubAccountId,
        {MONTH} + INTERVAL (hour) HOUR AS ChargePeriodStart,
        {MONTH} + INTERVAL (hour + 1) HOUR AS ChargePeriodEnd,
        'Usage' AS ChargeCategory,
        CAST(NULL AS VARCHAR) AS ChargeClass,
        CASE WHEN kind = 'storage' THEN 100.0 + (h % 900) WHEN kind = 'egress' THEN 1.0 + (h % 50) ELSE 1.0 END AS ConsumedQuantity,
        CASE WHEN kind = 'storage' THEN 'GB-Mo' WHEN kind = 'egress' THEN 'GB' ELSE 'Hours' END AS ConsumedUnit,
        CASE WHEN kind = 'gpu' THEN {prices}[g] WHEN kind = 'cpu' THEN 0.192 ELSE 0.023 END AS BilledCost,
        CASE WHEN kind = 'gpu' THEN {prices}[g] WHEN kind = 'cpu' THEN 0.192 ELSE 0.023 END AS EffectiveCost,
        'USD' AS BillingCurrency,
        printf('r-%d-%d', acct, res) AS ResourceId,
        {zones}[(1 + (rh // 11) % {len(ZONES)})::BIGINT] AS AvailabilityZone,
        'us-east-1' AS RegionId,
        CASE
            WHEN kind = 'gpu' THEN printf('$%.3f per %s Linux %s Instance Hour', {prices}[g],
                CASE WHEN rh % 4 = 0 THEN 'Spot' ELSE 'On Demand' END, gpu_type)
            WHEN kind = 'cpu' THEN '$0.192 per On Demand Linux m5.xlarge Instance Hour'
            WHEN kind = 'storage' THEN '$0.023 per GB-Month of storage used'
            ELSE '$0.09 per GB - data transfer out to internet'
        END AS ChargeDescription,
        CASE WHEN h % 2 = 0 THEN CASE
            WHEN kind = 'gpu' THEN printf('{{"InstanceType":"%s","GpuCount":%d,"OperatingSystem":"Linux"}}', gpu_type, {counts}[g])
            WHEN kind = 'cpu' THEN '{{"InstanceType":"m5.xlarge","OperatingSystem":"Linux"}}'
            WHEN kind = 'storage' THEN '{{"StorageClass":"Standard","VolumeType":"gp3"}}'
            ELSE '{{"TransferType":"InterRegion Outbound"}}' END
        END AS SkuPriceDetails,
        CASE WHEN kind IN ('gpu', 'cpu') THEN 'instance' ELSE 'storage' END AS ResourceType
    FROM a
    """
    # Telemetry for the five largest accounts' accelerator resources: one row per resource and day.
    telemetry = f"""
    WITH res AS (
        SELECT a, r FROM range(5) t(a), LATERAL (SELECT range AS r FROM range(nres(a)))
        WHERE kind(a, r) = 'gpu'
    )
    SELECT printf('r-%d-%d', a, r) AS resource_id, printf('%012d', 400000000000 + a) AS billing_account_id,
           {MONTH} + INTERVAL (d) DAY AS period_start, {MONTH} + INTERVAL (d + 1) DAY AS period_end,
           {types}[gpu_i(a, r)] AS instance_type, {counts}[gpu_i(a, r)] AS accelerator_count,
           0.40 + (hash(rhash(a, r) + d) % 5) / 100.0 AS avg_utilization,
           {zones}[(1 + (rhash(a, r) // 11) % {len(ZONES)})::BIGINT] AS availability_zone,
           printf('%s/pg-%d', {zones}[(1 + (rhash(a, r) // 11) % {len(ZONES)})::BIGINT], a) AS cluster_id
    FROM res, range(30) u(d)
    """
    return accounts, billing, telemetry


accounts, billing, telemetry = default_shape() if args.shape == "default" else gpu_heavy_shape()
con.execute(f"CREATE TEMP VIEW billing AS {billing}")
con.execute(
    f"COPY (SELECT * FROM billing) TO '{out}/billing' (FORMAT PARQUET, PER_THREAD_OUTPUT FALSE, FILE_SIZE_BYTES '{args.file_bytes}', FILENAME_PATTERN 'part-{{i}}', OVERWRITE_OR_IGNORE)"
)
if rows <= 1_000_000:
    os.makedirs(f"{out}/billing-csv", exist_ok=True)
    con.execute(f"COPY (SELECT * FROM billing) TO '{out}/billing-csv/focus.csv' (HEADER, DATEFORMAT '%Y-%m-%d', TIMESTAMPFORMAT '%Y-%m-%dT%H:%M:%SZ')")
con.execute(f"COPY ({telemetry}) TO '{out}/telemetry.parquet' (FORMAT PARQUET)")

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
print(f"{rows} billing rows ({args.shape}), {accounts} accounts written to {out}")
