#!/usr/bin/env python3
"""What users write instead of pollster: a straightforward asyncio + aiohttp
poller. One task per handle, one pooled ClientSession (TCPConnector limit =
connections), certificate verification off (a self-signed loopback server).
Each task POSTs GetAsyncResult for its handle, parses the JSON answer and
checks its status, and polls again at once, for DURATION seconds. Prints the
request rate as one JSON line:

  {"requests": N, "duration_s": D, "requests_per_s": R, "errors": E}

usage: python_baseline.py --url https://127.0.0.1:PORT/json-rpc/12.5
           [--connections 16] [--handles 64] [--duration 5] [--user admin]
       (password: POLLSTER_PASSWORD, default "admin")
"""
import argparse
import asyncio
import json
import os
import ssl
import sys
import time

import aiohttp


async def poll_handle(session, url, auth, handle, stop_at, counts):
    body = {"method": "GetAsyncResult", "params": {"asyncHandle": handle, "keepResult": True}, "id": handle}
    while time.monotonic() < stop_at:
        try:
            async with session.post(url, json=body, auth=auth) as resp:
                answer = await resp.json(content_type=None)
            if resp.status == 200 and answer.get("result", {}).get("status") in ("running", "complete"):
                counts["requests"] += 1
            else:
                counts["errors"] += 1
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
            counts["errors"] += 1


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--user", default="admin")
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--handles", type=int, default=0, help="tasks (default: 4 x connections)")
    ap.add_argument("--duration", type=float, default=5.0)
    a = ap.parse_args()
    handles = a.handles or 4 * a.connections
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    auth = aiohttp.BasicAuth(a.user, os.environ.get("POLLSTER_PASSWORD", "admin"))
    counts = {"requests": 0, "errors": 0}
    connector = aiohttp.TCPConnector(limit=a.connections, ssl=ctx)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.monotonic()
        stop_at = start + a.duration
        await asyncio.gather(*(poll_handle(session, a.url, auth, 1000 + h, stop_at, counts)
                               for h in range(handles)))
        elapsed = time.monotonic() - start
    print(json.dumps({"requests": counts["requests"], "duration_s": round(elapsed, 3),
                      "requests_per_s": round(counts["requests"] / elapsed, 1),
                      "errors": counts["errors"], "connections": a.connections, "handles": handles}))
    return 0 if counts["requests"] > 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
