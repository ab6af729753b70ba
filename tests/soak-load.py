# soak-load.py: the load of make soak (tests/soak.sh), the check of every
# answer, and the report. Run by /usr/bin/python3 (standard library only):
#
#   soak-load.py prepare WORKDIR GILLY TABLE_A TABLE_B FIXTURE...
#	the requests: each fixture, and the answer gilly's CLI gives to it
#	under each of the two good tables; a few malformed bodies. Into
#	WORKDIR/cases.json. Then a self-test: doctored answers (a mix of
#	the tables, a wrong uid, a patch that does not decode...) must be
#	caught by the checks.
#   soak-load.py client WORKDIR N
#	HTTP/1.1 over TLS, one keep-alive connection at a time (a new one
#	when the server closes it or it fails), until the deadline; client
#	0 steadily, the others in bursts (see Pace).
#   soak-load.py h2 WORKDIR N
#	HTTP/2, as the API server speaks it to a webhook: batches of
#	requests multiplexed on one connection by curl --parallel, in
#	bursts.
#   soak-load.py report WORKDIR
#	the figures, from the clients' logs, tests/soak-faults.py's logs and
#	the server's log; exits 1 when the run failed.
#
# Every request carries a review uid of its own. An answer is correct when
# it is, as JSON, the CLI's answer under table A or under table B with that
# uid (so also: uid echoed, well-formed, patch decodes), its image patches
# all point at that one table's mirrors (never a mix: a half-loaded
# table), and that table was the last good one published at some moment
# while the request was in flight, or within TABLE_LAG before it. A
# malformed body must get a 400 with a JSON {"error": ...} body. A 5xx is
# an error (a worker killed under a request, a restart), an exception a
# connection failure; anything else is a wrong answer.
import base64
import http.client
import json
import os
import random
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import uuid

# Client log lines: T0 T1 PROTO CASE RESULT STATUS TABLE DETAIL...
#	RESULT: ok, error (a 5xx), wrong, fail (no answer: DETAIL says why,
#	and on a kept connection since when it was idle)
#	TABLE: A, B, "-" (the same answer under both, or not a review)


def die(msg):
    sys.stderr.write("soak-load.py: %s\n" % msg)
    sys.exit(99)


def load_json(path):
    with open(path) as f:
        return json.load(f)


# --- the requests and their answers ----------------------------------------

# Malformed bodies: each must get a 400 with a JSON error body.
MALFORMED = {
    "bad-not-json": b"not json",
    "bad-truncated": b'{"kind":',
    "bad-array": b"[]",
    "bad-empty-object": b"{}",
    "bad-uid-type": b'{"kind":"AdmissionReview","apiVersion":'
                    b'"admission.k8s.io/v1","request":{"uid":5}}',
    "bad-request-type": b'{"kind":"AdmissionReview","apiVersion":'
                        b'"admission.k8s.io/v1","request":"x"}',
    "bad-deep": b"[" * 5000 + b"]" * 5000,
    "bad-utf8": b'{"a":"\xff\xfe"}',
    "bad-empty": b"",
}


def image_tables(resp, mirrors):
    """The tables the image patches of resp point at, and the images
    that point at neither. resp: a parsed AdmissionReview answer."""
    tables, stray = set(), []
    r = resp.get("response") if isinstance(resp, dict) else None
    if not isinstance(r, dict) or "patch" not in r:
        return tables, stray
    ops = json.loads(base64.b64decode(r["patch"], validate=True))
    for op in ops:
        if not str(op.get("path", "")).endswith("/image"):
            continue
        v = str(op.get("value", ""))
        hit = [t for t, prefixes in mirrors.items()
               if any(v.startswith(p) for p in prefixes)]
        if len(hit) == 1:
            tables.add(hit[0])
        else:
            stray.append(v)
    return tables, stray


def prepare(workdir, gilly, table_a, table_b, fixtures):
    cf = load_json(os.path.join(workdir, "load.json"))
    env = {k: v for k, v in os.environ.items()
           if k not in ("GATEWAY_INTERFACE", "GILLY_CONFIG",
                        "GILLY_METRICS_FILE")}
    cases = []
    for path in fixtures:
        with open(path, "rb") as f:
            body = f.read()
        uid = json.loads(body)["request"]["uid"]
        if body.count(b'"%s"' % uid.encode()) != 1:
            die("%s: its uid is not there exactly once" % path)
        expect = {}
        for name, table in (("A", table_a), ("B", table_b)):
            out = subprocess.run([gilly, "-c", table], input=body,
                                 capture_output=True, env=env)
            if out.returncode != 0:
                die("%s: gilly -c %s failed: %s" % (path, table,
                                                    out.stderr.decode()))
            expect[name] = json.loads(out.stdout)
            # The checks must see in each expected answer its own table.
            tables, stray = image_tables(expect[name], cf["mirrors"])
            if stray or tables - {name}:
                die("%s under %s: images %s, tables %s" %
                    (path, name, stray, sorted(tables)))
        cases.append({"name": os.path.basename(path)[:-5], "kind": "review",
                      "uid": uid, "body": base64.b64encode(body).decode(),
                      "expect": expect,
                      "same": expect["A"] == expect["B"]})
    for name, body in sorted(MALFORMED.items()):
        cases.append({"name": name, "kind": "bad",
                      "body": base64.b64encode(body).decode()})
    with open(os.path.join(workdir, "cases.json"), "w") as f:
        json.dump(cases, f)
    print("# %d reviews (%d answered differently under the two tables), "
          "%d malformed bodies; the checks' self-test: %d answers checked" %
          (len(fixtures), sum(not c["same"] for c in cases
                              if c["kind"] == "review"),
           len(MALFORMED), selftest(workdir)))


def selftest(workdir):
    """The checks must be able to fail: doctored answers are caught, and
    the timeline says which table was in force when."""
    cases = Cases(workdir, "selftest")
    # The review with the most images rewritten.
    c = max((c for c in cases.reviews if not c["same"]),
            key=lambda c: len(c["expect"]["A"]["response"]["patch"]))
    uid = "selftest-uid"

    def answer(table, f=None):
        o = json.loads(json.dumps(c["expect"][table]))
        o["response"]["uid"] = uid
        if f is not None:
            f(o)
        return json.dumps(o).encode()

    def ops(o):
        return json.loads(base64.b64decode(o["response"]["patch"]))

    def set_ops(o, v):
        o["response"]["patch"] = base64.b64encode(
            json.dumps(v).encode()).decode()

    def mix(o):
        # The first image from table B, the others from table A.
        a, b = ops(o), ops(c["expect"]["B"])
        i = next(i for i, op in enumerate(a) if op["path"].endswith("/image"))
        a[i] = b[i]
        set_ops(o, a)

    def elsewhere(o):
        a = ops(o)
        i = next(i for i, op in enumerate(a) if op["path"].endswith("/image"))
        a[i]["value"] = "elsewhere.example/x:1"
        set_ops(o, a)

    def other_uid(o):
        o["response"]["uid"] = "another"

    def no_b64(o):
        o["response"]["patch"] = "!!"

    def no_warnings(o):
        o["response"].pop("warnings", None)
        o["response"].pop("patchType", None)

    j = "application/json"
    bad = cases.bad[0]
    want = [
        (c, 200, j, answer("A"), ("ok", "A")),
        (c, 200, j, answer("B"), ("ok", "B")),
        (c, 502, "text/html", b"", ("error", "-")),
        (c, 200, j, answer("A", mix), ("wrong", "-")),
        (c, 200, j, answer("A", elsewhere), ("wrong", "-")),
        (c, 200, j, answer("A", other_uid), ("wrong", "-")),
        (c, 200, j, answer("A", no_b64), ("wrong", "-")),
        (c, 200, j, answer("B", no_warnings), ("wrong", "-")),
        (c, 200, j, b"{", ("wrong", "-")),
        (c, 400, j, b'{"error":"x"}', ("wrong", "-")),
        (bad, 400, j, b'{"error":"x"}', ("ok", "-")),
        (bad, 400, "text/plain", b'{"error":"x"}', ("wrong", "-")),
        (bad, 400, j, b"error", ("wrong", "-")),
        (bad, 200, j, answer("A"), ("wrong", "-")),
        (bad, 503, j, b"", ("error", "-")),
    ]
    for n, (case, status, ctype, data, expect) in enumerate(want):
        got = cases.check(case, uid, status, ctype, data)[:2]
        if got != expect:
            die("self-test %d (%s, %d): %s, expected %s" % (
                n, case["name"], status, got, expect))
    if "half-loaded" not in cases.check(c, uid, 200, j, answer("A", mix))[2]:
        die("self-test: a mixed answer is not seen as one")
    tl = Timeline([(10.0, "swap", ["B", "good", "10.001"]),
                   (12.0, "swap", ["cut", "broken", "12.001"]),
                   (14.0, "swap", ["A", "good", "14.001"])], "A")
    for s, r, expect in ((1, 2, {"A"}), (9, 10.0005, {"A", "B"}),
                         (11, 11.5, {"B"}), (12.5, 13, {"B"}),
                         (13, 14.0005, {"A", "B"})):
        if tl.allowed(s, r) != expect:
            die("self-test: tables allowed in [%g, %g]: %s, expected %s" %
                (s, r, tl.allowed(s, r), expect))
    if tl.state_at(12.5) != ("B", True) or \
            [(a, round(b, 3)) for a, b in tl.broken_windows(3)] != \
            [(12.0, 17.001)]:
        die("self-test: the timeline's broken table")
    return len(want)


class Cases:
    def __init__(self, workdir, seed):
        self.cf = load_json(os.path.join(workdir, "load.json"))
        self.all = load_json(os.path.join(workdir, "cases.json"))
        for c in self.all:
            c["raw"] = base64.b64decode(c["body"])
        self.reviews = [c for c in self.all if c["kind"] == "review"]
        self.bad = [c for c in self.all if c["kind"] == "bad"]
        self.rng = random.Random(seed)

    def pick(self):
        """(case, uid, body) for the next request."""
        if self.bad and self.rng.random() < self.cf["bad_share"]:
            c = self.rng.choice(self.bad)
            return c, None, c["raw"]
        c = self.rng.choice(self.reviews)
        uid = str(uuid.uuid4())
        return c, uid, c["raw"].replace(b'"%s"' % c["uid"].encode(),
                                        b'"%s"' % uid.encode())

    def check(self, case, uid, status, ctype, data):
        """(result, table, detail) of an answer."""
        if status >= 500:
            return "error", "-", "status-%d" % status
        if case["kind"] == "bad":
            if status != 400:
                return "wrong", "-", "malformed body answered %d" % status
            if not (ctype or "").startswith("application/json"):
                return "wrong", "-", "400 of type %r" % ctype
            try:
                o = json.loads(data)
            except ValueError:
                return "wrong", "-", "400 body not JSON"
            if not isinstance(o, dict) or not isinstance(o.get("error"),
                                                        str):
                return "wrong", "-", "400 body without an error string"
            return "ok", "-", ""
        if status != 200:
            return "wrong", "-", "review answered %d" % status
        try:
            o = json.loads(data)
        except ValueError:
            return "wrong", "-", "200 body not JSON"
        r = o.get("response") if isinstance(o, dict) else None
        if not isinstance(r, dict):
            return "wrong", "-", "no response object"
        if r.get("uid") != uid:
            return "wrong", "-", "uid %r, sent %r" % (r.get("uid"), uid)
        try:
            tables, stray = image_tables(o, self.cf["mirrors"])
        except (ValueError, TypeError, AttributeError) as e:
            return "wrong", "-", "patch does not decode: %s" % e
        if stray:
            return "wrong", "-", "images at no table's mirror: %s" % stray
        if len(tables) > 1:
            return "wrong", "-", "images at both tables' mirrors (a " \
                "half-loaded table)"
        r["uid"] = case["uid"]
        if case["same"]:
            if o == case["expect"]["A"]:
                return "ok", "-", ""
        else:
            for t in ("A", "B"):
                if o == case["expect"][t]:
                    return "ok", t, ""
        return "wrong", "-", "not the answer of either table"


def exc_kind(e):
    """A short name for why a request got no answer."""
    if isinstance(e, ConnectionRefusedError):
        return "refused"
    if isinstance(e, ConnectionResetError):
        return "reset"
    if isinstance(e, BrokenPipeError):
        return "broken-pipe"
    if isinstance(e, http.client.RemoteDisconnected):
        return "closed-without-answer"
    if isinstance(e, http.client.IncompleteRead):
        return "truncated-answer"
    if isinstance(e, ssl.SSLError):
        return "tls-" + (e.reason or type(e).__name__)
    if isinstance(e, (socket.timeout, TimeoutError)):
        return "timeout"
    return type(e).__name__


class Log:
    def __init__(self, workdir, what, n):
        self.f = open(os.path.join(workdir, "%s.%s.log" % (what, n)), "w")
        self.wrongs = open(os.path.join(workdir, "%s.%s.wrong" % (what, n)),
                           "w")
        self.nwrong = 0
        self.connections = 0
        self.stats = os.path.join(workdir, "%s.%s.conns" % (what, n))

    def close(self):
        with open(self.stats, "w") as f:
            f.write("%d\n" % self.connections)
        self.f.close()
        self.wrongs.close()

    def line(self, t0, t1, proto, case, result, status, table, detail):
        self.f.write("%.6f %.6f %s %s %s %s %s %s\n" % (
            t0, t1, proto, case["name"], result, status, table,
            detail.replace("\n", " ")))

    def wrong(self, case, uid, status, headers, data, detail):
        self.nwrong += 1
        if self.nwrong > 20:
            return
        self.wrongs.write("=== %s uid %s: %s\nstatus %s\n%s\n%r\n" % (
            case["name"], uid, detail, status, headers, data[:2000]))
        self.wrongs.flush()


class Pace:
    """Bursts of 1 to 4 s, each followed by a pause of 1 to 6 s (the
    connection kept, idle); or no pause at all. With the first client
    steady and the others in bursts, there are at times as many requests
    in flight as workers, and at times one: then lighttpd gives them all
    to its first worker, and the others stay idle, as in a quiet cluster."""

    def __init__(self, rng, bursty):
        self.rng = rng
        self.bursty = bursty
        self.until = time.time() + rng.uniform(1, 4)

    def step(self):
        if self.bursty and time.time() >= self.until:
            time.sleep(self.rng.uniform(1, 6))
            self.until = time.time() + self.rng.uniform(1, 4)


def client(workdir, n):
    cases = Cases(workdir, "client-%s" % n)
    cf = cases.cf
    log = Log(workdir, "client", n)
    ctx = ssl.create_default_context(cafile=cf["ca"])
    deadline = cf["start"] + cf["seconds"]
    while time.time() < cf["start"]:
        time.sleep(0.01)
    conn = None
    reused = 0
    idle = 0.0
    pace = Pace(cases.rng, int(n) > 0)
    while time.time() < deadline:
        pace.step()
        case, uid, body = cases.pick()
        t0 = time.time()
        stage = "connect"
        try:
            if conn is None:
                conn = http.client.HTTPSConnection(
                    "127.0.0.1", cf["port"], context=ctx, timeout=15)
                conn.connect()
                reused = 0
                log.connections += 1
            stage = "request" if reused == 0 else "reused"
            conn.request("POST", "/mutate", body=body,
                         headers={"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
        except Exception as e:     # each is counted, then a new connection
            t1 = time.time()
            # A kept connection may have been closed by the server while
            # it was idle: what happened then matters, not just now.
            log.line(t0, t1, "h1", case, "fail", "-", "-",
                     "%s@%s%s" % (exc_kind(e), stage,
                                  " idle-since=%.6f" % idle
                                  if stage == "reused" else ""))
            if conn is not None:
                conn.close()
            conn = None
            if stage == "connect":
                time.sleep(0.05)
            continue
        t1 = idle = time.time()
        reused += 1
        result, table, detail = cases.check(case, uid, r.status,
                                            r.getheader("Content-Type"),
                                            data)
        log.line(t0, t1, "h1", case, result, r.status, table, detail)
        if result == "wrong":
            log.wrong(case, uid, r.status, r.getheaders(), data, detail)
        if r.will_close:
            conn.close()
            conn = None
    if conn is not None:
        conn.close()
    log.close()


# curl's exit statuses, for an h2 request without an answer.
CURL_EXIT = {6: "resolve", 7: "refused", 16: "h2-error", 18: "truncated",
             28: "timeout", 35: "tls-handshake", 52: "empty-reply",
             55: "send-error", 56: "recv-error", 92: "h2-stream-error"}


def h2(workdir, n):
    cases = Cases(workdir, "h2-%s" % n)
    cf = cases.cf
    log = Log(workdir, "h2", n)
    batch = cf["h2_batch"]
    d = os.path.join(workdir, "h2.%s" % n)
    os.mkdir(d)
    url = "https://127.0.0.1:%d/mutate" % cf["port"]
    # Stopped early (SIGTERM): the curl under way goes too.
    curl = [None]

    def stop(sig, frame):
        if curl[0] is not None:
            curl[0].kill()
        sys.exit(1)
    signal.signal(signal.SIGTERM, stop)
    deadline = cf["start"] + cf["seconds"]
    while time.time() < cf["start"]:
        time.sleep(0.01)
    pace = Pace(cases.rng, True)
    while time.time() < deadline:
        pace.step()
        sent = []
        lines = []
        for i in range(batch):
            case, uid, body = cases.pick()
            with open(os.path.join(d, "req.%d" % i), "wb") as f:
                f.write(body)
            sent.append((case, uid))
            if i:
                lines.append("next")
            lines += ['url = "%s"' % url,
                      'cacert = "%s"' % cf["ca"],
                      'header = "Content-Type: application/json"',
                      'data-binary = "@%s/req.%d"' % (d, i),
                      'output = "%s/resp.%d"' % (d, i),
                      'max-time = 15',
                      'write-out = "%d %%{http_code} %%{exitcode} '
                      '%%{http_version} %%{content_type}\\n"' % i]
        with open(os.path.join(d, "curl.conf"), "w") as f:
            f.write("\n".join(lines) + "\n")
        for i in range(batch):
            try:
                os.unlink(os.path.join(d, "resp.%d" % i))
            except OSError:
                pass
        t0 = time.time()
        with open(os.path.join(d, "curl.out"), "wb") as so, \
                open(os.path.join(d, "curl.err"), "ab") as se:
            curl[0] = subprocess.Popen(
                ["curl", "-sS", "--http2", "--parallel", "--parallel-max",
                 str(cf["h2_streams"]), "-K", os.path.join(d, "curl.conf")],
                stdout=so, stderr=se)
            rc = curl[0].wait()
            curl[0] = None
        t1 = time.time()
        seen = set()
        with open(os.path.join(d, "curl.out"), "rb") as f:
            out = f.read()
        for line in out.decode(errors="replace").splitlines():
            w = line.split(" ", 4)
            if len(w) < 4 or not w[0].isdigit() or int(w[0]) >= batch:
                continue
            i, code, ex = int(w[0]), int(w[1]), int(w[2])
            seen.add(i)
            case, uid = sent[i]
            if code == 0 or ex != 0:
                log.line(t0, t1, "h2", case, "fail", "-", "-",
                         CURL_EXIT.get(ex, "curl-exit-%d" % ex))
                continue
            try:
                with open(os.path.join(d, "resp.%d" % i), "rb") as f:
                    data = f.read()
            except OSError:
                data = b""
            ctype = w[4] if len(w) > 4 else ""
            result, table, detail = cases.check(case, uid, code, ctype,
                                                data)
            if w[3] != "2" and result == "ok":
                result, detail = "wrong", "HTTP/%s, not HTTP/2" % w[3]
            log.line(t0, t1, "h2", case, result, code, table, detail)
            if result == "wrong":
                log.wrong(case, uid, code, "", data, detail)
        for i in range(batch):
            if i not in seen:
                log.line(t0, t1, "h2", sent[i][0], "fail", "-", "-",
                         "curl-no-record")
        log.connections += 1
        if rc != 0 and len(seen) == 0:
            time.sleep(0.05)
    log.close()


# --- the report -------------------------------------------------------------

def read_events(workdir):
    ev = []
    with open(os.path.join(workdir, "events.log")) as f:
        for line in f:
            w = line.split()
            ev.append((float(w[0]), w[1], w[2:]))
    return ev


def read_requests(workdir):
    reqs = []
    for name in sorted(os.listdir(workdir)):
        if not re.match(r"(client|h2)\.\d+\.log$", name):
            continue
        with open(os.path.join(workdir, name)) as f:
            for line in f:
                w = line.rstrip("\n").split(" ", 7)
                reqs.append((float(w[0]), float(w[1]), w[2], w[3], w[4],
                             w[5], w[6], w[7] if len(w) > 7 else ""))
    return reqs


# A busy worker looks at its table's file at most once a millisecond
# (fcgi/serve.c, SERVE_TABLE_LAG_NS): a request that comes sooner after a
# change may still get the table before it.
TABLE_LAG = 0.001


class Timeline:
    """The table versions published, and which was the last good one."""

    def __init__(self, events, initial):
        # (t0 rename begun, t1 rename done, name, good)
        self.swaps = [(t, float(a[2]), a[0], a[1] == "good")
                      for t, kind, a in events if kind == "swap"]
        self.initial = initial

    def state_at(self, t):
        """(last good table, whether the table on disk is broken) once the
        swaps done by t are done."""
        good, broken = self.initial, False
        for t0, t1, name, ok in self.swaps:
            if t1 > t:
                break
            broken = not ok
            if ok:
                good = name
        return good, broken

    def allowed(self, s, r):
        """The tables that were the last good one at some moment in
        [s, r]."""
        out = {self.state_at(s)[0]}
        for t0, t1, name, ok in self.swaps:
            if ok and t0 < r and t1 > s:
                out.add(name)
        return out

    def broken_windows(self, settle):
        """[from, to]: a broken table on disk, to the next good one (plus
        settle seconds)."""
        out, since = [], None
        for t0, t1, name, ok in self.swaps:
            if not ok and since is None:
                since = t0
            elif ok and since is not None:
                out.append((since, t1 + settle))
                since = None
        if since is not None:
            out.append((since, float("inf")))
        return out


def pct(a, b):
    return "%.3f%%" % (100.0 * a / b) if b else "-"


def fmt_counts(c):
    return ", ".join("%s %d" % (k, v) for k, v in
                     sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))


def read_rss(workdir):
    """{pid: [(t, rss, anon)]}, roles {pid: role}, the last sample's time."""
    samples, roles, last = {}, {}, 0.0
    with open(os.path.join(workdir, "rss.log")) as f:
        for line in f:
            t, role, pid, rss, anon = line.split()
            t, pid = float(t), int(pid)
            samples.setdefault(pid, []).append((t, int(rss), int(anon)))
            roles[pid] = role
            last = max(last, t)
    return samples, roles, last


def first_at(samples, t):
    for s in samples:
        if s[0] >= t:
            return s
    return None


def server_log(path):
    """Counts of the server log's kinds of line, numbers and paths blanked
    out, and the lines that say something crashed."""
    kinds, bad = {}, []
    crash = re.compile(r"AddressSanitizer|LeakSanitizer|runtime error:|"
                       r"child signalled: (?!9$)\d+$")
    review = re.compile(r"\[(Mutate|ProcessPod|ReplaceImageRegistry)\]")
    with open(path, errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = review.search(line)
            if m is not None:
                # The reviews' own lines, most of the log: counted only.
                k = "[%s] ..." % m.group(1)
                kinds[k] = kinds.get(k, 0) + 1
                continue
            if crash.search(line):
                bad.append(line)
            k = re.sub(r"^\S+ \S+ ", "", line)
            k = re.sub(r"/\S+", "PATH", k)
            k = re.sub(r"\b\d+\b", "N", k)
            k = re.sub(r"\"[^\"]*\"", '"..."', k)
            kinds[k] = kinds.get(k, 0) + 1
    return kinds, bad


def report(workdir):
    lcf = load_json(os.path.join(workdir, "load.json"))
    fcf = load_json(os.path.join(workdir, "faults.json"))
    events = read_events(workdir)
    reqs = read_requests(workdir)
    tl = Timeline(events, fcf["initial_table"])
    failures = []
    start = fcf["start"]
    settle = lcf["settle"]

    print("== soak: %.0f s, %d workers, %d HTTP/1.1 clients, %d HTTP/2 "
          "clients, seed %s" % (fcf["seconds"], fcf["workers"],
                                lcf["clients"], lcf["h2_clients"],
                                fcf["seed"]))

    # Faults done.
    kills = [t for t, k, a in events if k == "kill"]
    swaps = tl.swaps
    nbroken = sum(1 for s in swaps if not s[3])
    renews = [(t, a) for t, k, a in events if k == "renew-restarted"]
    print("faults: %d workers killed (SIGKILL); %d table versions published "
          "(%d good, %d broken); %d certificate renewals, %d picked up "
          "(restart after %s s)" % (
              len(kills), len(swaps), len(swaps) - nbroken, nbroken,
              sum(1 for t, k, a in events if k == "renew-start"),
              sum(1 for t, a in renews if a[1] == "served"),
              ", ".join(a[0] for t, a in renews) or "-"))
    for t, k, a in events:
        if k in ("renew-timeout", "died", "stalled") or \
                (k == "renew-restarted" and a[1] != "served"):
            failures.append("at %.1f s: %s %s" % (t - start, k,
                                                    " ".join(a)))

    # Answers.
    restart_w = []
    rs = None
    for t, k, a in events:
        if k == "renew-start":
            rs = t
        elif k in ("renew-restarted", "renew-timeout") and rs is not None:
            restart_w.append((rs, t + settle))
            rs = None
    broken_w = tl.broken_windows(settle)

    def inside(ws, t0, t1):
        return any(a <= t1 and t0 <= b for a, b in ws)

    def cause(t0, t1):
        if inside(restart_w, t0, t1):
            return "restart"
        if any(k - 0.01 <= t1 and t0 <= k + 1 for k in kills):
            return "kill"
        if inside(broken_w, t0, t1):
            return "broken-table"
        return "unexplained"

    total = len(reqs)
    by = {"ok": 0, "error": 0, "wrong": 0, "fail": 0}
    by_proto = {}
    errors, fails, wrongs = {}, {}, {}
    err_cause, fail_cause = {}, {}
    stale, behind = [], []
    bad_sent = bad_ok = 0
    per_table = {"A": 0, "B": 0, "-": 0}
    for t0, t1, proto, name, result, status, table, detail in reqs:
        by[result] += 1
        by_proto.setdefault(proto, {"ok": 0, "error": 0, "wrong": 0,
                                    "fail": 0})[result] += 1
        if name.startswith("bad-"):
            bad_sent += 1
            bad_ok += result == "ok"
        if result == "ok":
            per_table[table] += 1
            if table != "-" and table not in tl.allowed(t0 - TABLE_LAG,
                                                        t1):
                good, broken = tl.state_at(t0)
                (behind if broken else stale).append(
                    (t0, t1, proto, name, table, good))
        elif result == "error":
            errors[status] = errors.get(status, 0) + 1
            c = cause(t0, t1)
            err_cause[c] = err_cause.get(c, 0) + 1
        elif result == "fail":
            # From the last answer on the connection, when it was kept.
            detail, _, idle = detail.partition(" idle-since=")
            fails[detail] = fails.get(detail, 0) + 1
            c = cause(min(t0, float(idle or t0)), t1)
            fail_cause[c] = fail_cause.get(c, 0) + 1
        else:
            wrongs[detail] = wrongs.get(detail, 0) + 1
    # Answers from an older table: stale when a good table was on disk
    # (a request TABLE_LAG after it must use it); behind when a broken one
    # was (the last good one must stay in force: not an older one).
    allow_behind = lcf["allow_behind"]
    nwrong = by["wrong"] + len(stale) + \
        (0 if allow_behind else len(behind))
    correct = by["ok"] - len(stale) - len(behind)
    print("requests sent:              %d (%d malformed bodies; %s)" % (
        total, bad_sent, "; ".join(
            "%s %d" % (p, sum(v.values())) for p, v in sorted(
                by_proto.items()))))
    print("answered correctly:         %d (%s): table A %d, table B %d, "
          "the same under both %d; malformed bodies 400 %d" % (
              correct, pct(correct, total), per_table["A"],
              per_table["B"], per_table["-"], bad_ok))
    print("answered with errors:       %d (%s)%s" % (
        by["error"], pct(by["error"], total),
        (": " + fmt_counts(errors) + "; during: " + fmt_counts(err_cause))
        if by["error"] else ""))
    print("wrong answers:              %d%s" % (
        nwrong, (": " + fmt_counts(wrongs)) if by["wrong"] else ""))
    for what, lst, why in (
            ("stale", stale, "from an older table than the good one on "
             "disk when sent"),
            ("behind", behind, "from an older good table than the last "
             "one, a broken one on disk%s" % (
                 " (not counted: SOAK_ALLOW_BEHIND)" if allow_behind
                 else ""))):
        print("  %s: %d" % (why, len(lst)))
        for x in lst[:5]:
            print("    %.3f-%.3f s %s %s: table %s, last good %s" % (
                x[0] - start, x[1] - start, x[2], x[3], x[4], x[5]))
    print("connection failures:        %d (%s)%s" % (
        by["fail"], pct(by["fail"], total),
        (": " + fmt_counts(fails) + "; during: " + fmt_counts(fail_cause))
        if by["fail"] else ""))
    conns = {}
    for name in os.listdir(workdir):
        m = re.match(r"(client|h2)\.\d+\.conns$", name)
        if m:
            with open(os.path.join(workdir, name)) as f:
                p = "h1" if m.group(1) == "client" else "h2"
                conns[p] = conns.get(p, 0) + int(f.read())
    print("rate: %.0f requests/s; connections opened: %s" % (
        total / fcf["seconds"], "; ".join(
            "%s %d (%.0f requests each)" % (
                p, n, sum(by_proto.get(p, {}).values()) / n if n else 0)
            for p, n in sorted(conns.items())) or "not counted"))
    if nwrong:
        failures.append("%d wrong answers" % nwrong)
    unexplained = err_cause.get("unexplained", 0) + \
        fail_cause.get("unexplained", 0)
    if unexplained:
        failures.append("%d errors or connection failures outside any "
                        "fault's window" % unexplained)
    if correct == 0:
        failures.append("no request answered correctly")

    # Memory.
    samples, roles, last = read_rss(workdir)
    warm = fcf["warmup"]
    span = next((t for t, k, a in events if k == "span-start"), None)
    bound = lcf["mem_growth"]
    print("memory, VmRSS in KiB (RssAnon in parentheses); warm-up %g s; "
          "workers' growth %s" % (warm, "bound %g%%" % bound
                                   if bound is not None else
                                   "not bounded (sanitizer build: ASan's "
                                   "quarantine holds freed memory)"))
    lp = fcf["lighttpd_pid"]
    if lp in samples:
        s = samples[lp]
        w = first_at(s, start + warm) or s[-1]
        g = 100.0 * (s[-1][1] - w[1]) / w[1]
        print("  lighttpd %d: start %d (%d), after warm-up %d (%d), end %d "
              "(%d): %+.1f%% (bound %g%%)" % (
                  lp, s[0][1], s[0][2], w[1], w[2], s[-1][1], s[-1][2], g,
                  lcf["lighttpd_growth"]))
        if g > lcf["lighttpd_growth"]:
            failures.append("lighttpd grew %.1f%%" % g)
    workers = {p: s for p, s in samples.items() if roles[p] == "worker"}
    killed = {int(a[0]) for t, k, a in events if k == "kill"}
    first_round = min((s[0][0] for s in workers.values()), default=0)
    initial = sorted(p for p, s in workers.items()
                     if s[0][0] == first_round)
    at_end = sorted(p for p, s in workers.items() if s[-1][0] == last)

    def fate(p):
        if p in at_end:
            return "alive at the end"
        how = "killed" if p in killed else "ended"
        return "%s at %.1f s" % (how, workers[p][-1][0] - start)

    print("  workers at the start:")
    for p in initial:
        s = workers[p]
        print("    %d: start %d (%d), last %d (%d); %s" % (
            p, s[0][1], s[0][2], s[-1][1], s[-1][2], fate(p)))
    print("  workers alive at the end:")
    for p in at_end:
        s = workers[p]
        w = first_at(s, s[0][0] + warm)
        print("    %d: born at %.1f s, first %d (%d), after warm-up %s, "
              "end %d (%d)" % (
                  p, s[0][0] - start, s[0][1], s[0][2],
                  "%d (%d)" % (w[1], w[2]) if w else "-", s[-1][1],
                  s[-1][2]))
    allrss = [x[1] for s in workers.values() for x in s]
    print("  all %d worker processes seen: VmRSS %d to %d" % (
        len(workers), min(allrss, default=0), max(allrss, default=0)))
    if span is None:
        print("  no worker could live through the run (no span-start)")
        failures.append("no memory span")
    else:
        lived = [p for p in at_end
                 if workers[p][0][0] <= span - warm + 1.5]
        print("  lived through the run, from %.1f s (the start or the "
              "last restart of the workers, + warm-up) to the end:" %
              (span - start))
        if not lived:
            failures.append("no worker lived from %.1f s to the end" %
                            (span - start))
            print("    none")
        for p in lived:
            s = workers[p]
            w = first_at(s, span)
            g = 100.0 * (s[-1][1] - w[1]) / w[1]
            print("    %d: %d (%d) at %.1f s, %d (%d) at the end: %+.1f%%" %
                  (p, w[1], w[2], w[0] - start, s[-1][1], s[-1][2], g))
            if bound is not None and g > bound:
                failures.append("worker %d grew %.1f%% (bound %g%%)" %
                                (p, g, bound))
    pod = sum(samples[p][-1][1] for p in at_end) + \
        (samples[lp][-1][1] if lp in samples else 0)
    print("  at the end, lighttpd and its workers: %d KiB" % pod)

    # The server's log.
    kinds, bad = server_log(fcf["server_log"])
    print("server log, by kind of line (numbers and paths blanked):")
    for k, v in sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0]))[:25]:
        print("  %6d  %s" % (v, k[:110]))
    if bad:
        failures.append("%d crash or sanitizer lines in the server log" %
                        len(bad))
        for line in bad[:10]:
            print("  CRASH: %s" % line)

    stall = os.path.join(workdir, "stall.txt")
    if os.path.exists(stall):
        print("the server stalled; lighttpd and its children then:")
        with open(stall) as f:
            for line in f:
                print("  " + line.rstrip("\n")[:400])
    for name in sorted(os.listdir(workdir)):
        if name.endswith(".wrong") and \
                os.path.getsize(os.path.join(workdir, name)):
            print("first wrong answers (%s):" % name)
            with open(os.path.join(workdir, name)) as f:
                sys.stdout.write(f.read(4000))
    if failures:
        print("soak: FAILED: " + "; ".join(failures))
        return 1
    print("soak: passed")
    return 0


def main():
    if len(sys.argv) < 3:
        sys.stderr.write("usage: soak-load.py prepare|client|h2|report "
                         "WORKDIR ...\n")
        return 2
    cmd, workdir = sys.argv[1], sys.argv[2]
    if cmd == "prepare" and len(sys.argv) >= 6:
        prepare(workdir, sys.argv[3], sys.argv[4], sys.argv[5],
                sys.argv[6:])
    elif cmd == "client" and len(sys.argv) == 4:
        client(workdir, sys.argv[3])
    elif cmd == "h2" and len(sys.argv) == 4:
        h2(workdir, sys.argv[3])
    elif cmd == "report":
        return report(workdir)
    else:
        sys.stderr.write("soak-load.py: bad arguments\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
