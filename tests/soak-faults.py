# soak-faults.py: the faults of make soak (tests/soak.sh), and its memory
# samples. Run by /usr/bin/python3 while tests/soak-load.py sends reviews:
#
#   soak-faults.py WORKDIR
#
# WORKDIR/faults.json says what to act on (PIDs, paths, the schedule; see
# soak.sh). Until its deadline, this process:
#
# - kills a gilly worker with SIGKILL every few seconds: a random one of
#   lighttpd's gilly children, but never the longest-lived one, so that one
#   worker lives through the run (or from the last certificate renewal on)
#   and its memory can be compared from start to end;
# - publishes a new version of the table every few seconds as the kubelet
#   publishes a ConfigMap (a new ..VERSION directory, a new ..data link
#   renamed over the old one, the old directory removed): alternately the
#   two good tables, and now and then a broken one, which must leave the
#   last good table in force;
# - renews the certificate (gencert.sh on the TLS directory, the same CA)
#   a few times in the first half of the run; serve.sh notices and has
#   lighttpd restart gracefully, which respawns every worker. Broken
#   tables are published during renewals too: the respawned workers start
#   from the last good table the workers share;
# - samples VmRSS and RssAnon of lighttpd and of each worker every second.
#
# It writes one line per event to WORKDIR/events.log and one per process
# and sample to WORKDIR/rss.log; times are time.time() (CLOCK_REALTIME),
# as in the clients' logs. It ends early, with status 3, if lighttpd or
# serve.sh goes away, or when the server has not answered GET /healthz
# (with any status) for a while: then it writes what lighttpd and its
# children are doing (wchan, syscall, kernel stack, open files) to
# WORKDIR/stall.txt.
import json
import os
import random
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time


def proc_stat(pid):
    """(ppid, starttime in ticks, state) of pid, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[19]), rest[0]


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return ""


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[2] != "Z"


def workers(parent):
    """The live gilly children of parent: {pid: starttime}."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        pid = int(d)
        st = proc_stat(pid)
        if st is None or st[0] != parent or st[2] == "Z":
            continue
        if comm(pid) == "gilly":
            out[pid] = st[1]
    return out


def memory(pid):
    """(VmRSS, RssAnon) of pid in KiB, or None."""
    rss = anon = None
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("RssAnon:"):
                    anon = int(line.split()[1])
    except OSError:
        return None
    if rss is None:
        return None
    return rss, anon if anon is not None else -1


class Faults:
    def __init__(self, workdir):
        self.dir = workdir
        with open(os.path.join(workdir, "faults.json")) as f:
            self.cf = json.load(f)
        self.rng = random.Random(self.cf["seed"])
        self.events = open(os.path.join(workdir, "events.log"), "a",
                           buffering=1)
        self.rss = open(os.path.join(workdir, "rss.log"), "a",
                        buffering=1)
        self.lighttpd = self.cf["lighttpd_pid"]
        self.serve = self.cf["serve_pid"]
        self.cm = self.cf["configmap"]
        self.version = 0
        self.on_disk = self.cf["initial_table"]
        self.last_good = self.on_disk
        self.good = [t for t in self.cf["tables"] if t["good"]]
        self.broken = [t for t in self.cf["tables"] if not t["good"]]
        self.renewing = None    # (started, restarts counted before)
        self.log_at = 0         # restarts(): how far the log was read
        self.log_rest = b""     # and the start of a line not yet ended
        self.starts = 0

    def event(self, *words):
        self.events.write(" ".join(str(w) for w in words) + "\n")

    # --- the table, as the kubelet updates a ConfigMap ---------------------

    def publish(self, table):
        self.version += 1
        name = "..soak_%06d" % self.version
        d = os.path.join(self.cm, name)
        os.mkdir(d)
        if table["file"] is not None:
            # A broken version may lack the file (a key gone from the map).
            shutil.copyfile(table["file"], os.path.join(d, "gilly.yaml"))
        data = os.path.join(self.cm, "..data")
        old = os.readlink(data)
        tmp = os.path.join(self.cm, "..data_tmp")
        t0 = time.time()
        os.symlink(name, tmp)
        os.rename(tmp, data)
        t1 = time.time()
        shutil.rmtree(os.path.join(self.cm, old))
        self.on_disk = table["name"]
        if table["good"]:
            self.last_good = table["name"]
        self.event("%.6f" % t0, "swap", table["name"],
                   "good" if table["good"] else "broken", "%.6f" % t1)

    def swap(self):
        current = next((t for t in self.cf["tables"]
                        if t["name"] == self.on_disk), None)
        if self.broken and self.rng.random() < self.cf["broken_share"]:
            table = self.rng.choice(self.broken)
        else:
            # The other good table: each good swap changes the answers.
            table = next(t for t in self.good
                         if t["name"] != self.last_good)
        if current is not None and table["name"] == current["name"]:
            return
        self.publish(table)

    # --- workers ------------------------------------------------------------

    def kill(self):
        w = workers(self.lighttpd)
        if len(w) < 2:
            return
        oldest = min(w, key=lambda p: (w[p], p))
        victim = self.rng.choice(sorted(p for p in w if p != oldest))
        # The time before the signal: lighttpd may answer a request with
        # the error before this process looks at the clock again.
        t = time.time()
        try:
            os.kill(victim, signal.SIGKILL)
        except OSError:
            return
        self.event("%.6f" % t, "kill", victim)

    # --- certificate --------------------------------------------------------

    def restarts(self):
        """lighttpd's starts so far, as its error log counts them. The log
        grows fast (a few lines per review): read on from where the last
        look ended."""
        with open(self.cf["server_log"], "rb") as f:
            f.seek(self.log_at)
            data = self.log_rest + f.read()
        cut = data.rfind(b"\n") + 1
        self.log_at += len(data) - len(self.log_rest)
        self.log_rest = data[cut:]
        self.starts += data[:cut].count(b"server started")
        return self.starts

    def renew(self):
        self.event("%.6f" % time.time(), "renew-start")
        subprocess.run(["sh", self.cf["gencert"], self.cf["tls_dir"],
                        "127.0.0.1", "localhost"], check=True)
        self.renewing = (time.time(), self.restarts())
        self.event("%.6f" % time.time(), "renew-written", self.on_disk)

    def served_cert(self):
        """The certificate the server presents now (DER), or None."""
        ctx = ssl.create_default_context(cafile=self.cf["ca"])
        try:
            with socket.create_connection(("127.0.0.1", self.cf["port"]),
                                          5) as s:
                with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                    return t.getpeercert(binary_form=True)
        except (OSError, ssl.SSLError):
            return None

    def renew_check(self, now):
        started, before = self.renewing
        if self.restarts() > before and \
                len(workers(self.lighttpd)) >= self.cf["workers"]:
            with open(os.path.join(self.cf["tls_dir"], "tls.crt")) as f:
                want = ssl.PEM_cert_to_DER_cert(f.read())
            got = self.served_cert()
            self.event("%.6f" % now, "renew-restarted",
                       "%.3f" % (now - started),
                       "served" if got == want else "NOT-SERVED")
            self.renewing = None
            return True
        if now - started > self.cf["renew_timeout"]:
            self.event("%.6f" % now, "renew-timeout")
            self.renewing = None
            return True
        return False

    # --- a server that no longer answers -----------------------------------

    def probe(self):
        """Whether the server answers GET /healthz with any HTTP status
        (a 503 of lighttpd is an answer; a stalled lighttpd gives none)."""
        ctx = ssl.create_default_context(cafile=self.cf["ca"])
        try:
            with socket.create_connection(("127.0.0.1", self.cf["port"]),
                                          2) as s:
                s.settimeout(2)
                with ctx.wrap_socket(s, server_hostname="127.0.0.1") as t:
                    t.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              b"Connection: close\r\n\r\n")
                    return t.recv(16).startswith(b"HTTP/")
        except (OSError, ssl.SSLError):
            return False

    def stall_report(self, now, since):
        """What lighttpd and its children are doing, into stall.txt."""
        def read(path):
            try:
                with open(path, errors="replace") as f:
                    return f.read().strip()
            except OSError as e:
                return "(%s)" % e.strerror
        out = ["no answer from the server since %.1f s" %
               (since - self.cf["start"])]
        pids = [self.lighttpd] + sorted(
            int(d) for d in os.listdir("/proc") if d.isdigit() and
            (proc_stat(int(d)) or (0,))[0] == self.lighttpd)
        for pid in pids:
            st = proc_stat(pid)
            out.append("%d %s state %s wchan %s syscall %s" % (
                pid, comm(pid), st[2] if st else "-",
                read("/proc/%d/wchan" % pid), read("/proc/%d/syscall" % pid)))
            out.append("  stack: " + read("/proc/%d/stack" % pid).replace(
                "\n", " | "))
            out.append("  fds: " + " ".join(
                "%s->%s" % (fd, os.readlink("/proc/%d/fd/%s" % (pid, fd)))
                for fd in sorted(os.listdir("/proc/%d/fd" % pid), key=int))
                if os.path.isdir("/proc/%d/fd" % pid) else "  fds: -")
        with open(os.path.join(self.dir, "stall.txt"), "w") as f:
            f.write("\n".join(out) + "\n")

    # --- memory -------------------------------------------------------------

    def sample(self, now):
        m = memory(self.lighttpd)
        if m is not None:
            self.rss.write("%.3f lighttpd %d %d %d\n" % (now, self.lighttpd,
                                                         m[0], m[1]))
        for pid in sorted(workers(self.lighttpd)):
            m = memory(pid)
            if m is not None:
                self.rss.write("%.3f worker %d %d %d\n" % (now, pid, m[0],
                                                           m[1]))

    # --- the schedule -------------------------------------------------------

    def run(self):
        cf = self.cf
        start = cf["start"]
        end = start + cf["seconds"]
        kill_at = start + self.rng.uniform(*cf["kill_every"])
        swap_at = start + self.rng.uniform(*cf["swap_every"])
        # Renewals spread over the first half of the run.
        n = cf["renewals"]
        renew_at = [start + cf["seconds"] / 2 * (k + 1) / (n + 1)
                    for k in range(n)]
        sample_at = start
        answered = start        # the last time the server answered
        last_restart = None
        span_noted = False
        self.event("%.6f" % start, "start", cf["initial_table"])
        status = 0
        while True:
            now = time.time()
            if now >= end:
                break
            if not alive(self.lighttpd) or not alive(self.serve):
                self.event("%.6f" % now, "died",
                           "lighttpd" if not alive(self.lighttpd)
                           else "serve.sh")
                status = 3
                break
            if now >= sample_at:
                self.sample(now)
                sample_at += 1
                if self.probe():
                    answered = time.time()
                elif time.time() - answered > cf["stall"]:
                    # Nothing more to learn from the run: say where
                    # lighttpd is stuck, and end it.
                    self.event("%.6f" % now, "stalled",
                               "%.1f" % (answered - start))
                    self.stall_report(now, answered)
                    status = 3
                    break
            if self.renewing is not None and self.renew_check(now):
                last_restart = now
            if (not span_noted and not renew_at and self.renewing is None
                    and now >= (last_restart or start) + cf["warmup"]):
                # From here on no worker is replaced but by a kill.
                self.event("%.6f" % now, "span-start")
                span_noted = True
            if renew_at and now >= renew_at[0] and self.renewing is None:
                renew_at.pop(0)
                self.renew()
            if cf["kill_every"][1] > 0 and now >= kill_at:
                self.kill()
                kill_at = now + self.rng.uniform(*cf["kill_every"])
            if cf["swap_every"][1] > 0 and now >= swap_at:
                self.swap()
                swap_at = now + self.rng.uniform(*cf["swap_every"])
            time.sleep(0.02)
        self.sample(time.time())
        self.event("%.6f" % time.time(), "end", self.on_disk,
                   self.last_good)
        return status


def main():
    if len(sys.argv) != 2:
        sys.stderr.write("usage: soak-faults.py WORKDIR\n")
        return 2
    return Faults(sys.argv[1]).run()


if __name__ == "__main__":
    sys.exit(main())
