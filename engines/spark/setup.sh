#!/usr/bin/env bash
# Installs what the Spark stage 1 needs into a virtual environment, once: PySpark from PyPI (pinned),
# which brings Spark itself; Java 17 must already be on the machine (`java -version`).
# Prints the environment's python on its last line. Does nothing but print it when it is there.
set -euo pipefail
venv="${CIPWATCH_SPARK_VENV:-$HOME/.cache/cipwatch/spark-venv}"
if ! "$venv/bin/python" -c 'import pyspark' 2>/dev/null; then
    command -v java >/dev/null || { echo "engines/spark/setup.sh: java not found (Spark needs Java 17)" >&2; exit 4; }
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check pyspark==3.5.5 >&2
fi
echo "$venv/bin/python"
