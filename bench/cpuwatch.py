"""How busy the machine is with things that are NOT the benchmark: the figures of a
2-core machine shared with test runs and dev servers mean little without it.

    python bench/cpuwatch.py watch ROOT_PID OUT.tsv   # every second until killed
    python bench/cpuwatch.py wait-quiet ROOT_PID MAX_SECONDS PERCENT

A process belongs to the benchmark when it descends from ROOT_PID (bench/run.sh:
gunicorn, wrk, the clients) or is a PostgreSQL backend of the fp_bench database.
"other" is the CPU time of every other process, in % of the whole machine
(100% = all cores busy). Processes that start and end between two samples are
missed, so "other" is a lower bound. "steal" is the CPU time the hypervisor gave to
other virtual machines (from /proc/stat), in the same unit.
"""

from __future__ import annotations

import os
import sys
import time

HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def steal_ticks() -> int:
    """Ticks the hypervisor gave to other guests (the 8th field of /proc/stat's cpu line)."""
    with open("/proc/stat") as f:
        fields = f.readline().split()
    return int(fields[8]) if len(fields) > 8 else 0


def snapshot(root: int) -> tuple[float, dict[int, tuple[int, bool, str]]]:
    """(time, {pid: (cpu ticks, belongs to the bench, name)}); pid 0 holds the steal ticks."""
    info: dict[int, tuple[int, int, str]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace").strip()
        except OSError:
            continue
        name_end = stat.rindex(")")
        fields = stat[name_end + 2:].split()
        ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
        info[int(entry)] = (ppid, utime + stime, cmd or stat[stat.index("(") + 1:name_end])
    result = {}
    for pid, (_ppid, ticks, cmd) in info.items():
        mine, p, hops = "fp_bench" in cmd, pid, 0
        while not mine and p > 1 and hops < 64:
            if p == root:
                mine = True
                break
            p = info.get(p, (1,))[0]
            hops += 1
        result[pid] = (ticks, mine, cmd[:80])
    result[0] = (steal_ticks(), True, "steal")
    return time.monotonic(), result


def delta(a, b) -> tuple[float, float, str, float]:
    """(other %, bench %, the busiest other process, steal %) between two snapshots."""
    (t0, s0), (t1, s1) = a, b
    span = max(t1 - t0, 1e-3) * HZ * NCPU
    other = mine = 0
    top, top_ticks = "", 0
    steal = 100 * (s1[0][0] - s0[0][0]) / span
    for pid, (ticks, is_mine, cmd) in s1.items():
        if pid == 0:
            continue
        # A process that started during the interval used all its ticks in it.
        used = ticks - s0[pid][0] if pid in s0 else ticks
        if used <= 0:
            continue
        if is_mine:
            mine += used
        else:
            other += used
            if used > top_ticks:
                top, top_ticks = cmd, used
    return 100 * other / span, 100 * mine / span, top, steal


def watch(root: int, out: str) -> None:
    previous = snapshot(root)
    with open(out, "a", buffering=1) as f:
        while True:
            time.sleep(1)
            current = snapshot(root)
            other, mine, top, steal = delta(previous, current)
            f.write(f"{time.time():.3f}\t{other:.1f}\t{mine:.1f}\t{top}\t{steal:.1f}\n")
            previous = current


def wait_quiet(root: int, max_seconds: float, percent: float) -> None:
    deadline = time.monotonic() + max_seconds
    while True:
        a = snapshot(root)
        time.sleep(2)
        other, _mine, top, _steal = delta(a, snapshot(root))
        if other < percent:
            print(f"[bench] machine quiet enough: other processes use {other:.0f}% of the {NCPU} cores")
            return
        if time.monotonic() > deadline:
            print(f"[bench] WARNING: other processes still use {other:.0f}% of the {NCPU} cores "
                  f"(busiest: {top}); the figures will be lower than on a quiet machine")
            return
        print(f"[bench] waiting for a quieter machine: other processes use {other:.0f}% (busiest: {top})")


if __name__ == "__main__":
    if sys.argv[1] == "watch":
        watch(int(sys.argv[2]), sys.argv[3])
    elif sys.argv[1] == "wait-quiet":
        wait_quiet(int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]))
    else:
        raise SystemExit(__doc__)
