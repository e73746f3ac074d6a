"""The aggregation cipwatch's estimate rests on, in DuckDB, for the benchmark comparison: identify
accelerator rows by the catalog's instance types, then accelerator-hours and operations per account
and zone, peak concurrent accelerators per account and zone (hourly buckets), joined to customers.

    python3 benches/duckdb_agg.py DATA_DIR CATALOG_DIR
"""

import sys

import duckdb

data, catalog = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute("SET threads TO 2")
con.execute(f"""
CREATE TABLE instances AS
SELECT lower(i.instance_type) AS key, i.accelerator, CAST(i.accelerators_per_instance AS DOUBLE) AS per_instance,
       COALESCE(CAST(a.peak_dense_bf16_tflops AS DOUBLE), CAST(a.peak_dense_fp16_tflops AS DOUBLE)) * 1e12 AS peak
FROM read_csv('{catalog}/instance-types.csv', all_varchar = true) i
JOIN read_csv('{catalog}/accelerators.csv', all_varchar = true) a USING (accelerator)
""")
pattern = "(" + "|".join(sorted((k.replace(".", "\\.") for (k,) in con.execute("SELECT key FROM instances").fetchall()), key=len, reverse=True)) + ")"
result = con.execute(f"""
WITH usage AS (
    SELECT BillingAccountId AS account, AvailabilityZone AS zone, ChargePeriodStart AS start_ts, ConsumedQuantity AS hours,
           regexp_extract(lower(coalesce(SkuPriceDetails, '') || ' ' || coalesce(ChargeDescription, '')), '{pattern}', 1) AS key
    FROM read_parquet('{data}/billing/*.parquet')
    WHERE ChargeCategory = 'Usage'
), accel AS (
    SELECT u.*, i.accelerator, u.hours * i.per_instance AS accelerator_hours, u.hours * i.per_instance * 3600 * i.peak AS upper_ops
    FROM usage u JOIN instances i ON u.key = i.key
), per_zone AS (
    SELECT account, zone, SUM(accelerator_hours) AS accelerator_hours, SUM(upper_ops) AS upper_ops, SUM(upper_ops) * 0.35 AS est_ops
    FROM accel GROUP BY account, zone
), concurrency AS (
    SELECT account, zone, date_trunc('hour', start_ts) AS hour, SUM(accelerator_hours) AS accelerators
    FROM accel GROUP BY account, zone, hour
), peaks AS (
    SELECT account, zone, MAX(accelerators) AS peak_accelerators FROM concurrency GROUP BY account, zone
)
SELECT count(*) AS rows, sum(est_ops) AS est_ops, max(peak_accelerators) AS peak
FROM per_zone z JOIN peaks p USING (account, zone)
LEFT JOIN read_csv('{data}/cip/customers.csv', all_varchar = true) c ON c.account_id = z.account
""").fetchone()
print(f"duckdb: {result[0]} account-zones, est_ops {result[1]:.4g}, max peak accelerators {result[2]}")
