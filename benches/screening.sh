#!/usr/bin/env bash
# The screening benchmark: synthetic customers screened by name against synthetic list entries
# (src/transforms/screening/bench.rs, `cipwatch screening-bench`, a hidden subcommand).
#
#   bash benches/screening.sh [BINARY] [CUSTOMERS...]
#
# BINARY defaults to target/release/cipwatch (build it with `cargo build --release`); CUSTOMERS to
# 100000 1000000 10000000. Each size is screened against 20,000 entries (about 50,000 names with
# their alternative names: the size of the SDN list and the CSL together). Prints one line per size
# and the peak memory (GNU time, when installed). Figures: benches/RESULTS.md, "Screening".
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${1:-target/release/cipwatch}"
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100000 1000000 10000000)
[ -x "$bin" ] || { echo "no $bin: cargo build --release (or pass the binary)" >&2; exit 2; }
for n in "${sizes[@]}"; do
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -f "  peak RSS %M KiB, wall %e s" "$bin" -q screening-bench --customers "$n" --entries 20000
  else
    "$bin" -q screening-bench --customers "$n" --entries 20000
  fi
done
