"""Peak resident memory of one cipwatch run per stage: runs the command with `--log-format json`,
samples the process's VmRSS every 0.1 s, and attributes each sample to the stage whose log event
came last (a stage's event is logged when it ends, so a sample belongs to the next event).

    python3 benches/rss_by_stage.py BIN run --config DIR/cipwatch.toml --allow-stale

Prints one line per stage: its end time (s from start) and the peak RSS (MB) while it ran.
"""

import json
import subprocess
import sys
import threading
import time

bin_, args = sys.argv[1], sys.argv[2:]
start = time.time()
proc = subprocess.Popen([bin_, "--log-format", "json", *args], stdout=subprocess.DEVNULL,
                        stderr=subprocess.PIPE, text=True)
samples = []


def sample():
    while proc.poll() is None:
        try:
            with open(f"/proc/{proc.pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        samples.append((time.time() - start, int(line.split()[1]) // 1024))
        except OSError:
            break
        time.sleep(0.1)


thread = threading.Thread(target=sample)
thread.start()
events = []
for line in proc.stderr:
    try:
        event = json.loads(line)
    except ValueError:
        continue
    stage = event.get("fields", event).get("stage") or event.get("fields", event).get("event")
    if stage:
        events.append((time.time() - start, stage))
proc.wait()
thread.join()
previous = 0.0
for end, stage in events:
    peak = max((rss for t, rss in samples if previous <= t <= end), default=0)
    print(f"{stage:12s} ends {end:7.1f} s  peak {peak:6d} MB")
    previous = end
print(f"{'(whole run)':12s} ends {time.time() - start:7.1f} s  peak {max((r for _, r in samples), default=0):6d} MB")
