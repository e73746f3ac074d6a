#!/usr/bin/env bash
# The equality check of the two engines (CI runs it after the tests): stage 1 on Spark (local mode)
# then stage 2 from its prepared dataset must give byte-identical flags.csv, training_runs.csv and
# entities.csv, and the same quarantine counts, as the single-machine run. On data-samples/ and on
# a generated 1M-row benchmark input split into several Parquet files (one Spark task each).
#
#   bash engines/spark/check.sh [BIN]     # BIN: the cipwatch binary (default: the debug build's)
#
# Installs PySpark (engines/spark/setup.sh) and DuckDB for the generator into the same virtual
# environment. Exits non-zero on any difference.
set -euo pipefail
cd "$(dirname "$0")/../.."
source benches/config.sh
bin=${1:-${CARGO_TARGET_DIR:-target}/debug/cipwatch}
[ -x "$bin" ] || cargo build
bin=$(realpath "$bin")
py=$(bash engines/spark/setup.sh)
"$py" -c 'import duckdb' 2>/dev/null || "$(dirname "$py")/pip" install --quiet --disable-pip-version-check duckdb==1.4.1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Counts of quarantined rows per input and rule, from a run's manifest.
quarantine_counts() {
  "$py" -c 'import json,sys; m=json.load(open(sys.argv[1])); print(json.dumps({k: v["rows"] for k, v in m["inputs"].items()}, sort_keys=True))' "$1"
}

check() { # name, config, billing glob, driver options...
  local name=$1 config=$2 billing=$3 t0 t1 t2; shift 3
  local single="$work/$name/single" spark="$work/$name/spark"
  t0=$(date +%s)
  "$bin" -q run --config "$config" --out "$single" >/dev/null
  t1=$(date +%s)
  "$bin" -q stage1 --dialect spark --config "$config" --emit "$work/$name/job" >/dev/null
  "$py" engines/spark/stage1.py --emit "$work/$name/job" --billing "$billing" \
    --out "$work/$name/prepared" --master 'local[2]' "$@" 2>"$work/$name/spark.log" >/dev/null \
    || { cat "$work/$name/spark.log" >&2; exit 1; }
  "$bin" -q run --config "$config" --prepared "$work/$name/prepared" --out "$spark" >/dev/null
  t2=$(date +%s)
  local a b
  a=$(ls -d "$single"/20*/ | head -1) b=$(ls -d "$spark"/20*/ | head -1)
  for table in flags.csv training_runs.csv entities.csv; do
    cmp "$a/$table" "$b/$table" || { echo "$name: $table differs between the engines" >&2; exit 1; }
  done
  local qa qb
  qa=$(quarantine_counts "$a/manifest.json") qb=$(quarantine_counts "$b/manifest.json")
  [ -n "$qa" ] && [ "$qa" = "$qb" ] \
    || { echo "$name: quarantine counts differ between the engines: $qa / $qb" >&2; exit 1; }
  echo "$name: flags, training runs and entities byte-identical, quarantine counts equal" \
    "($(ls "$work/$name/prepared/parts" | wc -l) Spark tasks; single machine $((t1 - t0)) s, Spark stage 1 + stage 2 $((t2 - t1)) s)"
}

check samples data-samples/cipwatch.toml 'data-samples/billing/*.csv'
# The same, each file's bytes moved to its task through Spark (as for files on object storage).
check samples-shipped data-samples/cipwatch.toml 'data-samples/billing/*.csv' --ship-bytes

bench="$work/bench"
"$py" benches/gen.py 1000000 "$bench" --file-bytes 256KB >/dev/null
bench_config "$bench"
check bench-1M "$bench/cipwatch.toml" "$bench/billing"

# The driver refuses what it must not replace or read: --out naming a file or a folder of other
# files (exit 2, nothing touched), a glob matching a folder (exit 3, as cipwatch).
"$bin" -q stage1 --dialect spark --config data-samples/cipwatch.toml --emit "$work/job" >/dev/null
mkdir -p "$work/notes" "$work/billing/sub" && echo keep > "$work/notes/notes.txt" && echo x > "$work/afile"
cp data-samples/billing/focus-2026-10.csv "$work/billing/"
expect_exit() { # code, driver arguments...
  local code=$1 rc=0; shift
  "$py" engines/spark/stage1.py --emit "$work/job" --master 'local[1]' "$@" >/dev/null 2>&1 || rc=$?
  [ "$rc" = "$code" ] || { echo "stage1.py $*: exit $rc, expected $code" >&2; exit 1; }
}
expect_exit 2 --billing "$work/billing" --out "$work/afile"
expect_exit 2 --billing "$work/billing" --out "$work/notes"
[ "$(cat "$work/notes/notes.txt")" = keep ] && [ "$(cat "$work/afile")" = x ]
expect_exit 3 --billing "$work/billing/*" --out "$work/p-glob"
mkdir -p "$work/zst" && cp data-samples/billing/focus-2026-10.csv "$work/zst/" && echo x > "$work/zst/focus-2026-11.csv.zst"
expect_exit 3 --billing "$work/zst" --out "$work/p-zst"
rm "$work/zst/focus-2026-11.csv.zst" && mkdir -p "$work/zst/2026-11" && cp data-samples/billing/focus-2026-11.csv "$work/zst/2026-11/"
expect_exit 3 --billing "$work/zst" --out "$work/p-sub"
echo "driver refusals: --out a file or a foreign folder (exit 2), a glob matching a folder, a folder holding a .csv.zst or a sub-folder of billing files (exit 3)"
