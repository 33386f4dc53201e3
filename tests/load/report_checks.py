"""What merge_test.py and html_test.py share: checks that collect their
failures, and the histogram's bucket index (tools/pollster/report/histogram.cpp)."""
import sys

failures = []


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print(f"FAIL: {name} {detail}".rstrip(), flush=True)


def finish(what):
    if failures:
        print(f"{len(failures)} check(s) failed in {what}", flush=True)
        sys.exit(1)
    print(f"{what}: all checks passed")


def bucket_of(ns):
    """histogram::index_of(ns): 128 linear sub-buckets per power of two."""
    if ns < 256:
        return ns
    shift = ns.bit_length() - 1 - 7
    return shift * 128 + (ns >> shift)
