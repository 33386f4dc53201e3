#!/usr/bin/env python3
"""pollster load's fan-in flags and gentleness figures (issue 11), run as a
user runs them: the real binary against the real embedded simulator (and a
standalone `pollster sim` for several --target), loopback only, each run a
few seconds.

Usage: fan_in_test.py PATH/TO/pollster CASE
"""
import json
import os
import re
import sys

# The harness of load_test.py (check, run, path, the standalone simulator; the same argv).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load_test as base  # noqa: E402

P, CASE, check, run, path = base.P, base.CASE, base.check, base.run, base.path


# Short jobs, so that each run ends (every job delivered) within seconds.
JOBS = ["--sim-job-duration", "uniform:200ms:1500ms", "--duration", "30s", "--no-progress"]


def check_exactly_once(tag, r, jobs):
    """Every job delivered once, and its detection delay measured."""
    check(f"{tag}: exit with every job delivered", r["completed"] == jobs, f'{r["completed"]} of {jobs}')
    check(f"{tag}: jobs block", r.get("jobs") == {"created": jobs, "undelivered": 0, "duplicates": 0},
          str(r.get("jobs")))
    w = r["waits"]
    check(f"{tag}: nothing gone, failed, timed out or left running",
          w["gone"] == 0 and w["failed"] == 0 and w["timed_out"] == 0 and w["outstanding_at_end"] == 0, str(w))
    d = r.get("detection_delay_us")
    check(f"{tag}: detection delay present", isinstance(d, dict), str(d))
    if isinstance(d, dict):
        check(f"{tag}: one detection delay per delivered job", d["count"] == jobs, str(d["count"]))
        check(f"{tag}: detection delays non-negative", d["min"] >= 0 and d["p50"] >= 0 and d["mean"] >= 0, str(d))
        check(f"{tag}: detection p50 <= p99 <= max", d["p50"] <= d["p99"] <= d["max"] + 0.001, str(d))
        check(f"{tag}: detection buckets add up", sum(c for _, c in d["buckets"]) == d["count"])
    check(f"{tag}: nothing delivered before its job completed", r.get("detected_early") == 0)
    check(f"{tag}: requests_per_op = engine_requests / completed",
          abs(r["requests_per_op"] - r["engine_requests"] / max(1, r["completed"])) < 0.0001,
          f'{r["requests_per_op"]} {r["engine_requests"]} {r["completed"]}')
    # Every job needs at least one request that answered it complete.
    check(f"{tag}: at least one request per job", r["engine_requests"] >= jobs, str(r["engine_requests"]))


def case_usage():
    """Bad values are refused before anything starts, naming the flag."""
    for args, flag, value in ((["load", "--fan-in", "lists"], "--fan-in", "lists"),
                              (["load", "--clusters", "0"], "--clusters", "0"),
                              (["load", "--clusters", "many"], "--clusters", "many"),
                              (["load", "--jobs", "-3"], "--jobs", "-3"),
                              (["load", "--other-results", "lots"], "--other-results", "lots")):
        rc, out, err = run(args)
        check(f"usage {args}: exit 2", rc == 2, f"rc={rc} {err}")
        check(f"usage {args}: names {flag} and quotes '{value}'", flag in err and f"'{value}'" in err, err)
        check(f"usage {args}: refused before any run (no report table)", "requests" not in out, out)
    rc, out, err = run(["load", "--fan-in="])  # CLI11 refuses the empty value itself
    check("load --fan-in=: exit 2 naming the flag", rc == 2 and "--fan-in" in err, err)
    rc, out, err = run(["load", "--fan-in", "per_handle"])
    check("load --fan-in: says what it wants", "auto, list or per-handle" in err, err)
    rc, out, err = run(["load"], env={"POLLSTER_FAN_IN": "fast"})
    check("load POLLSTER_FAN_IN: refused, naming the flag", rc == 2 and "--fan-in" in err and "'fast'" in err, err)
    rc, out, err = run(["load", "--jobs", "10", "--handles", "5"])
    check("load --jobs with --handles: refused", rc == 2 and "--handles" in err and "--jobs" in err, err)
    rc, out, err = run(["load", "--threshold", "detection_delay_p99<2s", "--target",
                        "https://127.0.0.1:1/json-rpc/12.5"], env={"POLLSTER_PASSWORD": "x"})
    check("detection threshold against a --target: refused", rc == 2 and "embedded simulator" in err, err)
    rc, out, err = run(["load", "--clusters", "2", "--target", "https://127.0.0.1:1/json-rpc/12.5"],
                       env={"POLLSTER_PASSWORD": "x"})
    check("--clusters 2 with one --target: refused", rc == 2 and "one --target per cluster" in err, err)
    # watch: the same flag, the same message, before any connection.
    for value in ("lists", "PER-HANDLE", ""):
        rc, out, err = run(["watch", "--fan-in", value, "--endpoint", "https://127.0.0.1:1/json-rpc/12.5",
                            "--user", "admin", "5"], env={"POLLSTER_PASSWORD": "x"})
        check(f"watch --fan-in '{value}': exit 2", rc == 2, f"rc={rc} {err}")
        check(f"watch --fan-in '{value}': names the flag and the value",
              f"--fan-in wants auto, list or per-handle, not '{value}'" in err, err)
    rc, out, err = run(["load", "--help"])
    check("load --help documents the new flags",
          all(f in out for f in ("--fan-in", "--clusters", "--jobs", "--other-results")), out)
    rc, out, err = run(["watch", "--help"])
    check("watch --help documents --fan-in", "--fan-in" in out, out)


def case_modes():
    """Each mode runs against the embedded simulator, every job exactly once."""
    for mode in ("auto", "list", "per-handle"):
        j = path(f"{mode}.json")
        rc, out, err = run(["load", "--jobs", "60", "--other-results", "500", "--fan-in", mode, "--json", j] + JOBS)
        check(f"{mode}: exit 0", rc == 0, f"rc={rc} {err}")
        if rc != 0:
            continue
        r = json.load(open(j))
        check(f"{mode}: recorded", r["parameters"].get("fan_in") == mode, str(r["parameters"]))
        check(f"{mode}: other results recorded", r["parameters"].get("other_results") == 500)
        check_exactly_once(mode, r, 60)
        for row in ("requests/op", "detection", "jobs"):
            check(f"{mode}: table has a '{row}' row", re.search(rf"^\s+{re.escape(row)}\s", out, re.M) is not None, out)
    # The fixed 2 s loop: requests per job follow the spacing (one poll per
    # 2 s of each job's life, then the release), never closer.
    j = path("loop.json")
    rc, out, err = run(["load", "--jobs", "40", "--fan-in", "per-handle", "--backoff", "2s", "--json", j,
                        "--sim-job-duration", "3s", "--duration", "30s", "--no-progress"])
    check("2s loop: exit 0", rc == 0, f"rc={rc} {err}")
    if rc == 0:
        r = json.load(open(j))
        check_exactly_once("2s loop", r, 40)
        # Polls at 0, 2, 4 s (complete at 3 s) and one release: 4 per job
        # (3 when the first poll left over a second late). The default
        # backoff (1 s x 1.5^n) would poll at 0, 1, 2.5, 4.75 s: 5 per job.
        check("2s loop: 3 to 4 requests per 3 s job, never closer than 2 s",
              3 <= r["requests_per_op"] <= 4, str(r["requests_per_op"]))


def case_clusters():
    """--clusters 3: three simulators, three rows, every job once."""
    j, h = path("c3.json"), path("c3.html")
    rc, out, err = run(["load", "--clusters", "3", "--jobs", "90", "--json", j, "--html", h] + JOBS)
    check("clusters: exit 0", rc == 0, f"rc={rc} {err}")
    if rc != 0:
        return
    r = json.load(open(j))
    check_exactly_once("clusters", r, 90)
    c = r["clusters"]
    check("clusters: three entries", len(c) == 3, str(c))
    check("clusters: indices 0..2", [x["index"] for x in c] == [0, 1, 2])
    check("clusters: each its own listener", len({x["target"] for x in c}) == 3, str([x["target"] for x in c]))
    check("clusters: handles spread evenly", all(x["completed"] == 30 for x in c), str([x["completed"] for x in c]))
    check("clusters: requests add up to the engine's", sum(x["requests"] for x in c) == r["engine_requests"])
    check("clusters: completions add up", sum(x["completed"] for x in c) == r["completed"])
    check("clusters: detection counts add up",
          sum(x["detection_delay_us"]["count"] for x in c) == r["detection_delay_us"]["count"])
    for x in c:
        check(f"clusters: cluster {x['index']} detection non-negative", x["detection_delay_us"]["min"] >= 0)
        check(f"clusters: cluster {x['index']} requests_per_op",
              abs(x["requests_per_op"] - x["requests"] / max(1, x["completed"])) < 0.0001)
    rows = re.findall(r"^\s+(\d+)\s+\d[\d,]*\s+\d[\d,]*\s+(\d[\d,]*)\s", out, re.M)
    check("clusters: the table has three cluster rows", [i for i, _ in rows] == ["0", "1", "2"], out)
    check("clusters: table names the clusters", "3 clusters" in out, out)
    html = open(h, encoding="utf-8").read()
    check("clusters: html has the clusters table and the detection delay",
          "<h2>Clusters</h2>" in html and "detection delay p99" in html)
    # report merge reads it back: the figures survive a round trip.
    rc, out2, err = run(["report", "merge", "--json", path("m.json"), j])
    check("clusters: report merge reads it", rc == 0 and os.path.exists(path("m.json")), f"rc={rc} {err}")
    if rc == 0 and os.path.exists(path("m.json")):
        m = json.load(open(path("m.json")))
        check("clusters: merged report keeps the detection delay count",
              (m.get("detection_delay_us") or {}).get("count") == 90, str(m.get("detection_delay_us"))[:200])
        check("clusters: merged report keeps the clusters",
              [x["completed"] for x in m.get("clusters", [])] == [30, 30, 30], str(m.get("clusters"))[:300])
        check("clusters: merged report keeps the jobs", m.get("jobs") == r["jobs"], str(m.get("jobs")))


def case_thresholds():
    """The new metrics in --threshold: verdicts, exit 1 on a failed one."""
    j = path("t.json")
    rc, out, err = run(["load", "--jobs", "30", "--json", j, "--threshold", "detection_delay_p99<1us",
                        "--threshold", "requests_per_op<1000", "--threshold", "detection_delay_mean<1h"] + JOBS)
    check("thresholds: exit 1 (one fails)", rc == 1, f"rc={rc} {err}")
    check("thresholds: says which", "detection_delay_p99" in err and "FAILED" in err, err)
    check("thresholds: only that one", "requests_per_op" not in err and "detection_delay_mean" not in err, err)
    if os.path.exists(j):
        r = json.load(open(j))
        t = {x["metric"]: x for x in r["thresholds"]}
        check("thresholds: three verdicts", len(t) == 3, str(r["thresholds"]))
        check("thresholds: detection p99 observed in ms", not t["detection_delay_p99"]["ok"] and
              abs(t["detection_delay_p99"]["observed"] - r["detection_delay_us"]["p99"] / 1000) < 0.01,
              str(t["detection_delay_p99"]))
        check("thresholds: requests_per_op observed", t["requests_per_op"]["ok"] and
              abs(t["requests_per_op"]["observed"] - r["requests_per_op"]) < 0.001)


def case_targets():
    """Several --target: one cluster each (here twice the same standalone
    simulator), handles spread over them; no detection delay (it does not
    say when jobs completed)."""
    sim, url, cert = base.start_sim("--job-duration", "300ms")
    try:
        j = path("targets.json")
        rc, o, err = run(["load", "--target", url, "--target", url, "--ca-file", cert, "--jobs", "20",
                          "--duration", "20s", "--no-progress", "--json", j], env={"POLLSTER_PASSWORD": "pw"})
        check("targets: exit 0", rc == 0, f"rc={rc} {err}")
        if rc != 0:
            return
        r = json.load(open(j))
        check("targets: two clusters", len(r["clusters"]) == 2 and r["parameters"]["clusters"] == 2, str(r["clusters"]))
        check("targets: spread", [x["completed"] for x in r["clusters"]] == [10, 10], str(r["clusters"]))
        check("targets: every job once", r["jobs"] == {"created": 20, "undelivered": 0, "duplicates": 0}, str(r["jobs"]))
        check("targets: no detection delay without the embedded simulator", r["detection_delay_us"] is None)
    finally:
        base.stop_sim(sim)


def case_watch():
    """pollster watch --fan-in: in each mode (and from POLLSTER_FAN_IN), every
    handle gets exactly one line, its GetAsyncResult answer saying complete."""
    sim, url, cert = base.start_sim("--job-duration", "400ms")
    try:
        handles = [str(h) for h in range(501, 511)]
        for mode, env in (("auto", {}), ("list", {}), ("per-handle", {}), (None, {"POLLSTER_FAN_IN": "list"})):
            flags = ["--fan-in", mode] if mode else []
            tag = f"watch {mode or 'POLLSTER_FAN_IN=list'}"
            rc, out, err = run(["watch", "--endpoint", url, "--user", "admin", "--ca-file", cert, "--timeout", "20s"]
                               + flags + handles, env={"POLLSTER_PASSWORD": "pw", **env})
            check(f"{tag}: exit 0", rc == 0, f"rc={rc} {err}")
            lines = [json.loads(l) for l in out.splitlines() if l.strip()]
            got = sorted(str(l.get("asyncHandle")) for l in lines)
            check(f"{tag}: one line per handle", got == sorted(handles), str(got))
            check(f"{tag}: every one complete, with its result", all(l.get("status") == "complete" and
                                                                     "result" in l for l in lines),
                  out[:300])
            handles = [str(int(h) + 100) for h in handles]  # fresh jobs for the next mode
    finally:
        base.stop_sim(sim)


CASES = {"usage": case_usage, "watch": case_watch, "modes": case_modes, "clusters": case_clusters,
         "thresholds": case_thresholds, "targets": case_targets}

if __name__ == "__main__":
    if CASE not in CASES:
        raise SystemExit(f"unknown case {CASE}; one of {', '.join(CASES)}")
    try:
        CASES[CASE]()
    finally:
        base.subprocess.run(["rm", "-rf", base.TMP])
    print(f"{CASE}: {base.passes} checks passed, {len(base.failures)} failed")
    sys.exit(1 if base.failures else 0)
