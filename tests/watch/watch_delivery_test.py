#!/usr/bin/env python3
"""pollster watch against a scripted TLS server: delivered means written, and
JSON lines whatever the server's whitespace (issues 9 and 12).

The server (stdlib http.server over ssl) answers every GetAsyncResult with
"complete", in the layout a test asks for (compact or indented), and logs
every request with its release flag (keepResult=false): the tests count the
releases it saw.

Usage: watch_delivery_test.py PATH/TO/pollster [TEST_NAME...]
"""
import http.server
import json
import os
import re
import signal
import socketserver
import ssl
import subprocess
import sys
import tempfile
import threading
import time

POLLSTER = sys.argv[1]
ONLY = sys.argv[2:]
TMP = tempfile.mkdtemp(prefix="watch_delivery_")


def make_cert():
    cert, key = os.path.join(TMP, "cert.pem"), os.path.join(TMP, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return cert, key


CERT, KEY = make_cert()


def pretty_result(handle):
    # What the server sends inside "result": indented, with members whose
    # bytes must survive (a number written 8.170, a string with spaces and an
    # escaped newline), and a member named asyncHandle of its own.
    return {
        "asyncHandle": 900000 + handle,
        "createTime": "2016-01-01T22:29:18Z",
        "lastUpdateTime": "2016-01-01T22:45:51Z",
        "result": {"cloneID": 1000 + handle, "message": "Clone  complete.\\nreally", "ratio": "@8.170@",
                   "list": [1, 2, {"a": []}]},
        "resultType": "Clone",
        "status": "complete",
    }


class Server:
    def __init__(self, layout="compact", extra_members=None):
        self.layout = layout
        self.extra = extra_members or {}
        self.log = []  # (handle, release)
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                req = json.loads(body)
                params = req.get("params", {})
                handle = int(params.get("asyncHandle", 0))
                release = params.get("keepResult") is False
                with outer.lock:
                    outer.log.append((handle, release))
                answer = outer.answer(handle, req.get("id", 1))
                data = answer.encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        class TLSServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True

            def handle_error(self, request, client_address):
                pass  # a client that closes first (shutdown, a stopped run) is no error here

        self.httpd = TLSServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(CERT, KEY)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        self.url = "https://127.0.0.1:%d/json-rpc/12.5" % self.httpd.server_address[1]

    def answer(self, handle, rid):
        result = pretty_result(handle)
        result.update(self.extra)
        doc = {"id": rid, "result": result}
        if self.layout == "indented":
            text = json.dumps(doc, indent=4)
        elif self.layout == "tabs":
            text = json.dumps(doc, indent="\t", separators=(" ,\r\n", " :  "))
        else:
            text = json.dumps(doc, separators=(",", ":"))
        # "@8.170@" marks a number whose written form must stay as it is.
        return text.replace('"@8.170@"', "8.170")

    def releases(self):
        with self.lock:
            return {h for h, r in self.log if r}

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def watch_args(server, *extra):
    return [POLLSTER, "watch", "--endpoint", server.url, "--user", "admin", "--ca-file", CERT,
            "--timeout", "20s", *extra]


ENV = dict(os.environ, POLLSTER_PASSWORD="pw")
# The child gets SIGPIPE's default action, as from a shell: pollster itself
# must make a closed pipe an error it reports, not a silent death.
def default_sigpipe():
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)


failures = []


def read_line(pipe, timeout):
    # One line, or what came within `timeout` seconds (a test never hangs).
    import select
    fd, data, deadline = pipe.fileno(), b"", time.time() + timeout
    while not data.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0, deadline - time.time()))
        if not ready:
            break
        chunk = os.read(fd, 1)
        if not chunk:
            break
        data += chunk
    return data


def check(name, cond, detail=""):
    if not cond:
        failures.append(name)
        print("FAIL: %s %s" % (name, detail))


def wait_for_releases(server, want, timeout=10):
    # Releases are sent after the lines; bounded wait for them to arrive.
    deadline = time.time() + timeout
    while time.time() < deadline and len(server.releases()) < want:
        time.sleep(0.05)


# ---------------------------------------------------------------- tests ---

def test_dev_full_releases_nothing():
    s = Server()
    try:
        handles = [str(h) for h in range(1, 21)]
        with open("/dev/full", "w") as full:
            p = subprocess.run(watch_args(s, *handles), stdout=full, stderr=subprocess.PIPE,
                               env=ENV, timeout=60, preexec_fn=default_sigpipe)
        err = p.stderr.decode()
        check("dev_full: exit 1", p.returncode == 1, "(got %d) %s" % (p.returncode, err))
        check("dev_full: says stdout failed", "cannot write to standard output" in err, err)
        time.sleep(0.5)  # a release sent after the run would still be logged
        check("dev_full: nothing released", s.releases() == set(), str(s.releases()))
    finally:
        s.stop()


def test_pipe_closed_after_one_line():
    # Handles come on stdin: the first alone; once its line was read the
    # reader closes the pipe, then the rest arrive. None of them may be
    # released: their lines could not be written.
    s = Server()
    try:
        p = subprocess.Popen(watch_args(s, "-"), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=ENV, preexec_fn=default_sigpipe)
        p.stdin.write(b"1\n")
        p.stdin.flush()
        first = read_line(p.stdout, 20)
        check("pipe: first line", first.startswith(b'{"asyncHandle":1,'), repr(first))
        p.stdout.close()  # as `| head -1` does
        for h in range(2, 21):
            p.stdin.write(b"%d\n" % h)
        p.stdin.close()
        try:
            rc = p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            rc = p.wait()
        err = p.stderr.read().decode()
        check("pipe: exit 1, not killed by SIGPIPE", rc == 1, "(got %d) %s" % (rc, err))
        check("pipe: says stdout failed", "cannot write to standard output" in err, err)
        time.sleep(0.5)
        rel = s.releases()
        check("pipe: no undelivered handle released", rel <= {1}, str(rel))
    finally:
        s.stop()


def test_delivered_results_are_released():
    # The counterpart: lines that were written are released (once each).
    s = Server()
    try:
        handles = [str(h) for h in range(1, 11)]
        p = subprocess.run(watch_args(s, *handles), capture_output=True, env=ENV, timeout=60)
        check("released: exit 0", p.returncode == 0, p.stderr.decode())
        wait_for_releases(s, 10)
        check("released: each delivered handle", s.releases() == set(range(1, 11)), str(s.releases()))
    finally:
        s.stop()


def whitespace_outside_strings(line):
    in_string = escaped = False
    for c in line:
        if in_string:
            if escaped:
                escaped = False
            elif c == "\\":
                escaped = True
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
        elif c in " \t\r\n":
            return True
    return False


def keys_in_order(line):
    pairs = json.loads(line, object_pairs_hook=lambda kv: kv)
    return [k for k, _ in pairs]


def test_indented_answers_give_one_object_per_line():
    for layout in ("indented", "tabs"):
        s = Server(layout)
        try:
            handles = list(range(1, 41))
            p = subprocess.run(watch_args(s, *map(str, handles)), capture_output=True, env=ENV,
                               timeout=60)
            name = "indented(%s)" % layout
            check(name + ": exit 0", p.returncode == 0, p.stderr.decode())
            lines = p.stdout.decode().split("\n")
            check(name + ": ends with a newline", lines[-1] == "")
            lines = lines[:-1]
            check(name + ": one line per handle", len(lines) == len(handles), str(len(lines)))
            seen = set()
            for line in lines:
                try:
                    o = json.loads(line)  # each line is one whole JSON object
                except ValueError:
                    check(name + ": each line is JSON", False, repr(line))
                    break
                h = o["asyncHandle"]
                seen.add(h)
                check(name + ": no whitespace between tokens", not whitespace_outside_strings(line), line)
                check(name + ": keys once each", len(set(keys_in_order(line))) == len(keys_in_order(line)), line)
                check(name + ": asyncHandle first, the polled one", keys_in_order(line)[0] == "asyncHandle")
                check(name + ": the server's asyncHandle kept as serverAsyncHandle",
                      o.get("serverAsyncHandle") == 900000 + h, line)
                # Values byte for byte: the number as written, the string with its spaces and escape.
                check(name + ": number bytes kept", '"ratio":8.170' in line, line)
                check(name + ": string bytes kept", '"message":"Clone  complete.\\\\nreally"' in line, line)
                check(name + ": nested value minified", '"list":[1,2,{"a":[]}]' in line, line)
            check(name + ": every handle", seen == set(handles), str(seen))
        finally:
            s.stop()


def test_collisions_with_cluster_key():
    # With --clusters the line has "cluster" too: the server's own "cluster"
    # (and a taken serverAsyncHandle) are renamed, never repeated.
    s = Server(extra_members={"cluster": "theirs", "serverAsyncHandle": "taken"})
    try:
        cfg = os.path.join(TMP, "clusters.json")
        with open(cfg, "w") as f:
            json.dump({"clusters": {"east": {"endpoint": s.url, "user": "admin",
                                             "password_env": "POLLSTER_PASSWORD", "ca_file": CERT}}}, f)
        p = subprocess.run([POLLSTER, "watch", "--clusters", cfg, "--timeout", "20s", "east:7"],
                           capture_output=True, env=ENV, timeout=60)
        check("collide: exit 0", p.returncode == 0, p.stderr.decode())
        line = p.stdout.decode().strip()
        keys = keys_in_order(line)
        o = json.loads(line)
        check("collide: asyncHandle then cluster", keys[:2] == ["asyncHandle", "cluster"], line)
        check("collide: keys once each", len(set(keys)) == len(keys), line)
        check("collide: ours", o["asyncHandle"] == 7 and o["cluster"] == "east", line)
        check("collide: theirs renamed", o.get("serverCluster") == "theirs" and
              o.get("serverAsyncHandle") == "taken" and o.get("serverServerAsyncHandle") == 900007, line)
    finally:
        s.stop()


TESTS = [test_dev_full_releases_nothing, test_pipe_closed_after_one_line,
         test_delivered_results_are_released, test_indented_answers_give_one_object_per_line,
         test_collisions_with_cluster_key]

for t in TESTS:
    if ONLY and t.__name__ not in ONLY:
        continue
    before = len(failures)
    t()
    print("%s %s" % ("ok  " if len(failures) == before else "FAIL", t.__name__))
print("%d failed" % len(failures))
sys.exit(1 if failures else 0)
