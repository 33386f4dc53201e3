#!/usr/bin/env python3
"""pollster load's outputs, thresholds, flag aliases and warm-up, run as a
user runs them (the embedded simulator) and read back with real parsers:
json, csv, xml.etree and prometheus_client's OpenMetrics parser.

Usage: load_outputs_test.py PATH/TO/pollster CASE
"""
import csv
import io
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

# The harness of load_test.py (check, run, path; the same argv).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import load_test as base  # noqa: E402

P, CASE, check, run, path = base.P, base.CASE, base.check, base.run, base.path


QUICK = ["load", "-d", "2s", "--handles", "50", "-c", "2", "--sim-job-duration", "100ms",
         "--backoff", "100ms:1.5:300ms"]


def case_json_stdout():
    rc, out, err = run(QUICK + ["--json", "-"])
    check("json -: exit 0", rc == 0, err)
    r = json.loads(out)  # the whole of stdout is the report
    check("json -: a report", r["tool"] == "pollster load" and r["requests"] > 0, out[:200])
    check("json -: schema_version 1", r.get("schema_version") == 1, str(r.get("schema_version")))
    check("json -: the table went to stderr", "latency" in err and "requests" in err, err)
    check("json -: no file named -", not os.path.exists("-"))
    check("json -: command line recorded", "--json -" in r.get("command_line", ""), r.get("command_line"))
    rc, out, err = run(QUICK + ["--json", "-", "--csv", "-"])
    check("two outputs on stdout: exit 2", rc == 2 and "only one" in err, f"rc={rc} {err}")


def case_csv():
    rc, out, err = run(QUICK + ["--csv", "-", "--json", path("r.json")])
    check("csv -: exit 0", rc == 0, err)
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    r = json.load(open(path("r.json")))
    check("csv: one row per series interval", len(rows) == len(r["series"]), f"{len(rows)} vs {len(r['series'])}")
    check("csv: requests add up", sum(int(x["requests"]) for x in rows) == r["requests"])
    check("csv: columns", {"t_s", "dt_s", "warmup", "requests", "releases", "completed", "errors",
                           "p99_us"} <= set(rows[0].keys()), str(rows[0].keys()))
    check("csv: times increase", all(float(a["t_s"]) < float(b["t_s"]) for a, b in zip(rows, rows[1:])))
    rc, out, err = run(QUICK + ["--csv", path("s.csv")])
    check("csv FILE: exit 0, table on stdout", rc == 0 and "latency" in out, err)
    rows = list(csv.DictReader(open(path("s.csv"), newline="")))
    check("csv FILE: rows", len(rows) >= 2, str(rows))


def case_openmetrics():
    try:
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    except ImportError:  # an interpreter other than Debian's (pyenv): use Debian's package
        sys.path.append("/usr/lib/python3/dist-packages")
        from prometheus_client.openmetrics.parser import text_string_to_metric_families
    rc, out, err = run(QUICK + ["--openmetrics", path("m.txt"), "--json", path("r.json"),
                                "--threshold", "p99<1h"])
    check("openmetrics: exit 0", rc == 0, err)
    text = open(path("m.txt")).read()
    families = {f.name: f for f in text_string_to_metric_families(text)}  # raises on bad text
    r = json.load(open(path("r.json")))
    req = [s.value for s in families["pollster_load_requests"].samples if s.name == "pollster_load_requests_total"]
    check("openmetrics: requests match the report", req == [r["requests"]], f"{req} vs {r['requests']}")
    lat = families["pollster_load_latency_seconds"]
    check("openmetrics: latency summary with quantiles",
          lat.type == "summary" and any(s.labels.get("quantile") == "0.99" for s in lat.samples))
    eng = [s.value for s in families["pollster_load_engine_requests"].samples]
    check("openmetrics: engine requests match the report", eng == [r["engine_requests"]], f"{eng} {r['engine_requests']}")
    rpo = families["pollster_load_requests_per_operation"].samples
    check("openmetrics: requests per operation", abs(rpo[0].value - r["requests_per_op"]) < 0.001, str(rpo))
    det = {s.name: s for s in families["pollster_load_detection_delay_seconds"].samples}
    check("openmetrics: detection delay summary",
          families["pollster_load_detection_delay_seconds"].type == "summary" and
          det["pollster_load_detection_delay_seconds_count"].value == r["detection_delay_us"]["count"], str(det))
    ok = families["pollster_load_threshold_ok"].samples
    check("openmetrics: the threshold's verdict", ok and ok[0].labels["expr"] == "p99<1h" and ok[0].value == 1,
          str(ok))


def case_junit():
    rc, out, err = run(QUICK + ["--junit", path("j.xml"), "--threshold", "p99<1h", "--threshold", "max<1us",
                                "--threshold", "rate>0"])
    check("junit: exit 1 (a threshold failed)", rc == 1, f"rc={rc} {err}")
    root = ET.parse(path("j.xml")).getroot()
    cases = root.findall(".//testcase")
    check("junit: one testcase per threshold", [c.get("name") for c in cases] == ["p99<1h", "max<1us", "rate>0"],
          str([c.get("name") for c in cases]))
    failed = [c.get("name") for c in cases if c.find("failure") is not None]
    check("junit: the failed one has a failure", failed == ["max<1us"], str(failed))
    check("junit: suite counts", root.get("tests") == "3" and root.get("failures") == "1")


def case_thresholds():
    j = path("t.json")
    rc, out, err = run(QUICK + ["--threshold", "p99<1h", "--threshold", "error_ratio<=1%", "--json", j])
    check("thresholds pass: exit 0", rc == 0, f"rc={rc} {err}")
    r = json.load(open(j))
    t = r["thresholds"]
    check("thresholds in the JSON", [x["expr"] for x in t] == ["p99<1h", "error_ratio<=1%"] and
          all(x["ok"] for x in t), str(t))
    check("threshold metric and observed", t[0]["metric"] == "p99" and t[0]["observed"] > 0, str(t[0]))
    rc, out, err = run(QUICK + ["--threshold", "p50<1ns", "--json", j])
    check("threshold fails: exit 1", rc == 1, f"rc={rc}")
    check("threshold fails: stderr names it", "p50<1ns" in err and "FAILED" in err, err)
    r = json.load(open(j))
    check("failed threshold in the JSON", r["thresholds"][0]["ok"] is False, str(r["thresholds"]))
    rc, out, err = run(["load", "--threshold", "p99<250"])
    check("threshold without unit: exit 2", rc == 2 and "'p99<250'" in err and "unit" in err, err)
    rc, out, err = run(["load", "--threshold", "latency<1s"])
    check("unknown metric: exit 2", rc == 2 and "unknown metric 'latency'" in err, err)


def case_aliases():
    def usage(name, words, args, env=None):
        rc, out, err = run(args, env=env)
        check(f"{name}: exit 2", rc == 2, f"rc={rc} {err!r}")
        check(f"{name}: one line", len(err.strip().splitlines()) == 1, repr(err))
        for w in words:
            check(f"{name}: says {w!r}", w in err, repr(err))
    usage("-c as typed", ["-c", "'abc'"], ["load", "-c", "abc"])
    usage("--pool-size as typed", ["--pool-size", "'0'"], ["load", "--pool-size", "0"])
    usage("--handles abc", ["--handles", "'abc'", "whole number"], ["load", "--handles", "abc"])
    usage("-R 0.5k", ["-R", "'0.5k'"], ["load", "-R", "0.5k"])
    usage("-d junk", ["-d", "'soon'"], ["load", "-d", "soon"])
    usage("--timeout huge", ["--timeout", "too long"], ["load", "--timeout", "9" * 40 + "h"])
    usage("unknown flag suggests", ["--duraton", "did you mean --duration"], ["load", "--duraton", "2s"])
    usage("--target alias in env", ["POLLSTER_PASSWORD"], ["load"], env={"POLLSTER_ENDPOINT": "https://127.0.0.1:1/json-rpc/12.5"})
    usage("1m30s accepted, bad warmup refused", ["--warmup", "'x'"], ["load", "-d", "1m30s", "--warmup", "x"])
    rc, out, err = run(["load", "-d", "2s", "-t", "2", "-c", "2", "--handles", "20", "--timeout", "5s",
                        "--json", path("a.json")])
    check("short flags run: exit 0", rc == 0, err)
    r = json.load(open(path("a.json")))
    check("short flags reach the run", r["parameters"]["threads"] == 2 and r["parameters"]["connections"] == 2,
          str(r["parameters"]))
    rc, out, err = run(["load", "--help"])
    check("help names the aliases and env", "--target" in out and "POLLSTER_ENDPOINT" in out and "-c" in out, out)


def case_warmup():
    j = path("w.json")
    rc, out, err = run(QUICK + ["-d", "2s", "--warmup", "1s", "--json", j, "--rate", "100"])
    check("warmup: exit 0", rc == 0, err)
    r = json.load(open(j))
    check("warmup_s recorded", abs(r["warmup_s"] - 1) < 0.01, str(r.get("warmup_s")))
    measured = [i for i in r["series"] if i["t"] > r["warmup_s"] + 1e-9]
    warm = [i for i in r["series"] if i["t"] <= r["warmup_s"] + 1e-9]
    check("warmup: seconds in the series", len(warm) == 1 and len(measured) >= 1, str([i["t"] for i in r["series"]]))
    check("warmup: totals leave the warm-up out", sum(i["requests"] for i in measured) == r["requests"],
          f'{sum(i["requests"] for i in measured)} vs {r["requests"]}')
    check("warmup: duration is the measured part", 1.8 <= r["duration_s"] <= 2.6, str(r["duration_s"]))
    # Open loop: --rate is polls; the scheduled count is exact (2 s at 100/s after the warm-up).
    # The warm-up's end is a snapshot taken while sends go on: one either side.
    check("rate: scheduled after the warm-up", 199 <= r["rate"]["scheduled"] <= 201, str(r["rate"]))
    check("rate: releases apart", "releases" in r and r["releases"] >= 0, str(r.get("releases")))
    check("rate: achieved rate near 100", 90 <= r["achieved_rate"] <= 110, str(r.get("achieved_rate")))
    lines = [l for l in err.splitlines() if "req/s" in l]
    check("progress: elapsed/total", lines and lines[0].startswith("1s/3s"), str(lines))
    check("progress: warm-up marked", "warm-up" in lines[0], lines[0] if lines else "")
    check("progress: ends with the last second", lines and lines[-1].startswith("3s/3s"), str(lines[-1:]))
    rc, out, err = run(QUICK + ["--rate", "100", "--json", j])
    r = json.load(open(j))
    check("rate: scheduled exact without warm-up", rc == 0 and r["rate"]["scheduled"] == 200, str(r["rate"]))
    # A rate the target cannot reach: a warning and the report flag.
    rc, out, err = run(["load", "-d", "2s", "-c", "1", "--handles", "10", "--rate", "200000",
                        "--sim-job-duration", "100ms", "--json", j])
    r = json.load(open(j))
    check("shortfall: flagged in the report", r["rate_shortfall"] is True, str(r.get("achieved_rate")))
    check("shortfall: warned on stderr", "WARNING" in err and "fell short" in err, err)


def case_progress_tty():
    """On a 60-column terminal the progress line is redrawn in place, never wider."""
    import fcntl
    import pty
    import struct
    import termios
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
    e = {k: v for k, v in os.environ.items() if not k.startswith("POLLSTER_")}
    proc = subprocess.Popen([P] + QUICK + ["-d", "3s"], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=slave, env=e)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    proc.wait(timeout=30)
    os.close(master)
    text = b"".join(chunks).decode("utf-8", "replace")
    check("tty: exit 0", proc.returncode == 0, text)
    check("tty: redrawn in place", text.count("\r") >= 2, repr(text))
    shown = [seg.replace("\x1b[K", "").rstrip("\r\n") for seg in text.replace("\n", "\r").split("\r")]
    shown = [x for x in shown if "s/3s" in x]
    check("tty: a line per second", len(shown) >= 3, repr(shown))
    check("tty: every line fits 60 columns", all(len(x) < 60 for x in shown), repr(shown))
    check("tty: the last line is the last second", shown and shown[-1].startswith("3s/3s"), repr(shown[-1:]))


CASES = {n[5:]: f for n, f in globals().items() if n.startswith("case_")}

if __name__ == "__main__":
    try:
        CASES[CASE]()
    finally:
        subprocess.run(["rm", "-rf", base.TMP])
    print(f"{base.passes} passed, {len(base.failures)} failed")
    sys.exit(1 if base.failures else 0)
