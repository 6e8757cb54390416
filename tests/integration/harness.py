"""Integration-test harness: starts the dev broker, a throwaway PostgreSQL
and hl7flow services as real processes on loopback, reads topics back with
`hl7flow consume` (librdkafka), and runs test functions with a summary line
CI can read ("<suite>: N passed, N failed").

Run with Debian's /usr/bin/python3 (tests/run.sh does). Binaries come from
$BIN (default bin/). Every process a test starts is stopped when the suite
ends, whatever happens.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.join(REPO, os.environ.get("BIN", "bin"))
SHARED = os.path.join(REPO, "..", "shared")

# Client settings every test process gets: the mock cluster answers an idle
# fetch only after fetch.wait.max.ms, so keep it low (docs/devbroker.md).
CLIENT_ENV = {
    "KAFKA_FETCH_WAIT_MAX_MS": "5",
    "KAFKA_SOCKET_TIMEOUT_MS": "10000",
    # A killed member holds its partitions until the session times out;
    # keep that short so restart tests take seconds, not 45 s.
    "KAFKA_SESSION_TIMEOUT_MS": "6000",
    "KAFKA_HEARTBEAT_INTERVAL_MS": "500",
    # The mock cluster drops transactional offsets (docs/devbroker.md).
    "HL7FLOW_EOS_MIRROR_COMMIT": "true",
}


class TestFailure(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def _short(x):
    r = repr(x)
    return r if len(r) <= 300 else r[:300] + f"... ({len(x) if hasattr(x, '__len__') else '?'} items)"


def check_eq(got, want, what):
    if got != want:
        extra = ""
        if isinstance(got, (list, set)) and isinstance(want, (list, set)):
            g, w = set(got), set(want)
            extra = (f" [missing {len(w - g)}: {_short(sorted(w - g)[:10])}; unexpected "
                     f"{len(g - w)}: {_short(sorted(g - w)[:10])}; sizes {len(got)} vs {len(want)}]")
        raise TestFailure(f"{what}: got {_short(got)}, want {_short(want)}{extra}")


def wait_for(pred, timeout, what, interval=0.1):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval)
    raise TestFailure(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


class Proc:
    """A child process with its output in a log file."""

    def __init__(self, name, argv, env, workdir):
        self.name = name
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.log = open(self.log_path, "ab")
        self.p = subprocess.Popen(argv, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                  cwd=REPO)

    def alive(self):
        return self.p.poll() is None

    def term(self, timeout=30):
        if self.alive():
            self.p.send_signal(signal.SIGTERM)
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            raise TestFailure(f"{self.name} did not exit within {timeout}s of SIGTERM")

    def kill(self):
        if self.alive():
            self.p.kill()
        return self.p.wait()

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def log_events(self):
        out = []
        for line in self.output().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out


class Env:
    """One suite's world: temp dir, dev broker, optional PostgreSQL."""

    def __init__(self, suite):
        self.suite = suite
        self.dir = tempfile.mkdtemp(prefix=f"hl7flow-{suite}-")
        os.chmod(self.dir, 0o755)  # PostgreSQL runs as `postgres` and must reach pg/
        self.procs = []
        self.bootstrap = None
        self.pg_dir = None
        self.devbroker = None
        self.devbroker_http = None

    # ---- processes -----------------------------------------------------
    def env(self, extra=None):
        e = dict(os.environ)
        e.update(CLIENT_ENV)
        if self.bootstrap:
            e["KAFKA_BOOTSTRAP_SERVERS"] = self.bootstrap
        e.setdefault("HL7FLOW_HTTP_PORT", "-1")
        if extra:
            e.update({k: str(v) for k, v in extra.items()})
        return e

    def start(self, name, argv, extra_env=None):
        p = Proc(name, argv, self.env(extra_env), self.dir)
        self.procs.append(p)
        return p

    def run(self, argv, extra_env=None, timeout=120, input_bytes=None, check_rc=True):
        r = subprocess.run(argv, env=self.env(extra_env), cwd=REPO, input=input_bytes,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
        if check_rc and r.returncode != 0:
            raise TestFailure(f"{argv[0]} exited {r.returncode}: {r.stderr.decode()[-2000:]}")
        return r

    # ---- dev broker ----------------------------------------------------
    def start_devbroker(self, brokers=3, http_port=None):
        if http_port == 0:
            http_port = free_port()
        self.devbroker_http = http_port
        bf = os.path.join(self.dir, "bootstrap")
        argv = [os.path.join(BIN, "hl7flow"), "devbroker", "--brokers", str(brokers),
                "--topics", os.path.join(REPO, "schemas", "topics"), "--bootstrap-file", bf]
        if http_port is not None:
            argv += ["--http-port", str(http_port)]
        self.devbroker = self.start("devbroker", argv)
        wait_for(lambda: os.path.exists(bf) and open(bf).read().strip(), 30, "dev broker bootstrap file")
        self.bootstrap = open(bf).read().strip()
        return self.bootstrap

    # ---- PostgreSQL ----------------------------------------------------
    def start_postgres(self):
        self.pg_dir = os.path.join(self.dir, "pg")
        r = subprocess.run([os.path.join(REPO, "scripts", "pg.sh"), "start", self.pg_dir],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
        if r.returncode != 0:
            raise TestFailure("postgres did not start: " + r.stderr.decode())
        return r.stdout.decode().strip()

    def stop_postgres(self):
        if self.pg_dir:
            subprocess.run([os.path.join(REPO, "scripts", "pg.sh"), "stop", self.pg_dir],
                           timeout=60)
            self.pg_dir = None

    # ---- topics --------------------------------------------------------
    def gen(self, count, seed=1, malformed=0, extra=("--facilities", "24")):
        path = os.path.join(self.dir, f"gen-{seed}-{count}-{malformed}-{len(extra)}.mllp")
        if not os.path.exists(path):
            self.run([os.path.join(BIN, "hl7flow"), "gen", "--seed", str(seed), "--count", str(count),
                      "--malformed", str(malformed), "--out", path, *extra])
        return path

    def offsets(self, topics):
        """{topic: {"partitions", "start", "end"}}: end = records ever written."""
        r = self.run([os.path.join(BIN, "hl7flow"), "offsets", "--topic", ",".join(topics)])
        return json.loads(r.stdout.decode())

    def produce(self, topic, path, rate=0):
        r = self.run([os.path.join(BIN, "hl7flow"), "produce", "--topic", topic, "--input", path,
                      "--rate", str(rate)], timeout=300)
        return json.loads(r.stdout.decode().strip().splitlines()[-1])

    def consume(self, topic, idle_ms=3000, count=None, timeout_ms=120000, group=None,
                uncommitted=False):
        argv = [os.path.join(BIN, "hl7flow"), "consume", "--topic", topic, "--idle-ms",
                str(idle_ms), "--timeout-ms", str(timeout_ms)]
        if count:
            argv += ["--count", str(count)]
        if group:
            argv += ["--group", group]
        elif not count:
            argv += ["--eof"]
        if uncommitted:
            argv += ["--read-uncommitted"]
        r = self.run(argv, timeout=timeout_ms / 1000 + 30, check_rc=False)
        if r.returncode not in (0, 3):
            raise TestFailure(f"consume {topic} exited {r.returncode}: {r.stderr.decode()[-2000:]}")
        recs = []
        for line in r.stdout.decode().splitlines():
            rec = json.loads(line)
            rec["headers"] = [(k, v) for k, v in rec["headers"]]
            recs.append(rec)
        return recs

    def close(self):
        for p in reversed(self.procs):
            if p.alive():
                try:
                    p.p.send_signal(signal.SIGTERM)
                    p.p.wait(10)
                except subprocess.TimeoutExpired:
                    p.p.kill()
                    p.p.wait()
        self.stop_postgres()
        if os.environ.get("HL7FLOW_KEEP_TMP"):
            print(f"# kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def header(rec, name):
    """Last value of header @name in a consumed record, or None."""
    val = None
    for k, v in rec["headers"]:
        if k == name:
            val = v
    return val


def http_get(port, path, timeout=5):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except (urllib.error.URLError, ConnectionError, OSError):
        return 0, ""


def free_port():
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_suite(suite, tests, needs_broker=True, needs_postgres=False, devbroker_http=False):
    """Runs @tests (list of functions taking an Env) in one Env; prints TAP
    style lines and the closing summary; exits non-zero on failure."""
    passed = failed = 0
    env = Env(suite)
    try:
        if needs_broker:
            env.start_devbroker(http_port=0 if devbroker_http else None)
        if needs_postgres:
            env.start_postgres()
        for t in tests:
            t0 = time.time()
            try:
                t(env)
                passed += 1
                print(f"ok - {suite}.{t.__name__} ({time.time() - t0:.1f}s)", flush=True)
            except Exception as e:  # noqa: BLE001 - report every failure kind
                failed += 1
                print(f"not ok - {suite}.{t.__name__}: {e}", flush=True)
                traceback.print_exc(limit=3)
    except Exception as e:  # noqa: BLE001
        failed += 1
        print(f"not ok - {suite} setup: {e}", flush=True)
        traceback.print_exc(limit=3)
    finally:
        env.close()
    print(f"{suite}: {passed} passed, {failed} failed", flush=True)
    sys.exit(0 if failed == 0 else 1)
