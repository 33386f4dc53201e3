#!/usr/bin/env python3
"""pollster report merge refuses sets that are not one whole test, run as a
process on reports written here (no load run needed: each refusal is about the
set, not the figures).

Usage: merge_test.py PATH/TO/pollster CASE
"""
import json
import os
import subprocess
import sys
import tempfile

from report_checks import bucket_of, check, finish

P = sys.argv[1]
CASE = sys.argv[2]
TMP = tempfile.mkdtemp(prefix="pollster-merge-test-")


def report(k, n, requests=100, **params):
    """A minimal valid shard report: `requests` answers of 1 ms (bucket of 1,000,000 ns)."""
    p = {"target": "https://127.0.0.1:1/json-rpc/12.5", "handles": 64, "connections": 8, "threads": 1,
         "duration_s": 10, "rate": 0, "shard": f"{k}/{n}", "purge": "after"}
    p.update(params)
    bucket = bucket_of(1000000)
    return {"tool": "pollster load", "schema_version": 1, "mode": "closed", "started_at_unix": 1700000000.0,
            "duration_s": 10.0, "requests": requests, "completed": requests, "errors": {"timeout": k},
            "waits": {"succeeded": requests}, "parameters": p,
            "histogram": {"unit": "ns", "sub_bucket_bits": 7, "count": requests, "min": 1000000,
                          "max": 1000000, "sum": 1000000 * requests, "buckets": [[bucket, requests]]},
            "series": [{"t": 1.0, "dt": 1.0, "requests": requests, "buckets": [[bucket, requests]]}]}


def write(name, doc):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        json.dump(doc, f)
    return path


def merge(*args):
    p = subprocess.run([P, "report", "merge", *args], capture_output=True, text=True, timeout=60,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def refused(name, args, *words):
    out_json = os.path.join(TMP, name.replace(" ", "_") + ".out.json")
    rc, out, err = merge(*args, "--json", out_json)
    check(f"{name}: exit 2", rc == 2, f"rc={rc} err={err!r}")
    check(f"{name}: one line on stderr", len(err.strip().splitlines()) == 1, repr(err))
    for w in words:
        check(f"{name}: names {w!r}", w in err, repr(err))
    check(f"{name}: nothing on stdout", out == "", repr(out))
    check(f"{name}: no output file", not os.path.exists(out_json))


def case_refusals():
    s0, s1, s2 = (write(f"s{k}.json", report(k, 3)) for k in range(3))
    refused("shard twice", [s0, s1, s2, s0], "shard 0/3 is given twice", s0)
    refused("shard twice under two names", [s0, s1, s2, write("copy.json", report(0, 3))],
            "given twice", s0, "copy.json")
    refused("missing shard", [s0, s2], "shard 1/3 missing", s0, s2, "--allow-partial")
    refused("two missing", [s1], "shards 0/3, 2/3 missing", s1)
    for key, other in (("target", "https://10.0.0.1/json-rpc/12.5"), ("duration_s", 20), ("handles", 32),
                       ("rate", 500), ("purge", "never")):
        f = write(f"other_{key}.json", report(1, 3, **{key: other}))
        refused(f"different {key}", [s0, f, s2], "different tests", key, s0, f)
    f = write("four.json", report(1, 4))
    refused("different shard count", [s0, f, s2], "different tests", "one of 3 shards", s0, f)
    rate = report(1, 3)
    rate["mode"] = "rate"
    f = write("rate.json", rate)
    refused("different mode", [s0, f, s2], "closed loop and --rate", s0, f)
    unsharded = report(0, 1)
    del unsharded["parameters"]["shard"]
    f = write("unsharded.json", unsharded)
    refused("no shard", [f], "names no shard", f)
    bad = write("bad.json", dict(report(1, 3), requests=-5))
    refused("bad report", [s0, bad, s2], "bad.json", "'requests' is not a count")


def case_whole():
    files = [write(f"w{k}.json", report(k, 3, requests=100 * (k + 1))) for k in range(3)]
    out_json = os.path.join(TMP, "merged.json")
    out_html = os.path.join(TMP, "merged.html")
    rc, out, err = merge(files[2], files[0], files[1], "--json", out_json, "--html", out_html)
    check("whole: exit 0", rc == 0, err)
    check("whole: 3 shards merged", "3 shards merged" in out, out)
    m = json.load(open(out_json))
    check("whole: requests summed", m["requests"] == 600, m["requests"])
    check("whole: per-shard summary in shard order",
          [(s["index"], s["file"], s["requests"], s["errors"]) for s in m["shard_summaries"]] ==
          [(k, files[k], 100 * (k + 1), k) for k in range(3)], m["shard_summaries"])
    check("whole: per-shard p99", all(990000 <= s["p99_ns"] <= 1010000 for s in m["shard_summaries"]))
    for k in range(3):
        check(f"whole: table line for shard {k}", f"  shard {k} " in out and files[k] in out, out)
    html = open(out_html).read()
    check("whole: shards in the HTML", "<h2>Shards</h2>" in html and all(f in html for f in files))
    check("whole: no temporary file left", sorted(os.listdir(TMP)) == sorted(
        [os.path.basename(f) for f in files] + ["merged.json", "merged.html"]), os.listdir(TMP))
    # An unwritable output: named, exit non-zero, nothing half-written.
    rc, out, err = merge(*files, "--json", "/nonexistent-dir/m.json")
    check("unwritable: exit 1", rc == 1 and "/nonexistent-dir/m.json" in err, err)


def case_partial():
    s0, s2 = (write(f"p{k}.json", report(k, 3)) for k in (0, 2))
    out_json = os.path.join(TMP, "partial.json")
    rc, out, err = merge(s0, s2, "--allow-partial", "--json", out_json)
    check("partial: exit 0 with --allow-partial", rc == 0, err)
    m = json.load(open(out_json))
    check("partial: the two shards' sum", m["requests"] == 200 and [s["index"] for s in m["shard_summaries"]] == [0, 2])
    check("partial: still refuses a duplicate", merge(s0, s0, "--allow-partial")[0] == 2)


{"refusals": case_refusals, "whole": case_whole, "partial": case_partial}[CASE]()
finish(CASE)
