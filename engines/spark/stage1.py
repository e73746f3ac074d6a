#!/usr/bin/env python3
"""cipwatch's stage 1 on Apache Spark: one Spark task per billing file, each running cipwatch's own
stage 1 on its file (the command in the job that `cipwatch stage1 --dialect spark --emit DIR`
wrote), the parts gathered into one prepared dataset for `cipwatch run --prepared`.

    python3 engines/spark/stage1.py --emit JOB --billing PATH --out PREPARED [--master local[2]]
    spark-submit engines/spark/stage1.py --emit JOB --billing 's3a://lake/billing/*.parquet' --out PREPARED

This driver holds no pattern, check, mapping or catalog figure: the per-row logic is cipwatch's, so
the two engines cannot drift (the parts carry cipwatch's generator and definition fingerprints, and
stage 2 refuses parts made under other ones). Spark lists the files (a path, a folder or a glob on
any filesystem Spark reads), schedules the tasks, retries failed ones, and moves the billing bytes
to the executors for files that are not on a local path. Each executor needs the cipwatch binary
and the configuration at the paths the job names (ship them with `--files`/an image on a cluster),
and must see the --out folder's parent (local mode, or a shared mount): each task writes its part
there; only outcomes travel to the driver.

Exit codes: 0 ok; 2 usage; 3 a billing file rejected (cipwatch's message, naming the file);
4 reference data missing (no job, no Java); 1 internal error.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

BILLING_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
# As cipwatch's own folder listing (sources::files::unreadable_export): a folder's file that looks
# like data in a form cipwatch does not read is refused, not skipped with its rows.
DATA_WORDS = (".csv", ".parquet", ".tsv")
COMPRESSED = (".gz", ".gzip", ".zst", ".zstd", ".bz2", ".xz", ".zip", ".snappy", ".lz4")


def holds_data(fs, path):
    """A non-hidden folder holding, at any depth, a billing file or an unreadable export."""
    if path.getName().startswith("."):
        return False
    files = fs.listFiles(path, True)
    while files.hasNext():
        n = files.next().getPath().toString()
        if n.lower().endswith(BILLING_SUFFIXES) or unreadable_export(n):
            return True
    return False


def unreadable_export(uri):
    name = uri.rstrip("/").rsplit("/", 1)[-1].lower()
    return (not name.startswith(".") and not name.endswith(BILLING_SUFFIXES)
            and (any(w in name for w in DATA_WORDS) or name.endswith(COMPRESSED)))


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--emit", required=True, help="the job folder written by `cipwatch stage1 --dialect spark --emit`")
    p.add_argument("--billing", required=True, action="append",
                   help="billing files: a path, folder or glob Spark reads (repeatable)")
    p.add_argument("--out", required=True, help="the prepared dataset folder (replaced)")
    p.add_argument("--master", default=None, help="Spark master (default: spark-submit's, else local[*])")
    p.add_argument("--ship-bytes", action="store_true",
                   help="move every file's bytes to its executor through Spark (the default for files "
                        "not on a local path; for local paths the executor must see the same path)")
    return p.parse_args()


def fail(code, message):
    print(f"stage1.py: {message}", file=sys.stderr)
    sys.exit(code)


def list_billing(spark, specs):
    """Every billing file the specs name, through Hadoop's filesystem, as cipwatch resolves its
    own billing input: a folder gives its .csv, .csv.gz and .parquet files (not its sub-folders),
    a glob every match (each must be such a file), a path itself. Returns (uri, size) sorted by uri."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    found = {}
    for spec in specs:
        uri = spec if "://" in spec or spec.startswith("file:") else "file://" + os.path.abspath(spec)
        path = jvm.org.apache.hadoop.fs.Path(uri)
        fs = path.getFileSystem(conf)
        glob = any(c in spec for c in "*?[")
        statuses = fs.globStatus(path) or []
        for status in statuses:
            name = status.getPath().toString()
            if status.isDirectory() and not glob:
                for s in fs.listStatus(status.getPath()):
                    n = s.getPath().toString()
                    if s.isFile() and n.lower().endswith(BILLING_SUFFIXES):
                        found[n] = s.getLen()
                    elif s.isDirectory() and holds_data(fs, s.getPath()):
                        fail(3, f"{n}: a sub-folder holding data files: cipwatch reads the files of the "
                                f"folder given, not its sub-folders; name them with a glob or move them up")
                    elif s.isFile() and unreadable_export(n):
                        fail(3, f"{n}: a data file cipwatch cannot read (expected .csv, .csv.gz or "
                                f".parquet): its rows would be left out unseen; decompress it or move it "
                                f"out of the folder")
            elif status.isFile() and name.lower().endswith(BILLING_SUFFIXES):
                found[name] = status.getLen()
            else:
                fail(3, f"{name}: unknown file type (expected .csv, .csv.gz or .parquet), matched by {spec}")
    if not found:
        fail(3, f"no .csv, .csv.gz or .parquet billing file matches {', '.join(specs)}")
    return sorted(found.items())


def check_out(out):
    """The dataset folder may be replaced only if it is absent, empty, or a prepared dataset."""
    if not os.path.lexists(out):
        return
    if not os.path.isdir(out) or os.path.islink(out):
        fail(2, f"--out {out}: not a folder")
    foreign = [n for n in os.listdir(out) if n not in ("parts", "stage1.json")]
    if foreign:
        fail(2, f"--out {out}: refusing to replace a folder that is not a prepared dataset (it holds {', '.join(sorted(foreign)[:3])})")


def local_path(uri):
    """The local path of a file: URI, else None."""
    if uri.startswith("file://"):
        return uri[len("file://"):]
    if uri.startswith("file:"):
        return uri[len("file:"):]
    return None


def run_task(command, uri, threads, staging, data=None):
    """One task: cipwatch's stage 1 on one billing file, on `threads` threads (Spark's cores per
    task: Polars would otherwise take every core of the executor for each task), writing its part
    into the dataset's staging folder `staging` (cipwatch renames a part into place whole, so a
    retried or speculative task never leaves half a part). The folder must be one the executors
    see (local mode, or a shared mount on a cluster); only the outcome travels to the driver."""
    with tempfile.TemporaryDirectory(prefix="cipwatch-stage1-") as scratch:
        path, extra = local_path(uri), []
        if data is not None:
            path = os.path.join(scratch, "in", os.path.basename(uri))
            os.makedirs(os.path.dirname(path))
            with open(path, "wb") as f:
                f.write(data)
            extra = ["--source-name", uri]
        argv = [c.replace("{billing}", path).replace("{prepared}", staging) for c in command] + extra
        env = dict(os.environ, POLARS_MAX_THREADS=str(threads))
        proc = subprocess.run(argv, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            return {"uri": uri, "rc": proc.returncode, "stderr": proc.stderr.strip()[-4000:]}
        return {"uri": uri, "rc": 0, "stdout": proc.stdout.strip()}


def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def begin_dataset(out):
    """A fresh hidden staging folder beside `out` (0700), with its parts/ folder."""
    parent = os.path.dirname(out)
    os.makedirs(parent, exist_ok=True)
    staging = os.path.join(parent, f".{os.path.basename(out)}.staging-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(os.path.join(staging, "parts"), mode=0o700)
    os.chmod(staging, 0o700)
    return staging


def commit_dataset(staging, out, summary):
    """Writes stage1.json into the staging folder, flushes it, and swaps it in for `out` (the
    previous dataset moved aside and removed)."""
    write_private(os.path.join(staging, "stage1.json"), json.dumps(summary, indent=2).encode())
    fsync_dir(os.path.join(staging, "parts"))
    fsync_dir(staging)
    parent = os.path.dirname(out)
    aside = None
    if os.path.exists(out):
        aside = os.path.join(parent, f".{os.path.basename(out)}.replaced-{os.getpid()}")
        os.rename(out, aside)
    os.rename(staging, out)
    fsync_dir(parent)
    if aside:
        shutil.rmtree(aside)


def main():
    args = parse_args()
    out = os.path.abspath(args.out)
    check_out(out)
    try:
        with open(os.path.join(args.emit, "job.json")) as f:
            job = json.load(f)
    except (OSError, ValueError) as e:
        fail(4, f"no Spark job in {args.emit} ({e}): write it with `cipwatch stage1 --dialect spark --emit {args.emit}`")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        fail(4, "Java not found: Spark needs Java 17")
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("cipwatch-stage1")
    if args.master or not os.environ.get("SPARK_ENV_LOADED"):
        builder = builder.master(args.master or "local[*]")
    spark = builder.config("spark.ui.enabled", "false").getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    started = time.time()
    files = list_billing(spark, args.billing)
    command = job["command"]
    sc = spark.sparkContext
    local = [(u, n) for u, n in files if local_path(u) is not None and not args.ship_bytes]
    remote = [u for u, _ in files if local_path(u) is None or args.ship_bytes]
    threads = int(sc.getConf().get("spark.task.cpus", "1"))
    staging = begin_dataset(out)
    results = []
    if local:
        rdd = sc.parallelize([u for u, _ in local], len(local))
        results += rdd.map(lambda u: run_task(command, u, threads, staging)).collect()
    if remote:
        rdd = sc.binaryFiles(",".join(remote), minPartitions=len(remote))
        results += rdd.map(lambda kv: run_task(command, kv[0], threads, staging, kv[1])).collect()
    engine, master = f"spark {spark.version}", sc.master
    spark.stop()
    failed = [r for r in results if r["rc"] != 0]
    if failed:
        shutil.rmtree(staging, ignore_errors=True)
        first = failed[0]
        print(first["stderr"], file=sys.stderr)
        fail(first["rc"] if first["rc"] in (2, 3, 4) else 1,
             f"{len(failed)} of {len(results)} billing files failed in stage 1 (the first one's message is above)")
    summary = {
        "engine": engine,
        "master": master,
        "generator": job["generator"],
        "parameters": job["parameters"],
        "billing": args.billing,
        "files": [{"uri": u, "bytes": n} for u, n in files],
        "tasks": len(results),
        "seconds": round(time.time() - started, 1),
    }
    commit_dataset(staging, out, summary)
    print(f"stage 1 on Spark ({master}): {len(results)} billing files, {len(results)} tasks; wrote {out}")


if __name__ == "__main__":
    main()
