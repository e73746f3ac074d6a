# The configuration of a generated benchmark input (benches/gen.py's layout), for run.sh and
# engines/spark/check.sh:  source benches/config.sh; bench_config DIR   # writes DIR/cipwatch.toml
bench_config() {
  cat > "$1/cipwatch.toml" <<TOML
profile = "nprm-2024"
[inputs]
billing = "billing"
telemetry = "telemetry.parquet"
customers = "cip/customers.csv"
beneficial_owners = "cip/beneficial_owners.csv"
access_log = "cip/access_log.csv"
resellers = "cip/resellers.csv"
[output]
dir = "out"
[provider]
legal_name = "Bench Cloud"
address = "1 Bench Way"
cip_contact = "CIP Officer"
TOML
}
