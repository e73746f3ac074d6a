"""The aggregation cipwatch's estimate rests on, in DuckDB, for the benchmark comparison: identify
accelerator rows by the catalog's instance types, then accelerator-hours and operations per account
and zone, peak concurrent accelerators per account and zone (hourly buckets), joined to customers.

    python3 benches/duckdb_agg.py DATA_DIR CATALOG_DIR [--regex]

The query is written as a skilled analyst would write it for speed. A billing export has millions of
rows but only a few distinct SKU/description texts (tens in the generated data: one per instance
type, pricing model and service), so the instance type is found once per distinct text, not once per
row: SELECT DISTINCT (SkuPriceDetails, ChargeDescription), match each pair against the catalog's
instance-type keys with one regular expression (the alternation of every key, longest first, over
the lowercased SkuPriceDetails || ' ' || ChargeDescription; its leftmost match is the key), keep the
pairs that name a catalog instance type and join them back to the rows on the two text columns. The
rows are read once for the distinct texts and once for the aggregation, each time only the columns
used.

--regex runs the earlier, naive query instead: the same regular expression applied to every row
(regexp_extract per row), which gives the same figures more slowly; kept to show both figures.
"""

import sys

import duckdb

args = [a for a in sys.argv[1:] if a != "--regex"]
per_row_regex = "--regex" in sys.argv[1:]
if len(args) != 2:
    sys.exit(__doc__)
data, catalog = args
billing = f"read_parquet('{data}/billing/*.parquet')"
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
text_key = f"regexp_extract(lower(coalesce(SkuPriceDetails, '') || ' ' || coalesce(ChargeDescription, '')), '{pattern}', 1)"

if per_row_regex:
    # Every row's texts through the regular expression.
    accel = f"""
    usage AS (
        SELECT BillingAccountId AS account, AvailabilityZone AS zone, ChargePeriodStart AS start_ts, ConsumedQuantity AS hours,
               {text_key} AS key
        FROM {billing}
        WHERE ChargeCategory = 'Usage'
    ), accel AS (
        SELECT u.*, i.accelerator, u.hours * i.per_instance AS accelerator_hours, u.hours * i.per_instance * 3600 * i.peak AS upper_ops
        FROM usage u JOIN instances i ON u.key = i.key
    )"""
else:
    # The distinct texts through the regular expression; those naming an instance type joined back
    # to the rows (IS NOT DISTINCT FROM: SkuPriceDetails is often NULL).
    con.execute(f"""
    CREATE TABLE accel_texts AS
    SELECT t.SkuPriceDetails, t.ChargeDescription, i.accelerator, i.per_instance, i.peak
    FROM (SELECT SkuPriceDetails, ChargeDescription, {text_key} AS key
          FROM (SELECT DISTINCT SkuPriceDetails, ChargeDescription FROM {billing} WHERE ChargeCategory = 'Usage')) t
    JOIN instances i ON t.key = i.key
    """)
    accel = f"""
    accel AS (
        SELECT b.BillingAccountId AS account, b.AvailabilityZone AS zone, b.ChargePeriodStart AS start_ts, t.accelerator,
               b.ConsumedQuantity * t.per_instance AS accelerator_hours, b.ConsumedQuantity * t.per_instance * 3600 * t.peak AS upper_ops
        FROM {billing} b
        JOIN accel_texts t ON b.SkuPriceDetails IS NOT DISTINCT FROM t.SkuPriceDetails
                          AND b.ChargeDescription IS NOT DISTINCT FROM t.ChargeDescription
        WHERE b.ChargeCategory = 'Usage'
    )"""

result = con.execute(f"""
WITH {accel}, per_zone AS (
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
print(f"duckdb{' (per-row regex)' if per_row_regex else ''}: {result[0]} account-zones, est_ops {result[1]:.6g}, max peak accelerators {result[2]}")
