#!/usr/bin/env python3
"""The HTML report is one self-contained file whose charts load without
script errors: checked on the file, then in headless Chromium (Debian's
`chromium`; the test is skipped, exit 77, only when it is not installed).

Usage: html_test.py PATH/TO/pollster
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from report_checks import bucket_of, check, failures, finish

P = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="pollster-html-test-")


def report():
    """One whole open-loop test (shard 0/1) with every kind of content the page draws."""
    b1ms = bucket_of(1000000)
    series = []
    for t in range(1, 11):
        n = 400 + 10 * t
        series.append({"t": float(t), "dt": 1.0, "requests": n, "completed": n - 5, "errors": 3,
                       "target_rate": 500.0, "releases": 2, "errors_by_kind": {"timeout": 2, "http_503": 1},
                       "buckets": [[b1ms, n - 10], [b1ms + 200, 10]]})
    total = sum(s["requests"] for s in series)
    return {"tool": "pollster load", "schema_version": 1, "mode": "rate", "version": "0.1.0",
            "command_line": "pollster load --rate 500 --threshold 'p99<20ms' --threshold 'error_ratio<0.1%' </script>",
            "started_at_unix": 1764600000.0, "duration_s": 10.0, "requests": total, "completed": total - 50,
            "errors": {"timeout": 20, "http_503": 10}, "warmup_s": 2.0, "rate": {"target_per_s": 500.0},
            "thresholds": [{"expr": "p99<20ms", "metric": "p99", "observed": 1.9, "ok": True},
                           {"expr": "error_ratio<0.1%", "metric": "error_ratio", "observed": 0.0067, "ok": False}],
            "parameters": {"target": "embedded simulator", "shard": "0/1", "handles": 64},
            "histogram": {"unit": "ns", "sub_bucket_bits": 7, "count": total, "min": 1000000, "max": 4000000,
                          "sum": 1000000 * total, "buckets": [[b1ms, total - 100], [b1ms + 200, 100]]},
            "series": series}


src = os.path.join(TMP, "run.json")
with open(src, "w") as f:
    json.dump(report(), f)
page = os.path.join(TMP, "report.html")
p = subprocess.run([P, "report", "merge", src, "--html", page], capture_output=True, text=True, timeout=60)
check("merge writes the page", p.returncode == 0 and os.path.exists(page), p.stderr)
html = open(page, encoding="utf-8").read()

# Self-contained: outside the inline scripts and styles, no tag loads anything.
outside = re.sub(r"<script[^>]*>.*?</script>", "", html, flags=re.S)
check("no src or href attribute", not re.search(r"<[^>]+\s(src|href)\s*=", outside, re.I),
      re.findall(r"<[^>]+\s(?:src|href)\s*=[^>]*>", outside, re.I)[:3])
check("no <link> or external script", not re.search(r"<link\b|<script[^>]*\ssrc", html, re.I))
styles = "".join(re.findall(r"<style>(.*?)</style>", html, flags=re.S))
check("no url() or @import in the styles", "url(" not in styles and "@import" not in styles)
check("no source map reference", "sourceMappingURL" not in html)
check("dygraphs inlined", "Dygraph" in html and len(html) > 100000, len(html))
check("the command line is escaped", "&lt;/script&gt;" in html)
check("the data cannot close its element", html.count("</script>") == 3, html.count("</script>"))
for text in ("FAIL: a threshold was crossed", "p99&lt;20ms", "error_ratio&lt;0.1%", "pollster 0.1.0",
             "2025-12-01", "warm-up"):
    check(f"page states {text!r}", text in html)

chromium = shutil.which("chromium")
if not chromium:
    print("SKIP: chromium is not installed (scripts/setup installs it); the static checks passed" if not failures
          else f"{len(failures)} check(s) failed")
    sys.exit(1 if failures else 77)
flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         f"--user-data-dir={os.path.join(TMP, 'profile')}", "--enable-logging=stderr", "--v=0",
         # Anything the page would fetch fails, and is logged.
         "--host-resolver-rules=MAP * ~NOTFOUND"]
c = subprocess.run([chromium, *flags, "--virtual-time-budget=5000", "--dump-dom", "file://" + page],
                   capture_output=True, text=True, timeout=120)
check("chromium ran", c.returncode == 0, c.stderr[-2000:])
check("the page's script drew all three charts", 'data-charts="ready:3"' in c.stdout,
      re.findall(r'<body[^>]*>', c.stdout)[:1])
console_errors = [l for l in c.stderr.splitlines()
                  if "CONSOLE" in l and ("Uncaught" in l or "Error" in l) or "ERR_NAME_NOT_RESOLVED" in l]
check("no script error or fetch in the console", not console_errors, console_errors[:5])
check("dygraphs made its canvases", c.stdout.count("<canvas") >= 3, c.stdout.count("<canvas"))
if os.environ.get("POLLSTER_HTML_SCREENSHOT"):
    subprocess.run([chromium, *flags, "--window-size=1100,2600", "--virtual-time-budget=5000",
                    "--screenshot=" + os.environ["POLLSTER_HTML_SCREENSHOT"], "file://" + page],
                   capture_output=True, timeout=120)
finish("html")
