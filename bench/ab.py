"""Interleaved A/B rounds against two gunicorns that serve the same benchmark database
(two versions of the code), with the CPU that each side's processes spent per request.

The host's speed drifts by ±15% within minutes, more than most changes are worth:
alternating short wrk rounds between the two servers puts both under the same drift.

    # after `bash bench/run.sh` (fp_bench, the wrk bodies and wrk-auth.txt exist), a
    # worktree of the old code with the venv linked, and both servers started with the
    # bench environment (bench/inprocess.py's docstring) on their ports:
    .venv/bin/python bench/ab.py 8079 8077 same --rounds 4 --seconds 5
    .venv/bin/python bench/ab.py 8079 8077 get /responses/1/articles/ --rounds 3

Targets: `same` / `spread` (the autosave bodies of bench/results/wrk-*.tsv) or `get PATH`.
Both servers get the cookie of bench/results/wrk-auth.txt, so they must read the same
sessions. Prints, per round and side: req/s, p99, and CPU ms per request of the
gunicorn processes (by the port in their command line), PostgreSQL and Redis, read
from /proc. Not a test and not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TICK = os.sysconf("SC_CLK_TCK")


def _processes() -> list[tuple[int, str, str]]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            comm = (entry / "comm").read_text().strip()
        except OSError:
            continue
        found.append((int(entry.name), comm, cmdline))
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime, stime


def _groups(port: int) -> dict[str, list[int]]:
    groups: dict[str, list[int]] = {"gunicorn": [], "postgres": [], "redis": []}
    for pid, comm, cmdline in _processes():
        if "gunicorn" in cmdline and f"127.0.0.1:{port}" in cmdline:
            groups["gunicorn"].append(pid)
        elif comm == "postgres" or cmdline.startswith("postgres"):
            groups["postgres"].append(pid)
        elif comm == "redis-server":
            groups["redis"].append(pid)
    return groups


def _cpu(groups: dict[str, list[int]]) -> dict[str, float]:
    return {name: sum(_cpu_seconds(pid) for pid in pids) for name, pids in groups.items()}


def one_round(port: int, target: list[str], seconds: float, connections: int = 8) -> dict:
    groups = _groups(port)
    if not groups["gunicorn"]:
        raise SystemExit(f"no gunicorn with 127.0.0.1:{port} in its command line")
    if target[0] in ("same", "spread"):
        script_args = ["post", str(RESULTS / f"wrk-{target[0]}.tsv"), str(RESULTS / "wrk-auth.txt")]
    else:
        script_args = ["get", target[1], str(RESULTS / "wrk-auth.txt")]
    before = _cpu(groups)
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{round(seconds)}s", "--timeout", "5s", "-s", str(ROOT / "bench" / "wrk.lua"),
         f"http://127.0.0.1:{port}", "--", *script_args],
        capture_output=True, text=True, check=True,
    ).stdout
    after = _cpu(groups)
    result = json.loads(re.search(r"BENCH_JSON (\{.*\})", out).group(1))
    done = max(1, sum(int(v) for v in result.get("statuses", {}).values()))
    return {
        "rps": result["rps"],
        "p99": result.get("p99_ms"),
        "statuses": result.get("statuses"),
        "cpu_ms": {name: round((after[name] - before[name]) * 1000 / done, 3) for name in groups},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("port_a", type=int)
    parser.add_argument("port_b", type=int)
    parser.add_argument("target", nargs="+", help="same | spread | get PATH")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--connections", type=int, default=8, help="wrk -c (the issue's load is 8)")
    args = parser.parse_args()
    totals: dict[int, list[float]] = {args.port_a: [], args.port_b: []}
    for number in range(1, args.rounds + 1):
        # A then B in odd rounds, B then A in even ones: neither side always goes first.
        order = (args.port_a, args.port_b) if number % 2 else (args.port_b, args.port_a)
        for port in order:
            r = one_round(port, args.target, args.seconds, args.connections)
            totals[port].append(r["rps"])
            print(f"round {number} port {port}: {r['rps']:.0f} req/s, p99 {r['p99']} ms, "
                  f"cpu ms/req {r['cpu_ms']}, statuses {r['statuses']}", flush=True)
    for port, values in totals.items():
        print(f"port {port}: " + " / ".join(f"{v:.0f}" for v in values) + f" req/s (mean {sum(values) / len(values):.0f})")


if __name__ == "__main__":
    sys.exit(main())
