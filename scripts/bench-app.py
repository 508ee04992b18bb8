#!/usr/bin/env python3
"""Start-up time and memory of the Homeline app next to a bare Tauri window.

For each binary, N launches: the time from exec to the UI's "first content" report (the page
calls `ui_ready` after its first frame; the app prints the marker with HOMELINE_STARTUP_PROBE=1),
then, after the app has idled a few seconds, the PSS of the app and every process it started
(WebKitWebProcess, WebKitNetworkProcess, ...) from /proc/PID/smaps_rollup. Prints a table and
the difference. Run through scripts/bench-app.sh, which builds both and provides Xvfb + D-Bus.
"""
import os
import statistics
import subprocess
import sys
import time

MARKER = "homeline-app: first content after"


def children(pid):
    kids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        # The command name may contain spaces: the ppid is the 2nd field after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            kids.append(int(p))
    return kids


def tree(pid):
    todo, seen = [pid], []
    while todo:
        p = todo.pop()
        seen.append(p)
        todo.extend(children(p))
    return seen


def pss_kib(pid):
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def names(pids):
    out = []
    for p in pids:
        try:
            with open(f"/proc/{p}/comm") as f:
                out.append(f.read().strip())
        except OSError:
            pass
    return out


def run_once(binary, idle):
    env = dict(os.environ, HOMELINE_STARTUP_PROBE="1")
    t0 = time.monotonic()
    proc = subprocess.Popen([binary], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env, text=True)
    startup = None
    deadline = t0 + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if not line:
            break
        if MARKER in line:
            startup = (time.monotonic() - t0) * 1000
            break
    if startup is None:
        proc.kill()
        raise SystemExit(f"{binary}: no first-content report within 60 s")
    # Drain stderr in the background so the app never blocks on a full pipe while idling.
    subprocess.Popen(["cat"], stdin=proc.stderr, stdout=subprocess.DEVNULL)
    time.sleep(idle)
    pids = tree(proc.pid)
    pss = sum(pss_kib(p) for p in pids)
    procs = names(pids)
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    return startup, pss, procs


def main():
    runs = int(os.environ.get("BENCH_RUNS", "5"))
    idle = float(os.environ.get("BENCH_IDLE_SECS", "3"))
    results = {}
    for label, binary in (("bare Tauri window", sys.argv[2]), ("Homeline", sys.argv[1])):
        starts, psss = [], []
        run_once(binary, 1)  # warm the page cache so both are measured warm
        for _ in range(runs):
            s, p, procs = run_once(binary, idle)
            starts.append(s)
            psss.append(p)
        results[label] = (starts, psss, procs, os.path.getsize(binary))
    print(f"\n{'':20} {'first content (ms)':>22} {'PSS idle (MiB)':>16} {'binary (MiB)':>13}  processes")
    for label, (starts, psss, procs, size) in results.items():
        print(
            f"{label:20} {statistics.median(starts):10.0f} (min {min(starts):4.0f}) "
            f"{statistics.median(psss) / 1024:16.1f} {size / 2**20:13.1f}  {', '.join(procs)}"
        )
    (hs, hp, _, hz), (bs, bp, _, bz) = results["Homeline"], results["bare Tauri window"]
    print(
        f"{'Homeline - bare':20} {statistics.median(hs) - statistics.median(bs):+10.0f} {'':11}"
        f"{(statistics.median(hp) - statistics.median(bp)) / 1024:+16.1f} {(hz - bz) / 2**20:+13.1f}"
    )
    print(f"({runs} runs each, medians; PSS after {idle:.0f} s idle, summed over the process tree)")


if __name__ == "__main__":
    main()
