#!/usr/bin/env bash
# The benchmark: cipwatch against DuckDB on the same generated provider-scale inputs.
#
#   bash benches/run.sh SIZE [REPEATS] [SHAPE]   # SIZE: 1M, 10M or 100M billing rows (or a number);
#                                                # REPEATS: 3; SHAPE: default or gpu-heavy (both if not given)
#
# Needs: cargo build --release (or BIN=path/to/cipwatch); python3 -m pip install duckdb (used only
# here). Data goes to ${BENCH_DATA:-/tmp/cipwatch-bench}/SHAPE/SIZE and is generated once (seeded, so
# always the same; see benches/gen.py for the shapes).
# Prints, per tool, the median wall time, user+sys CPU and peak RSS (/usr/bin/time -v) and the
# ratio cipwatch/DuckDB. cipwatch runs the whole pipeline (all queries, documents, publishing);
# DuckDB runs only the equivalent aggregation (benches/duckdb_agg.py).
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/config.sh
size=${1:?SIZE: 1M, 10M, 100M or a row count}
repeats=${2:-3}
if [ -z "${3:-}" ]; then
  for shape in default gpu-heavy; do bash "$0" "$size" "$repeats" "$shape"; done
  exit 0
fi
shape=$3
case "$size" in *M) rows=$(( ${size%M} * 1000000 ));; *) rows=$size;; esac
data=${BENCH_DATA:-/tmp/cipwatch-bench}/$shape/$size
bin=${BIN:-target/release/cipwatch}
[ -x "$bin" ] || cargo build --release
[ -d "$data/billing" ] || python3 benches/gen.py "$rows" "$data" --shape "$shape"
echo "shape $shape, $size billing rows, $bin"
bench_config "$data"

measure() { # label, command...: prints "wall user+sys rss_kb" of one run
  local label=$1; shift
  local log; log=$(mktemp)
  /usr/bin/time -v "$@" >"$log.out" 2>"$log"
  local wall user sys rss
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log" | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }')
  user=$(awk -F': ' '/User time/ {print $2}' "$log")
  sys=$(awk -F': ' '/System time/ {print $2}' "$log")
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$log")
  echo "$label $wall $(echo "$user + $sys" | bc) $rss"
  rm -f "$log" "$log.out"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

results=$(mktemp)
for _ in $(seq "$repeats"); do
  rm -rf "$data/out"
  measure cipwatch "$bin" -q run --config "$data/cipwatch.toml" --allow-stale >>"$results"
  measure duckdb python3 benches/duckdb_agg.py "$data" src/config/catalog >>"$results"
done
printf '%-8s %8s %12s %12s %10s\n' tool rows wall_s cpu_s rss_mb
for tool in cipwatch duckdb; do
  wall=$(awk -v t=$tool '$1==t {print $2}' "$results" | median)
  cpu=$(awk -v t=$tool '$1==t {print $3}' "$results" | median)
  rss=$(awk -v t=$tool '$1==t {print $4}' "$results" | median)
  printf '%-8s %8s %12s %12s %10d\n' "$tool" "$size" "$wall" "$cpu" $(( rss / 1024 ))
done
c=$(awk '$1=="cipwatch" {print $2}' "$results" | median)
d=$(awk '$1=="duckdb" {print $2}' "$results" | median)
echo "ratio cipwatch/duckdb (median wall): $(echo "scale=2; $c / $d" | bc)"
rm -f "$results"

# No regression in outputs: the same inputs through Polars' in-memory engine must give the same
# flags, runs and entities as the streaming run above (CIPWATCH_ENGINE is a diagnostic switch).
# Up to 10M rows: the in-memory engine holds the whole billing pass in memory (12 GB at 10M);
# CHECK_ENGINES=0 skips this check.
[ "$rows" -le 10000000 ] && [ "${CHECK_ENGINES:-1}" = 1 ] || exit 0
rm -rf "$data/out-in-memory"
CIPWATCH_ENGINE=in-memory "$bin" -q run --config "$data/cipwatch.toml" --allow-stale --out "$data/out-in-memory" >/dev/null
streamed=$(ls -d "$data"/out/20*/ | head -1)
in_memory=$(ls -d "$data"/out-in-memory/20*/ | head -1)
for table in flags.csv training_runs.csv entities.csv; do
  if cmp -s "$streamed/$table" "$in_memory/$table"; then
    echo "$table: identical with CIPWATCH_ENGINE=in-memory"
  else
    echo "$table: DIFFERS with CIPWATCH_ENGINE=in-memory" >&2
    exit 1
  fi
done
