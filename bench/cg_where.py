#!/usr/bin/env python3
"""bench/cg_where.py: where a client's instructions per request go, by part.

Reads two callgrind files of the same client (a short and a long run, as
`bench/compare --callgrind --keep` leaves them: cg-pollster-C-S and
cg-pollster-C-L, with their .json request counts) and prints, for each part,
the exclusive Ir of the long run minus the short one over the difference of
their requests: the marginal cost per request, start-up excluded.

Parts are told apart by object file for the libraries, and by source file for
what is compiled into the binary (Beast, simdjson, Asio and the engine are
all inlined into it, so its object alone says little).

usage: bench/cg_where.py SHORT.cg LONG.cg SHORT.json LONG.json [--top N]
"""
import collections
import json
import re
import subprocess
import sys


def exclusive(path):
    out = subprocess.run(['callgrind_annotate', '--inclusive=no', '--auto=no', '--threshold=100', path],
                         capture_output=True, text=True, check=True).stdout
    costs = collections.Counter()
    for line in out.splitlines():
        m = re.match(r'^\s*([0-9,]+) \([ 0-9.]+%\)  (.*)$', line)
        if m and 'PROGRAM TOTALS' not in m.group(2):
            costs[m.group(2)] += int(m.group(1).replace(',', ''))
    return costs


def part(row):
    obj = re.search(r'\[([^\]]*)\]$', row)
    obj = obj.group(1) if obj else ''
    src = re.sub(r' \[[^\]]*\]$', '', row).split(':', 1)[0]
    if re.search(r'libcrypto|libssl', obj): return 'OpenSSL (libssl, libcrypto)'
    if 'libc.so' in obj: return 'libc'
    if 'libsimdjson' in obj: return "simdjson's library"
    if re.search(r'ld-linux|libstdc\+\+|boost_json', obj): return 'other libraries'
    if 'beast' in src: return "Beast's HTTP parser"
    if 'simdjson' in src or 'protocol/' in src: return 'the answer parse (ours, simdjson inlined)'
    if 'tools/pollster/' in src and 'build/tools/pollster' not in src: return 'the load tool'
    if 'boost/asio' in src: return 'Asio'
    if 'engine/' in src: return 'the engine'
    if '/c++/' in src: return 'the standard library, inlined'
    return 'the rest'


def main(argv):
    if len(argv) < 5:
        sys.exit(__doc__)
    top = int(argv[argv.index('--top') + 1]) if '--top' in argv else 3
    short, long_ = exclusive(argv[1]), exclusive(argv[2])
    requests = [json.load(open(p))['requests'] for p in argv[3:5]]
    n = requests[1] - requests[0]
    if n <= 0:
        sys.exit('bench/cg_where.py: the long run has no more requests than the short one')
    parts = collections.Counter()
    rows = collections.defaultdict(list)
    for row in set(short) | set(long_):
        per = (long_[row] - short[row]) / n
        parts[part(row)] += per
        rows[part(row)].append((per, row))
    print(f'{sum(parts.values()):.0f} Ir per request ({n} requests apart)')
    for name, per in parts.most_common():
        print(f'{per:8.0f}  {name}')
        for r_per, row in sorted(rows[name], reverse=True)[:top]:
            print(f'          {r_per:6.0f}  {row[:140]}')


if __name__ == '__main__':
    main(sys.argv)
