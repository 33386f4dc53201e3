#!/usr/bin/env python3
"""pollster load and pollster report merge, run as a user runs them.

Usage: load_test.py PATH/TO/pollster CASE
Each CASE is one ctest test (see CMakeLists.txt). The embedded simulator is
used where it can be; sharding and fault injection use a standalone
`pollster sim` on 127.0.0.1.
"""
import json
import math
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

P = sys.argv[1]
CASE = sys.argv[2]
TMP = tempfile.mkdtemp(prefix="pollster-load-test-")
failures = []
passes = 0


def check(name, cond, detail=""):
    global passes
    if cond:
        passes += 1
    else:
        failures.append(name)
        print(f"FAIL: {name} {detail}".rstrip(), flush=True)


def run(args, env=None, timeout=60):
    e = dict(os.environ)
    e.pop("POLLSTER_PASSWORD", None)
    if env:
        e.update(env)
    p = subprocess.run([P] + args, capture_output=True, text=True, env=e, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def path(name):
    return os.path.join(TMP, name)


def start_sim(*extra):
    """A standalone simulator; returns (process, url, cert file)."""
    cert = path("cert.pem")
    out = open(path("sim.out"), "w")
    # restore_signals=False: the simulator inherits Python's SIGPIPE=ignore.
    # `pollster sim` does not ignore SIGPIPE itself (yet), and its TLS
    # close_notify to a client that already closed would kill it mid-test.
    proc = subprocess.Popen([P, "sim", "--listen", "127.0.0.1:0", "--user", "admin", "--password", "pw",
                             "--write-cert", cert, "--auto-jobs", *extra],
                            stdout=out, stderr=open(path("sim.err"), "w"), stdin=subprocess.DEVNULL,
                            restore_signals=False)
    for _ in range(100):
        text = open(path("sim.out")).read()
        m = re.search(r"https://\S+", text)
        if m and os.path.exists(cert):
            return proc, m.group(0), cert
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the simulator did not start: " + open(path("sim.err")).read())


def stop_sim(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def pct(r):
    return [r["latency_us"][k] for k in ("p50", "p90", "p99", "p999", "max")]


def check_invariants(tag, r, allow_errors=False):
    """What must hold in any report."""
    check(f"{tag}: tool", r["tool"] == "pollster load")
    for key in ("requests", "duration_s", "requests_per_s", "completed", "latency_us", "errors",
                "histogram", "parameters", "series"):
        check(f"{tag}: has {key}", key in r)
    # Both are printed rounded (rates to 3 decimals, the duration to 6).
    check(f"{tag}: requests_per_s = requests / duration_s",
          abs(r["requests_per_s"] - r["requests"] / r["duration_s"]) <= 0.0006,
          f'{r["requests_per_s"]} vs {r["requests"] / r["duration_s"]}')
    check(f"{tag}: completions_per_s = completed / duration_s",
          abs(r["completions_per_s"] - r["completed"] / r["duration_s"]) <= 0.0006)
    p = pct(r)
    check(f"{tag}: percentiles ordered p50<=p90<=p99<=p999<=max", all(a <= b for a, b in zip(p, p[1:])), str(p))
    check(f"{tag}: latency min <= p50", r["latency_us"]["min"] <= p[0])
    w = r["waits"]
    check(f"{tag}: completed = succeeded + task_failed", r["completed"] == w["succeeded"] + w["task_failed"])
    check(f"{tag}: errors_total = sum of errors", r["errors_total"] == sum(r["errors"].values()))
    h = r["histogram"]
    check(f"{tag}: histogram count = sum of its buckets", h["count"] == sum(c for _, c in h["buckets"]))
    check(f"{tag}: histogram indices increase", all(a[0] < b[0] for a, b in zip(h["buckets"], h["buckets"][1:])))
    check(f"{tag}: histogram max = latency max", abs(h["max"] / 1000 - r["latency_us"]["max"]) < 0.002)
    s = r["series"]
    check(f"{tag}: a per-second series", len(s) >= max(1, math.floor(r["duration_s"]) - 1), str(len(s)))
    check(f"{tag}: series requests add up", sum(i["requests"] for i in s) == r["requests"],
          f'{sum(i["requests"] for i in s)} vs {r["requests"]}')
    check(f"{tag}: series completions add up", sum(i["completed"] for i in s) == r["completed"])
    check(f"{tag}: series errors add up", sum(i["errors"] for i in s) == r["errors_total"])
    check(f"{tag}: series latencies add up", sum(c for i in s for _, c in i["buckets"]) == h["count"])
    check(f"{tag}: no second's max above the run's max",
          all(i["latency_us"]["max"] <= r["latency_us"]["max"] + 0.001 for i in s))
    check(f"{tag}: series times increase", all(a["t"] < b["t"] for a, b in zip(s, s[1:])))
    check(f"{tag}: series ends at the duration", not s or abs(s[-1]["t"] - r["duration_s"]) < 0.6)
    if not allow_errors:
        check(f"{tag}: no errors", r["errors"] == {} and r["errors_total"] == 0, str(r["errors"]))
        check(f"{tag}: no operation gone, timed out or failed",
              w["gone"] == 0 and w["timed_out"] == 0 and w["failed"] == 0, str(w))


def check_table(tag, out):
    for row in ("duration", "requests", "completed", "latency", "errors", "connections"):
        check(f"{tag}: table has a '{row}' row", re.search(rf"^\s+{row}\s", out, re.M) is not None)
    for label in ("p50", "p90", "p99", "p99.9", "max"):
        check(f"{tag}: table shows {label}", f"{label} " in out)


def check_html(tag, file):
    text = open(file, encoding="utf-8").read()
    check(f"{tag}: html is a page", text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>"))
    check(f"{tag}: html has the three chart places", all(f'id="chart-{c}"' in text
                                                         for c in ("rates", "latency", "distribution")))
    check(f"{tag}: html inlines dygraphs and its data", "Dygraph" in text and 'id="report-data"' in text)
    # Self-contained: outside the inline scripts, no tag loads anything (html_test.py runs it in Chromium).
    outside = re.sub(r"<script[^>]*>.*?</script>", "", text, flags=re.S)
    refs = re.findall(r'<[^>]+\s(?:src|href)\s*=|url\(\s*["\']?(?:https?:)?//|@import', outside, re.I)
    check(f"{tag}: html loads no external resource", not refs, str(refs))
    check(f"{tag}: html has no external script or stylesheet link", not re.search(r"<script[^>]*\ssrc|<link", text))
    # Well-formed enough: every opened tag of these kinds is closed.
    for t in ("table", "pre", "style", "body", "head"):
        check(f"{tag}: html <{t}> balanced", text.count(f"<{t}") == text.count(f"</{t}>"))


# ------------------------------------------------------------------ cases

def case_default():
    """The no-argument path, shortened: embedded simulator over TLS."""
    j, h = path("run.json"), path("run.html")
    t = time.monotonic()
    rc, out, err = run(["load", "--duration", "3s", "--json", j, "--html", h])
    took = time.monotonic() - t
    check("default: exit 0", rc == 0, f"rc={rc} {err}")
    check("default: ran about 3 s", 2.9 <= took <= 10, f"{took:.1f}s")
    check_table("default", out)
    check("default: table names the embedded simulator", "embedded simulator" in out)
    lines = [l for l in err.splitlines() if "req/s" in l]
    check("default: progress once a second on stderr (plain lines off a terminal)", len(lines) >= 2, err)
    check("default: progress shows completions, p50/p99, errors, connections",
          all(w in (lines or [""])[0] for w in ("completed/s", "p50", "p99", "errors", "conns")))
    check("default: no carriage returns off a terminal", "\r" not in err)
    r = json.load(open(j))
    check_invariants("default", r)
    check("default: requests were made", r["requests"] > 100, str(r["requests"]))
    check("default: operations completed", r["completed"] > 0)
    check("default: mode closed", r["mode"] == "closed" and r["rate"] is None)
    check("default: parameters", r["parameters"]["handles"] == 1000 and r["parameters"]["connections"] == 16)
    check("default: 16 connections opened, no reconnect",
          r["connections"]["connects"] == 16 and r["connections"]["reconnects"] == 0, str(r["connections"]))
    # Outcomes are posted: one answered just before the stop is delivered just
    # after it and counts as ended, not outstanding (at most one per connection).
    check("default: handles outstanding at the end", 1000 - 16 <= r["waits"]["outstanding_at_end"] <= 1000,
          str(r["waits"]["outstanding_at_end"]))
    check_html("default", h)


def case_max_rate():
    """Jobs that are complete at once, --purge never: every poll completes one."""
    j = path("static.json")
    # Per handle: a list (fan-in auto's choice at times) would be a request
    # that completes none or many.
    rc, out, err = run(["load", "--duration", "2s", "--sim-job-duration", "0s", "--purge", "never",
                        "--handles", "64", "--connections", "4", "--threads", "2", "--fan-in", "per-handle",
                        "--json", j])
    check("max-rate: exit 0", rc == 0, err)
    r = json.load(open(j))
    check_invariants("max-rate", r)
    check("max-rate: one request per completion (no release, no running answer)",
          r["requests"] == r["completed"], f'{r["requests"]} vs {r["completed"]}')
    check("max-rate: 2 threads", r["parameters"]["threads"] == 2)
    check("max-rate: 4 connections in all", r["connections"]["connects"] == 4, str(r["connections"]))


def case_rate():
    """Open loop: a fixed timetable, latency from the schedule."""
    j = path("rate.json")
    rc, out, err = run(["load", "--duration", "2s", "--rate", "400", "--handles", "100",
                        "--sim-job-duration", "300ms", "--json", j])
    check("rate: exit 0", rc == 0, err)
    r = json.load(open(j))
    check_invariants("rate", r)
    check("rate: mode rate", r["mode"] == "rate" and r["rate"]["target_per_s"] == 400)
    check("rate: about 800 sends scheduled", 700 <= r["rate"]["scheduled"] <= 810, str(r["rate"]))
    check("rate: late <= scheduled", r["rate"]["late"] <= r["rate"]["scheduled"])
    check("rate: requests = sends + releases of completed",
          r["requests"] >= r["rate"]["scheduled"] - 20, f'{r["requests"]} vs {r["rate"]}')
    check("rate: operations completed", r["completed"] > 0)
    check("rate: table shows the open loop", "open loop" in out and "late" in out)


def case_thresholds():
    rc, out, err = run(["load", "--duration", "2s", "--max-p99", "0.000001"])
    check("max-p99: exit 1", rc == 1, f"rc={rc}")
    check("max-p99: the reason names p99", "p99" in err and "--max-p99" in err, err)
    check("max-p99: the table is still printed", "latency" in out)
    rc, out, err = run(["load", "--duration", "2s", "--max-p99", "60000", "--max-error-ratio", "0"])
    check("thresholds not crossed: exit 0", rc == 0, err)
    # Errors from a simulator answering 503 to a fifth of the requests.
    sim, url, cert = start_sim("--job-duration", "200ms", "--http-503-ratio", "0.2")
    try:
        # Per handle: releases are errors when they get a 503 but not in the
        # requests (the ratio's denominator); with lists the polls are few
        # and the releases' share, hence the ratio, grows.
        base = ["load", "--target", url, "--ca-file", cert, "--duration", "2s", "--handles", "50",
                "--connections", "4", "--backoff", "50ms:1.5:200ms", "--fan-in", "per-handle"]
        pw = {"POLLSTER_PASSWORD": "pw"}
        j = path("errors.json")
        rc, out, err = run(base + ["--max-error-ratio", "0.05", "--json", j], env=pw)
        check("max-error-ratio: exit 1", rc == 1, f"rc={rc} {err}")
        check("max-error-ratio: the reason names the ratio", "--max-error-ratio" in err and "error ratio" in err, err)
        r = json.load(open(j))
        check_invariants("503s", r, allow_errors=True)
        check("503s: counted as http_server_error", r["errors"].get("http_server_error", 0) > 0, str(r["errors"]))
        check("503s: ratio about 0.2", 0.08 < r["error_ratio"] < 0.35, str(r["error_ratio"]))
        check("503s: table lists the kind", "http_server_error" in out)
        rc, out, err = run(base + ["--max-error-ratio", "0.9"], env=pw)
        check("max-error-ratio not crossed: exit 0", rc == 0, f"rc={rc} {err}")
        # A misconfigured test stops at once instead of hammering the target.
        t = time.monotonic()
        rc, out, err = run(["load", "--target", url, "--ca-file", cert, "--duration", "20s",
                            "--json", path("401.json")],
                           env={"POLLSTER_PASSWORD": "wrong"})
        took = time.monotonic() - t
        check("wrong password: exit 1", rc == 1, f"rc={rc}")
        check("wrong password: stops early, says why",
              "stopped early" in err and "unauthorized" in err and "--user" in err, err)
        check("wrong password: well before --duration", took < 10, f"{took:.1f}s")
        r = json.load(open(path("401.json")))
        check("wrong password: the report says so",
              "unauthorized" in r["parameters"].get("stopped_early", "") and r["failed_by"].get("unauthorized", 0) >= 1,
              str(r["parameters"]))
        rc, out, err = run(["load", "--target", url, "--pin-sha256", "ab" * 32, "--duration", "20s"], env=pw)
        check("wrong pin: exit 1, stops early naming the pin",
              rc == 1 and "certificate_pin_mismatch" in err and "--pin-sha256" in err, f"rc={rc} {err}")
    finally:
        stop_sim(sim)


def case_shards():
    """Two shards against one simulator, then a merge: the sums."""
    sim, url, cert = start_sim("--job-duration", "lognormal:300ms:0.5")
    try:
        env = dict(os.environ, POLLSTER_PASSWORD="pw")
        procs = []
        for k in (0, 1):
            procs.append(subprocess.Popen(
                [P, "load", "--target", url, "--ca-file", cert, "--shard", f"{k}/2", "--duration", "3s",
                 "--handles", "200", "--connections", "8", "--backoff", "100ms:1.5:1s",
                 "--json", path(f"shard{k}.json")],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True))
        for k, p in enumerate(procs):
            out, err = p.communicate(timeout=60)
            check(f"shard {k}: exit 0", p.returncode == 0, err)
        shards = [json.load(open(path(f"shard{k}.json"))) for k in (0, 1)]
        for k, r in enumerate(shards):
            check_invariants(f"shard {k}", r)
            check(f"shard {k}: its share", r["parameters"]["shard"] == f"{k}/2" and
                  r["parameters"]["shard_handles"] == 100 and r["parameters"]["shard_connections"] == 4)
        rc, out, err = run(["report", "merge", path("shard0.json"), path("shard1.json"),
                            "--json", path("merged.json"), "--html", path("merged.html")])
        check("merge: exit 0", rc == 0, err)
        check_table("merge", out)
        check("merge: table says 2 shards merged", "2 shards merged" in out)
        m = json.load(open(path("merged.json")))
        check_invariants("merged", m)
        for key in ("requests", "completed"):
            check(f"merge: {key} is the sum", m[key] == shards[0][key] + shards[1][key])
        for key in ("succeeded", "task_failed", "gone", "timed_out", "failed", "outstanding_at_end"):
            check(f"merge: waits.{key} is the sum", m["waits"][key] == shards[0]["waits"][key] + shards[1]["waits"][key])
        check("merge: connects summed",
              m["connections"]["connects"] == sum(s["connections"]["connects"] for s in shards))
        check("merge: duration is the longest", m["duration_s"] == max(s["duration_s"] for s in shards))
        check("merge: histogram counts summed",
              m["histogram"]["count"] == sum(s["histogram"]["count"] for s in shards))
        merged_buckets = {}
        for s in shards:
            for i, c in s["histogram"]["buckets"]:
                merged_buckets[i] = merged_buckets.get(i, 0) + c
        check("merge: histogram merged bucket by bucket",
              dict((i, c) for i, c in m["histogram"]["buckets"]) == merged_buckets)
        check("merge: max is the larger max", m["histogram"]["max"] == max(s["histogram"]["max"] for s in shards))
        check("merge: p99 between the shards' (merged, not averaged)",
              min(s["latency_us"]["p99"] for s in shards) <= m["latency_us"]["p99"] <=
              max(s["latency_us"]["p99"] for s in shards))
        check("merge: shards = 2", m["shards"] == 2 and sorted(m["parameters"]["merged_shards"]) == ["0/2", "1/2"])
        check("merge: handle numbers never overlapped (no gone)", m["waits"]["gone"] == 0)
        check_html("merge", path("merged.html"))
        check("merge: one table line per shard", len(re.findall(r"^  shard [01] ", out, re.M)) == 2, out)
        check("merge: per-shard summary in the JSON",
              [(x["index"], x["requests"]) for x in m["shard_summaries"]] ==
              [(k, shards[k]["requests"]) for k in (0, 1)], m["shard_summaries"])
        # A merged report names no shard: merging it again is refused (see merge_test.py for the others).
        rc, out, err = run(["report", "merge", path("merged.json"), path("merged.json"), "--json", path("m2.json")])
        check("merge of merges: refused", rc == 2 and "names no shard" in err and not os.path.exists(path("m2.json")), err)
        rc, out, err = run(["report", "merge", path("shard0.json"), path("shard0.json")])
        check("merge: a shard given twice is refused", rc == 2 and "given twice" in err, err)
    finally:
        stop_sim(sim)


def case_usage():
    def usage(name, word, args, env=None):
        rc, out, err = run(args, env=env)
        check(f"usage {name}: exit 2", rc == 2, f"rc={rc} out={out!r} err={err!r}")
        check(f"usage {name}: one line on stderr", len(err.strip().splitlines()) == 1, repr(err))
        check(f"usage {name}: names {word!r}", word in err, repr(err))
        check(f"usage {name}: nothing on stdout", out == "", repr(out))

    usage("bad duration", "--duration", ["load", "--duration", "ten"])
    usage("zero duration", "--duration", ["load", "--duration", "0s"])
    usage("bad backoff", "multiplier", ["load", "--backoff", "1s:0.5:20s"])
    usage("backoff form", "INITIAL:MULTIPLIER:MAX", ["load", "--backoff", "1s:1.5"])
    usage("backoff max below initial", "maximum", ["load", "--backoff", "2s:1.5:1s"])
    usage("bad shard", "--shard", ["load", "--shard", "2/2"])
    usage("bad shard form", "K/N", ["load", "--shard", "one"])
    usage("zero handles", "--handles", ["load", "--handles", "0"])
    usage("too few handles for threads", "--handles", ["load", "--handles", "2", "--threads", "4"])
    usage("unknown flag", "--frobnicate", ["load", "--frobnicate"])
    usage("bad purge", "--purge", ["load", "--purge", "sometimes"])
    usage("negative rate", "--rate", ["load", "--rate", "-5"])
    usage("tls flag without target", "--target", ["load", "--insecure"])
    usage("bad sim job duration", "--sim-job-duration", ["load", "--sim-job-duration", "soon"])
    usage("no password", "POLLSTER_PASSWORD", ["load", "--target", "https://127.0.0.1:1/json-rpc/12.5"])
    usage("bad url", "json-rpc", ["load", "--target", "https://127.0.0.1:1/api"], env={"POLLSTER_PASSWORD": "x"})
    usage("plaintext", "http", ["load", "--target", "http://127.0.0.1:1/json-rpc/12.5"],
          env={"POLLSTER_PASSWORD": "x"})
    usage("unwritable json", "--json", ["load", "--json", "/nonexistent-dir/x.json"])
    usage("merge nothing", "reports", ["report", "merge"])
    usage("merge missing file", "nope.json", ["report", "merge", path("nope.json")])
    bad = path("bad.json")
    open(bad, "w").write('{"tool": "something else"}')
    usage("merge not a report", "not a pollster load report", ["report", "merge", bad])
    open(bad, "w").write('{"tool": "pollster load", ')
    usage("merge truncated", "bad.json", ["report", "merge", bad])
    usage("report without a subcommand", "merge", ["report"])


def case_interrupt():
    """Ctrl-C: the run stops, reports what it measured, and exits 130."""
    j = path("interrupted.json")
    e = dict(os.environ)
    e.pop("POLLSTER_PASSWORD", None)
    proc = subprocess.Popen([P, "load", "--duration", "60s", "--json", j],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=e)
    # Interrupt once the run is under way: its first progress line.
    t = time.monotonic()
    first = proc.stderr.readline()
    check("interrupt: a progress line before the signal", "req/s" in first, first)
    proc.send_signal(signal.SIGINT)
    try:
        out, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    took = time.monotonic() - t
    check("interrupt: exit 130", proc.returncode == 130, f"rc={proc.returncode} {err}")
    check("interrupt: stopped long before its 60 s", took < 20, f"{took:.1f}s")
    check("interrupt: says it was interrupted", "interrupted" in err, err)
    check_table("interrupt", out)
    r = json.load(open(j))
    check("interrupt: report marked interrupted", r["parameters"].get("interrupted") is True, str(r["parameters"]))
    check("interrupt: requests measured before the signal", r["requests"] > 0, str(r["requests"]))


CASES = {"default": case_default, "max_rate": case_max_rate, "rate": case_rate,
         "thresholds": case_thresholds, "shards": case_shards, "usage": case_usage,
         "interrupt": case_interrupt}

if __name__ == "__main__":
    try:
        CASES[CASE]()
    finally:
        subprocess.run(["rm", "-rf", TMP])
    print(f"{passes} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)
