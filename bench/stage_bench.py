"""Stage benchmark: the relay stage (the shared stage loop, common/src/stage.c,
with a do-nothing transform) against a produce/consume baseline with no
stage, on the dev broker (librdkafka's mock cluster).

For each configuration (1 hop / 3 hops x exactly-once / at-least-once, and
exactly-once with HL7FLOW_BATCH_MAX=2000, throughput only) it starts a fresh
dev broker and the relay processes, then measures pairs of runs back to back:
the baseline (0 hops: produce to a topic no stage reads) and the chain. Two
measurements:

  throughput  unthrottled: N generated messages produced as fast as
              `hl7flow produce` goes; time from the first produced record
              (its ingest_ts) until the end offsets of the chain's last topic
              have grown by N (polled every 2 ms by bench/benchwatch.c);
  latency     steady --rate: end-to-end latency (receive time - ingest_ts)
              read from the last topic, p50/p99/p999.

Each figure is the median of the runs; each ratio is the median of the
per-pair ratios (stage / baseline of the same pair). Counts are verified with
`hl7flow offsets` (end offsets of every chain topic grow by exactly N; the
dev broker keeps only ~5 MiB per partition, so reading topics back cannot
count them). Writes build/bench/stage-bench.json and the "Relay throughput"
and "End-to-end latency" sections of bench/RESULTS.md, keeping every other
section.

Then "<Stage> stage vs relay" for every stage of BENCH_SVR (default
"parser"; issue 3's target for the parser: >= 0.80x a do-nothing relay):
per stage and guarantee (BENCH_PVR) a fresh dev broker with one
hl7flow-relay (hl7.linked -> the stage's first output, copies the bytes)
and the stage (its own input -> its outputs, STAGES below), same
HL7FLOW_BATCH_MAX; BENCH_PVR_RUNS alternating pairs, each run feeding one
stage only and timed like the throughput runs above (summed end offsets
of the stage's outputs: records grow along the chain, beyond what the dev
broker keeps). The parser is fed the HL7 file (--malformed 0) by `hl7flow
produce`; a stage that reads records (enricher, router) gets them from its
upstream stages, run once per dev broker: `benchwatch dump` writes their
output to a file and `benchwatch replay` feeds it to the stage or the
relay in every run (as many records as keep the run's bytes those of the
HL7 runs). Medians of msgs/s and of the per-pair ratio stage / relay;
writes the "<Stage> stage vs relay" sections.

Also per run: CPU time of every process (/proc), and how busy the machine
was with processes that are not ours (other engineers' builds and fuzzers),
so a slow result can be told from a slow machine.

Run by bench/run.sh (BIN and BENCHWATCH set). Knobs (environment):
BENCH_RUNS (5), BENCH_LAT_RUNS (3), BENCH_MESSAGES (13000; keep the busiest
partition under ~3 MiB), BENCH_LAT_MESSAGES (25000), BENCH_RATE (5000),
BENCH_CONFIGS (comma-separated hops:guarantee[:VAR=VALUE[+VAR=VALUE]][:tp],
default DEFAULT_CONFIGS below; "tp" = no latency runs; none = no relay-chain configurations),
BENCH_RELAY_ENV (JSON object of extra relay variables, e.g.
'{"HL7FLOW_BATCH_MAX":"2000"}'), BENCH_PVR (guarantees of the parser-vs-relay runs,
default "exactly-once,at-least-once"; none = skip), BENCH_PVR_RUNS (5),
BENCH_PVR_BATCH_MAX (2000, both stages), BENCH_SVR (stages compared with a
relay: comma-separated names of STAGES, "all", or "none"; default parser),
BENCH_NOTES_PVR / BENCH_NOTES_<STAGE> (a note under a section), BENCH_NO_RESULTS=1 (do not touch
RESULTS.md), BENCH_RESULTS (another results file, for trying the script).
"""
import datetime
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from harness import BIN, REPO, Env, TestFailure, free_port, http_get, wait_for  # noqa: E402

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
LAT_RUNS = int(os.environ.get("BENCH_LAT_RUNS", "3"))
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "13000"))
LAT_MESSAGES = int(os.environ.get("BENCH_LAT_MESSAGES", "25000"))
RATE = int(os.environ.get("BENCH_RATE", "5000"))
DEFAULT_CONFIGS = ("1:exactly-once,1:at-least-once,3:exactly-once,3:at-least-once,"
                   "1:exactly-once:HL7FLOW_BATCH_MAX=2000:tp,3:exactly-once:HL7FLOW_BATCH_MAX=2000:tp")


def parse_config(spec):
    """hops:guarantee[:VAR=VALUE[+VAR=VALUE...]][:tp] -> dict; "tp" = throughput only."""
    parts = spec.strip().split(":")
    hops, guarantee = int(parts[0]), parts[1]
    if hops not in (1, 2, 3) or guarantee not in ("exactly-once", "at-least-once"):
        sys.exit(f"bench: bad configuration '{spec}' (hops 1..3, exactly-once|at-least-once)")
    env, latency = {}, True
    for extra in parts[2:]:
        if extra == "tp":
            latency = False
        elif extra:
            env.update(kv.split("=", 1) for kv in extra.split("+"))
    return {"hops": hops, "guarantee": guarantee, "env": env, "latency": latency}


CONFIGS = [parse_config(c) for c in os.environ.get("BENCH_CONFIGS", DEFAULT_CONFIGS).split(",")
           if c.strip() and c.strip() != "none"]
RELAY_ENV = json.loads(os.environ.get("BENCH_RELAY_ENV", "{}"))
BENCHWATCH = os.environ.get("BENCHWATCH", os.path.join(REPO, "build", "release", "bench",
                                                       "benchwatch"))
RESULTS = os.environ.get("BENCH_RESULTS", os.path.join(HERE, "RESULTS.md"))
FACILITIES = "24"

# Stage vs relay (issue 3 for the parser; the same measurement for every
# stage): guarantees measured, pairs, batch size, stages (BENCH_SVR).
PVR_GUARANTEES = [g.strip() for g in os.environ.get("BENCH_PVR", "exactly-once,at-least-once")
                  .split(",") if g.strip() and g.strip() != "none"]
PVR_RUNS = int(os.environ.get("BENCH_PVR_RUNS", "5"))
PVR_MESSAGES = MESSAGES  # the same generated file as the relay throughput runs
PVR_BATCH_MAX = os.environ.get("BENCH_PVR_BATCH_MAX", "2000")
PVR_TARGET = 0.80
PVR_PARSER_IN = "hl7.raw.ingest"  # the parser's own input topic
PVR_RELAY_IN = "hl7.linked"       # 12 partitions; no stage under test reads it
PVR_OUT = "hl7.validated"
PVR_DLQ = "hl7.dlq"
for _g in PVR_GUARANTEES:
    if _g not in ("exactly-once", "at-least-once"):
        sys.exit(f"bench: bad BENCH_PVR guarantee '{_g}'")

# The stages a relay is compared with. "upstream": the stages that make the
# stage's input from raw HL7 (run once per dev broker, their output dumped
# to a file by `benchwatch dump` and replayed into the input by `benchwatch
# replay` for every run; no upstream = fed the HL7 file by `hl7flow
# produce`). "env": settings the stage needs on the dev broker (bench-only
# values, never production ones).
PARSED = ["hl7.parsed.adt", "hl7.parsed.orm", "hl7.parsed.oru", "hl7.parsed.dft",
          "hl7.parsed.mdm"]
STAGES = {
    "parser": {"binary": "hl7flow-parser", "input": "hl7.raw.ingest",
               "outputs": ["hl7.validated"], "upstream": [], "env": {},
               "does": "parse, validate, encode"},
    "enricher": {"binary": "hl7flow-enricher", "input": "hl7.validated",
                 "outputs": ["hl7.enriched"], "upstream": ["parser"],
                 "env": {"ENRICHER_UNKNOWN_FACILITY": "pass"},
                 "does": "decode, enrich, encode"},
    "router": {"binary": "hl7flow-router", "input": "hl7.enriched", "outputs": PARSED,
               "upstream": ["parser", "enricher"],
               "env": {"HL7FLOW_MRN_HASH_KEY": "bench-only-mrn-hash-key-0123456789"},
               "does": "decode, hash the MRN, route"},
}
_svr = os.environ.get("BENCH_SVR", "parser")
SVR_STAGES = (list(STAGES) if _svr == "all" else
              [x.strip() for x in _svr.split(",") if x.strip() and x.strip() != "none"])
for _st in SVR_STAGES:
    if _st not in STAGES:
        sys.exit(f"bench: BENCH_SVR: unknown stage '{_st}' (one of {', '.join(STAGES)}, all)")

CHAIN = ["hl7.raw.ingest", "hl7.validated", "hl7.enriched", "hl7.parsed.adt"]
PEER = "hl7.parsed.mdm"  # baseline topic: 12 partitions like the chain, read by no stage
GUAR_SHORT = {"exactly-once": "EOS", "at-least-once": "ALO"}

# `hl7flow produce` (librdkafka 2.0.2) sometimes sends its first records only
# ~1 s after the first producev(): the topic's metadata is not requested with
# the client's first metadata request and waits for the 1 s topic scan
# (debug log: "NOINFO ... metadata information unknown" one second in). A run
# whose first record reached the broker that late measures the producer's
# start-up, not the stage: it is repeated (up to MAX_TRIES) and counted.
STALL_SPAN_MS = 300   # first record produced -> visible; normally 5-15 ms
STALL_LAT_MS = 500    # worst latency of the first 1% of a latency run
MAX_TRIES = 10  # a stall hit ~1 run in 3 on a busy machine; 10 in a row: ~1e-5


def log(msg):
    print(f"bench: {msg}", flush=True)


# ---- inputs ------------------------------------------------------------------

def payload_bytes(path):
    """Bytes of HL7 in an MLLP file (what becomes record values)."""
    data = open(path, "rb").read()
    total = n = 0
    pos = 0
    while True:
        s = data.find(b"\x0b", pos)
        if s < 0:
            break
        e = data.find(b"\x1c\x0d", s + 1)
        if e < 0:
            break
        total += e - s - 1
        n += 1
        pos = e + 2
    return n, total


def gen(env, count, seed):
    return env.gen(count, seed=seed, extra=("--facilities", FACILITIES))


# ---- process accounting -------------------------------------------------------

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def cpu_snapshot(procs):
    return {name: cpu_seconds(p.p.pid) for name, p in procs.items()}


def children_cpu():
    """CPU seconds of every child process waited for so far."""
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_produce(env, topic, path, rate=0):
    """Runs `hl7flow produce`; returns its JSON summary."""
    r = env.run([os.path.join(BIN, "hl7flow"), "produce", "--topic", topic, "--input", path,
                 "--rate", str(rate)], timeout=300)
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def system_busy():
    """CPU seconds all processes of the machine have used (from /proc/stat)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:8]]
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / TICK  # user nice system irq softirq


class LoadMeter:
    """Measures, over a run, how many cores processes that are not ours kept
    busy (other engineers' builds, fuzzers): the machine's busy time minus
    the CPU time of the run's processes and of this script."""

    def __init__(self, procs):
        self.procs = procs
        self.t0 = time.time()
        self.busy0 = system_busy()
        self.ours0 = self._ours()

    def _ours(self):
        me = resource.getrusage(resource.RUSAGE_SELF)
        return (sum(cpu_snapshot(self.procs).values()) + children_cpu() + me.ru_utime
                + me.ru_stime)

    def foreign_cores(self):
        wall = max(time.time() - self.t0, 1e-3)
        return max(0.0, (system_busy() - self.busy0) - (self._ours() - self.ours0)) / wall


def start_watch(env, argv):
    w = subprocess.Popen([BENCHWATCH, *argv], env=env.env(), cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    line = w.stdout.readline()
    if not line.startswith('{"ready":true'):
        w.kill()
        raise TestFailure(f"benchwatch did not start: {line!r} {w.stderr.read()[-2000:]}")
    return w


def finish_watch(w, what):
    out, err = w.communicate(timeout=300)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    if w.returncode != 0 or not lines:
        raise TestFailure(f"benchwatch ({what}) exited {w.returncode}: {err[-2000:]}")
    return json.loads(lines[-1])


# ---- one configuration -------------------------------------------------------

class Chain:
    """A fresh dev broker and `hops` relay processes: raw -> ... -> CHAIN[hops]."""

    def __init__(self, hops, guarantee, relay_env):
        self.hops = hops
        self.guarantee = guarantee
        self.relay_env = relay_env
        self.env = Env(f"bench-{hops}-{GUAR_SHORT[guarantee]}")
        self.ports = []
        self.relays = {}
        self.stalls = 0  # runs repeated because `hl7flow produce` stalled at start

    def start(self):
        self.env.start_devbroker()
        for i in range(self.hops):
            port = free_port()
            self.ports.append(port)
            extra = {"HL7FLOW_INPUT_TOPICS": CHAIN[i], "HL7FLOW_OUTPUT_TOPIC": CHAIN[i + 1],
                     "HL7FLOW_GROUP_ID": f"bench-relay-{i + 1}", "HL7FLOW_HTTP_PORT": port,
                     "HL7FLOW_GUARANTEE": self.guarantee,
                     "HL7FLOW_TRANSACTIONAL_ID": f"bench-relay-{i + 1}"}
            extra.update(RELAY_ENV)
            extra.update(self.relay_env)
            self.relays[f"relay{i + 1}"] = self.env.start(
                f"relay{i + 1}", [os.path.join(BIN, "hl7flow-relay")], extra)
        wait_for(lambda: all(http_get(p, "/readyz")[0] == 200 for p in self.ports), 60,
                 "relays assigned")

    @property
    def last(self):
        return CHAIN[self.hops]

    def procs(self):
        d = {"broker": self.env.devbroker}
        d.update(self.relays)
        return d

    def ends(self, topics):
        return {t: o["end"] for t, o in self.env.offsets(topics).items()}

    def metrics(self):
        """Summed stage counters over the relays: records in, batches, commit seconds."""
        tot = {"records": 0.0, "batches": 0.0, "commit_s": 0.0, "commits": 0.0, "aborted": 0.0}
        keys = {"hl7flow_records_in_total": "records", "hl7flow_batches_committed_total": "batches",
                "hl7flow_batch_commit_seconds_sum": "commit_s",
                "hl7flow_batch_commit_seconds_count": "commits",
                "hl7flow_transactions_aborted_total": "aborted"}
        for p in self.ports:
            for line in http_get(p, "/metrics")[1].splitlines():
                name = line.split("{", 1)[0].split(" ", 1)[0]
                if name in keys:
                    tot[keys[name]] += float(line.rsplit(" ", 1)[1])
        return tot

    def feed(self, topic, path, rate=0):
        """Produces the run's input (`hl7flow produce` of an HL7 file)."""
        return run_produce(self.env, topic, path, rate)

    def throughput_run(self, topic_in, topic_out, path, count, topics, out_group=None):
        """One unthrottled run, repeated when the producer stalled at start.
        @topic_out may be a comma-separated list (counted together);
        @out_group: topics whose summed growth must reach @count (each of
        @topics must grow by @count on its own)."""
        for _ in range(MAX_TRIES):
            r = self._throughput_once(topic_in, topic_out, path, count, topics, out_group)
            w = r["watch"]
            if (w["first_seen_us"] - w["first_us"]) / 1000 < STALL_SPAN_MS:
                return r
            self.stalls += 1
            log(f"  run repeated: the first record reached the broker "
                f"{(w['first_seen_us'] - w['first_us']) / 1000:.0f} ms after it was produced")
        raise TestFailure(f"the producer stalled {MAX_TRIES} times in a row")

    def _throughput_once(self, topic_in, topic_out, path, count, topics, out_group=None):
        out_group = out_group or []
        before = self.ends(topics + out_group)
        w = start_watch(self.env, ["span", "--first", topic_in, "--last", topic_out, "--count",
                                   str(count), "--timeout-ms", "120000"])
        meter = LoadMeter(self.procs())
        cpu0, ch0 = cpu_snapshot(self.procs()), children_cpu()
        prod = self.feed(topic_in, path)
        ch1 = children_cpu()
        res = finish_watch(w, "span")
        cpu1 = cpu_snapshot(self.procs())
        foreign = meter.foreign_cores()
        # Every topic of the path must have grown by exactly `count`: more
        # means duplicates (aborted transactions), less means records lost.
        def reached():
            e = self.ends(topics + out_group)
            return (all(e[t] - before[t] >= count for t in topics) and
                    (not out_group or sum(e[t] - before[t] for t in out_group) >= count))
        wait_for(reached, 30, "every topic of the run to reach the count", interval=0.1)
        time.sleep(0.2)  # let the last commits land before the next run
        e = self.ends(topics + out_group)
        grown = {t: e[t] - before[t] for t in topics}
        if out_group:
            grown["+".join(out_group)] = sum(e[t] - before[t] for t in out_group)
        return {"seconds": res["seconds"], "grown": grown, "producer": prod,
                "foreign_cores": round(foreign, 3),
                "watch": res, "cpu": {**{k: round(cpu1[k] - cpu0[k], 3) for k in cpu0},
                                      "producer": round(ch1 - ch0, 3)}}

    def latency_run(self, topic_in, topic_out, path, count):
        """One steady-rate run, repeated when the producer stalled at start."""
        for _ in range(MAX_TRIES):
            r = self._latency_once(topic_in, topic_out, path, count)
            if r["head_max_ms"] < STALL_LAT_MS:
                return r
            self.stalls += 1
            log(f"  run repeated: the first records arrived after up to "
                f"{r['head_max_ms']:.0f} ms")
        raise TestFailure(f"the producer stalled {MAX_TRIES} times in a row")

    def _latency_once(self, topic_in, topic_out, path, count):
        w = start_watch(self.env, ["latency", "--topic", topic_out, "--count", str(count),
                                   "--timeout-ms", str(int(count / RATE * 1000) + 60000)])
        time.sleep(0.5)  # first fetches under way before the first record
        meter = LoadMeter(self.procs())
        self.feed(topic_in, path, rate=RATE)
        res = finish_watch(w, "latency")
        res["foreign_cores"] = round(meter.foreign_cores(), 3)
        time.sleep(0.2)
        return res

    def close(self):
        self.env.close()


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def config_label(cfg):
    label = f"{cfg['hops']} hop{'s' if cfg['hops'] > 1 else ''} {GUAR_SHORT[cfg['guarantee']]}"
    for k, v in cfg["env"].items():
        label += f", {k.replace('HL7FLOW_', '')} {v}"
    return label


def run_config(cfg, tput_file, lat_file, warm_file):
    hops, guarantee = cfg["hops"], cfg["guarantee"]
    ch = Chain(hops, guarantee, cfg["env"])
    label = config_label(cfg)
    out = dict(cfg, label=label, throughput=[], latency=[])
    try:
        ch.start()
        chain_topics = CHAIN[:hops + 1]
        # Warm-up: connections, metadata, first transactions, through both paths.
        ch.throughput_run(PEER, PEER, warm_file, 2000, [PEER])
        ch.throughput_run(CHAIN[0], ch.last, warm_file, 2000, chain_topics)
        m0 = ch.metrics()
        for r in range(RUNS):
            base = ch.throughput_run(PEER, PEER, tput_file, MESSAGES, [PEER])
            stage = ch.throughput_run(CHAIN[0], ch.last, tput_file, MESSAGES, chain_topics)
            out["throughput"].append({"baseline": base, "stage": stage})
            log(f"{label}: run {r + 1}/{RUNS}: "
                f"baseline {MESSAGES / base['seconds']:,.0f} msgs/s, "
                f"stage {MESSAGES / stage['seconds']:,.0f} msgs/s "
                f"(grown {stage['grown']})")
        m1 = ch.metrics()
        out["metrics"] = {k: m1[k] - m0[k] for k in m0}
        for r in range(LAT_RUNS if cfg["latency"] else 0):
            base = ch.latency_run(PEER, PEER, lat_file, LAT_MESSAGES)
            stage = ch.latency_run(CHAIN[0], ch.last, lat_file, LAT_MESSAGES)
            out["latency"].append({"baseline": base, "stage": stage})
            log(f"{label}: latency run {r + 1}/{LAT_RUNS}: "
                f"baseline p50/p99/p999 {base['p50_ms']:.1f}/{base['p99_ms']:.1f}/"
                f"{base['p999_ms']:.1f} ms, stage {stage['p50_ms']:.1f}/{stage['p99_ms']:.1f}/"
                f"{stage['p999_ms']:.1f} ms")
        lost = [ln for ln in ch.env.devbroker.output().splitlines() if "offset reset" in ln]
        for p in ch.relays.values():
            lost += [ln for ln in p.output().splitlines() if "offset reset" in ln.lower()]
        out["offset_resets"] = len(lost)
        out["stalls"] = ch.stalls
    finally:
        ch.close()
    return out


# ---- stage vs relay -----------------------------------------------------------

def replay_file(env, topic, path, rate=0, count=0):
    """`benchwatch replay`: the dumped records of @path (the first @count,
    0 = all) into @topic; its JSON summary."""
    r = env.run([BENCHWATCH, "replay", "--topic", topic, "--in", path, "--rate", str(rate),
                 "--count", str(count)], timeout=300)
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


class StageVsRelay(Chain):
    """One dev broker with two idle-until-fed stages writing the same
    output: a relay (PVR_RELAY_IN -> the stage's first output, copies the
    bytes) and the stage under test (its own input -> its outputs). Each
    run feeds only one of them, so the other stays idle (its consumer's
    empty fetches are the only cost it adds). A stage that reads records
    (not HL7) gets them from its upstream stages, run once at start:
    their output is dumped to a file (`benchwatch dump`) and every run
    replays it (`benchwatch replay`) into the input of the stage fed."""

    def __init__(self, stage, guarantee, batch_max):
        super().__init__(1, guarantee, {})
        self.stage = stage
        self.spec = STAGES[stage]
        self.env = Env(f"bench-svr-{stage}-{GUAR_SHORT[guarantee]}")
        self.batch_max = batch_max
        self.stage_ports = {}
        self.records = {}  # HL7 file -> dumped input records of the stage
        self.counts = {}   # HL7 file -> records fed per run (see prepare)
        self.relay_in = PVR_RELAY_IN  # a subclass may pick another (bench/linker)

    def stage_env(self, name, topic_in, topic_out, extra):
        port = free_port()
        self.ports.append(port)
        self.stage_ports[name] = port
        e = {"HL7FLOW_INPUT_TOPICS": topic_in, "HL7FLOW_OUTPUT_TOPIC": topic_out,
             "HL7FLOW_GROUP_ID": f"bench-svr-{name}", "HL7FLOW_HTTP_PORT": port,
             "HL7FLOW_GUARANTEE": self.guarantee,
             "HL7FLOW_TRANSACTIONAL_ID": f"bench-svr-{name}",
             "HL7FLOW_BATCH_MAX": self.batch_max}
        e.update(extra)
        return e

    def prepare(self, paths):
        """Dumps the stage's input records made from each HL7 file of
        @paths by the upstream stages (started here, stopped after)."""
        if not self.spec["upstream"]:
            return
        ups = []
        for u in self.spec["upstream"]:
            us = STAGES[u]
            port = free_port()
            extra = {"HL7FLOW_INPUT_TOPICS": us["input"], "HL7FLOW_OUTPUT_TOPIC": us["outputs"][0],
                     "HL7FLOW_GROUP_ID": f"bench-svr-up-{u}", "HL7FLOW_HTTP_PORT": port,
                     "HL7FLOW_GUARANTEE": "at-least-once"}
            extra.update(us["env"])
            ups.append((self.env.start(f"up-{u}", [os.path.join(BIN, us["binary"])], extra), port))
        wait_for(lambda: all(http_get(p, "/readyz")[0] == 200 for _, p in ups), 60,
                 "upstream stages assigned")
        for path in paths:
            n, _ = payload_bytes(path)
            out = path + f".{self.stage}.records"
            w = subprocess.Popen([BENCHWATCH, "dump", "--topic", self.spec["input"], "--count",
                                  str(n), "--out", out, "--timeout-ms", "120000"],
                                 env=self.env.env(), cwd=REPO, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
            if not w.stdout.readline().startswith('{"ready":true'):
                w.kill()
                raise TestFailure(f"benchwatch dump did not start: {w.stderr.read()[-2000:]}")
            run_produce(self.env, PVR_PARSER_IN, path)
            finish_watch(w, "dump")
            self.records[path] = out
            # Records grow along the chain: feed as many as keep the bytes
            # of a run those of the HL7 run (the dev broker keeps ~5 MiB per
            # partition, and the run's first records must still be there
            # when benchwatch reads their ingest_ts).
            _, hl7_bytes = payload_bytes(path)
            self.counts[path] = min(n, int(n * hl7_bytes / max(os.path.getsize(out), 1)))
        for p, _ in ups:
            p.p.send_signal(15)
            p.p.wait(30)

    def start(self, paths=()):
        self.env.start_devbroker()
        self.prepare(paths)
        out0 = self.spec["outputs"][0]
        before = sum(self.ends(self.spec["outputs"]).values())
        queued = sum(self.ends([self.spec["input"]]).values())
        self.relays["relay"] = self.env.start(
            "relay", [os.path.join(BIN, "hl7flow-relay")],
            self.stage_env("relay", self.relay_in, out0, {}))
        # cwd is the repo root (harness): stages find schemas/ and config/
        # with their defaults.
        self.relays[self.stage] = self.env.start(
            self.stage, [os.path.join(BIN, self.spec["binary"])],
            self.stage_env(self.stage, self.spec["input"], out0, self.spec["env"]))
        wait_for(lambda: all(http_get(p, "/readyz")[0] == 200 for p in self.ports), 60,
                 "relay and stage assigned")
        if queued:
            # The upstream's records are still in the input (as much of them
            # as the dev broker kept): let the stage work through them, until
            # its outputs stop growing for a second.
            last = [-1, time.time()]

            def settled():
                n = sum(self.ends(self.spec["outputs"] + [PVR_DLQ]).values())
                if n != last[0]:
                    last[0], last[1] = n, time.time()
                return n > before and time.time() - last[1] >= 1.0
            try:
                wait_for(settled, 120, "the stage to process its prepared input", interval=0.2)
            except TestFailure as e:
                raise TestFailure(f"{e}; {self.stage} log: "
                                  f"{self.relays[self.stage].output()[-3000:]}") from None

    def feed(self, topic, path, rate=0):
        if path in self.records:
            return replay_file(self.env, topic, self.records[path], rate, self.counts[path])
        return run_produce(self.env, topic, path, rate)

    def count(self, path, default):
        """Records one run of @path feeds."""
        return self.counts.get(path, default)

    def stage_metrics(self, name):
        keys = {"hl7flow_records_in_total": "records", "hl7flow_batches_committed_total": "batches",
                "hl7flow_transactions_aborted_total": "aborted"}
        tot = dict.fromkeys(keys.values(), 0.0)
        for line in http_get(self.stage_ports[name], "/metrics")[1].splitlines():
            key = line.split("{", 1)[0].split(" ", 1)[0]
            if key in keys:
                tot[keys[key]] += float(line.rsplit(" ", 1)[1])
        return tot

    def run_stage(self, name, path, count):
        topic_in = self.relay_in if name == "relay" else self.spec["input"]
        outs = self.spec["outputs"]
        dlq0 = self.ends([PVR_DLQ])[PVR_DLQ]
        r = self.throughput_run(topic_in, ",".join(outs), path, count, [topic_in], outs)
        r["dlq_grown"] = self.ends([PVR_DLQ])[PVR_DLQ] - dlq0
        return r


def run_svr(stage, guarantee, tput_file, warm_file, make=None):
    """PVR_RUNS alternating pairs (relay run, stage run; the order flips
    every pair) on one fresh dev broker. Results use the key "parser" for
    the stage under test whatever it is (the JSON of earlier runs did).
    @make: the StageVsRelay (sub)class to use (bench/linker/service_bench.py)."""
    pb = (make or StageVsRelay)(stage, guarantee, PVR_BATCH_MAX)
    out = {"stage": stage, "guarantee": guarantee, "batch_max": PVR_BATCH_MAX, "pairs": []}
    names = {"relay": "relay", "parser": stage}
    try:
        pb.start((tput_file, warm_file))
        for name in ("relay", "parser"):  # warm-up: connections, metadata, schemas
            pb.run_stage(names[name], warm_file, pb.count(warm_file, 2000))
        m0 = {n: pb.stage_metrics(names[n]) for n in ("relay", "parser")}
        count = pb.count(tput_file, PVR_MESSAGES)
        out["messages"] = count
        for r in range(PVR_RUNS):
            pair = {}
            for name in (("relay", "parser") if r % 2 == 0 else ("parser", "relay")):
                pair[name] = pb.run_stage(names[name], tput_file, count)
                pair[name]["cpu"]["parser"] = pair[name]["cpu"].pop(stage, 0.0)
            out["pairs"].append(pair)
            rel, par = (count / pair[n]["seconds"] for n in ("relay", "parser"))
            log(f"{stage} vs relay {GUAR_SHORT[guarantee]}: pair {r + 1}/{PVR_RUNS}: relay "
                f"{rel:,.0f} msgs/s, {stage} {par:,.0f} msgs/s, ratio {par / rel:.2f}")
        m1 = {n: pb.stage_metrics(names[n]) for n in ("relay", "parser")}
        out["metrics"] = {n: {k: m1[n][k] - m0[n][k] for k in m0[n]} for n in m0}
        lost = [ln for ln in pb.env.devbroker.output().splitlines() if "offset reset" in ln]
        for p in pb.relays.values():
            lost += [ln for ln in p.output().splitlines() if "offset reset" in ln.lower()]
        out["offset_resets"] = len(lost)
        out["stalls"] = pb.stalls
    finally:
        pb.close()
    return out


def summarize_pvr(res):
    pairs = res["pairs"]
    N = res.get("messages", PVR_MESSAGES)
    s = {"guarantee": res["guarantee"], "label": GUAR_SHORT[res["guarantee"]],
         "stage": res.get("stage", "parser")}
    for n in ("relay", "parser"):
        xs = [N / p[n]["seconds"] for p in pairs]
        s[f"{n}_msgs"], s[f"{n}_all"] = median(xs), xs
        s[f"{n}_cpu"] = median([p[n]["cpu"].get(n, 0.0) for p in pairs])
        m = res.get("metrics", {}).get(n, {})
        s[f"{n}_batch"] = m["records"] / m["batches"] if m.get("batches") else float("nan")
        s[f"{n}_aborted"] = m.get("aborted", 0)
    # Every process of a run (producer, dev broker, both stages) shares the
    # 2 cores: when they are all busy, throughput is 2 cores / the run's
    # summed CPU per message, so relay CPU / stage CPU bounds the ratio.
    for n in ("relay", "parser"):
        s[f"{n}_total_cpu"] = median([sum(p[n]["cpu"].values()) for p in pairs])
    s["cpu_ceiling"] = (s["relay_total_cpu"] / s["parser_total_cpu"]
                        if s["parser_total_cpu"] else float("nan"))
    s["ratio_pairs"] = [N / p["parser"]["seconds"] / (N / p["relay"]["seconds"])
                        for p in pairs]
    s["ratio"] = median(s["ratio_pairs"])
    s["ratio_of_medians"] = s["parser_msgs"] / s["relay_msgs"]
    s["met"] = s["ratio"] >= PVR_TARGET
    s["foreign"] = [p[n]["foreign_cores"] for p in pairs for n in ("relay", "parser")]
    s["dlq"] = sum(p["parser"]["dlq_grown"] + p["relay"]["dlq_grown"] for p in pairs)
    s["extra"] = max(v - N for p in pairs for n in ("relay", "parser")
                     for v in p[n]["grown"].values())
    s["messages"] = N
    s["offset_resets"], s["stalls"] = res.get("offset_resets", 0), res.get("stalls", 0)
    return s


def svr_heading(stage):
    return f"## {stage.capitalize()} stage vs relay"


def pvr_section(summ, info):
    """The "<Stage> stage vs relay" section of one stage (@summ: one
    summary per guarantee, all of the same stage)."""
    stage = summ[0]["stage"]
    spec = STAGES[stage]
    N = summ[0]["messages"]
    cap = stage.capitalize()
    cmd = "make bench  # bench/run.sh -> bench/stage_bench.py"
    fore = [v for s in summ for v in s["foreign"]]
    outs = ", ".join(f"`{t}`" for t in spec["outputs"])
    if spec["upstream"]:
        feed = (f"Each run replays {N:,} records into the input of one stage only "
                f"(`benchwatch replay`, producer settings of `hl7flow produce`, ingest_ts set at "
                f"send time), the other stays idle: the {stage}'s input records made once per "
                f"dev broker by {' -> '.join(spec['upstream'])} from `hl7flow gen --seed 1 "
                f"--malformed 0 --facilities {FACILITIES}` ({info['tput_bytes'] / MESSAGES:,.0f} "
                f"bytes of HL7 per message) and dumped by `benchwatch dump`; the relay copies "
                f"the same records.")
    else:
        feed = (f"Each run produces {N:,} messages of `hl7flow gen --seed 1 "
                f"--malformed 0 --facilities {FACILITIES}` ({info['tput_bytes'] / MESSAGES:,.0f} "
                f"bytes of HL7 per message) unthrottled into the input of one stage only, the "
                f"other stays idle.")
    target = (f"Issue 3 target: the whole parser stage (consume, parse, validate, encode, "
              f"produce) at least {PVR_TARGET:.2f}x the throughput of a do-nothing relay "
              f"(consume and produce the same bytes) on the same dev broker in the same run."
              if stage == "parser" else
              f"Measured like the parser (issue 3's target for it: {PVR_TARGET:.2f}x): the whole "
              f"{stage} stage (consume, {spec['does']}, produce) against a do-nothing relay "
              f"(consume and produce the same bytes) on the same dev broker in the same run.")
    env_note = (" Bench-only settings of the stage: " +
                ", ".join(f"{k}={'(a test key)' if 'KEY' in k else v}"
                          for k, v in spec["env"].items()) + "." if spec["env"] else "")
    lines = [svr_heading(stage), "",
             f"Command: `{cmd}` (this section alone: "
             f"`BENCH_CONFIGS=none BENCH_SKIP_PARSE=1 BENCH_SVR={stage} make bench`)  \n"
             f"Date: {info['date']}  \n"
             f"Machine: {info['machine']}  \n"
             f"Other load during the runs (machine busy time minus this benchmark's "
             f"processes): {load_note(fore)}.",
             "",
             target,
             "",
             f"Setup: per guarantee one fresh dev broker with two stages started side by side, "
             f"with HL7FLOW_BATCH_MAX {PVR_BATCH_MAX} (the rest defaults, plus the bench client "
             f"settings of the sections above): `hl7flow-relay` reading `{PVR_RELAY_IN}` (a "
             f"12-partition topic used here only as the relay's input) and writing "
             f"`{spec['outputs'][0]}`, and `{spec['binary']}` reading `{spec['input']}` and "
             f"writing {outs}.{env_note} {feed} Time = first record produced (`ingest_ts`) until "
             f"the end offsets of {outs} have grown by {N:,} in total "
             f"(bench/benchwatch.c; end offsets, not consumed records: records grow along the "
             f"chain and the dev broker keeps ~5 MiB per partition). msgs/s = input messages "
             f"per second. {PVR_RUNS} alternating pairs per guarantee (relay then {stage}, then "
             f"{stage} then relay, ...) after a warm-up of each; ratio = median of the per-pair "
             f"ratios {stage} / relay.",
             "",
             f"| guarantee | relay msgs/s | {stage} msgs/s | {stage} / relay | target | "
             f"relay runs | {stage} runs | CPU ms / 1k msgs relay / {stage} | all processes' "
             f"CPU ms / 1k msgs, relay run / {stage} run | CPU ceiling of the ratio | "
             f"records/batch relay / {stage} |",
             "|---|---:|---:|---:|---|---|---|---|---|---:|---|"]
    for s in summ:
        lines.append(
            f"| {s['label']} | {s['relay_msgs']:,.0f} | {s['parser_msgs']:,.0f} | "
            f"{s['ratio']:.2f} | {'met' if s['met'] else 'NOT met'} (>= {PVR_TARGET:.2f}) | "
            f"{', '.join(f'{x / 1000:.0f}k' for x in s['relay_all'])} | "
            f"{', '.join(f'{x / 1000:.0f}k' for x in s['parser_all'])} | "
            f"{1e6 * s['relay_cpu'] / N:.0f} / "
            f"{1e6 * s['parser_cpu'] / N:.0f} | "
            f"{1e6 * s['relay_total_cpu'] / N:.0f} / {1e6 * s['parser_total_cpu'] / N:.0f} | "
            f"{s['cpu_ceiling']:.2f} | "
            f"{s['relay_batch']:.0f} / {s['parser_batch']:.0f} |")
    checks = []
    for s in summ:
        if s["dlq"] or s["extra"] or s["offset_resets"] or s["relay_aborted"] \
                or s["parser_aborted"]:
            checks.append(f"{s['label']}: {s['dlq']} records to {PVR_DLQ}, {s['extra']} extra "
                          f"records, {s['offset_resets']} offset resets, "
                          f"{s['relay_aborted'] + s['parser_aborted']:.0f} aborted batches")
    stalls = sum(s["stalls"] for s in summ)
    lines += ["", f"CPU ceiling: the producer, the dev broker and both stages share this "
              f"machine's 2 cores, and each run keeps them busy, so throughput is about 2 cores "
              f"divided by the CPU all processes of the run spend per message. The {stage} / "
              f"relay ratio is therefore at most (all processes' CPU per message in relay "
              f"runs) / (the same in {stage} runs), the column before last; the stage's own CPU "
              f"is one term of the second sum, the producer's and the dev broker's (which grow "
              f"with the bytes written) the others. CPU from /proc (10 ms ticks), medians over "
              f"the runs.",
              "", f"Checks: in every run the stage's input and {outs} grew by exactly "
              "the run's count" + (" except: " + "; ".join(checks) if checks else
                                   f", nothing went to `{PVR_DLQ}`; no offset resets, no aborted "
                                   f"batches") + "."
              + (f" {stalls} run(s) repeated because the producer stalled at start-up."
                 if stalls else ""),
              "", info.get(f"notes_{stage}", "").strip(), ""]
    return {svr_heading(stage): "\n".join(lines).rstrip() + "\n"}


def print_pvr(summ):
    stage = summ[0]["stage"]
    print(f"\n{stage} stage vs relay (same dev broker; {summ[0]['messages']:,} msgs per run, "
          f"{PVR_RUNS} alternating pairs, BATCH_MAX {PVR_BATCH_MAX}; ratio = median of per-pair "
          f"{stage} / relay; target {PVR_TARGET:.2f})")
    for s in summ:
        print(f"    {s['label']:<4} relay {s['relay_msgs']:>9,.0f} msgs/s   {stage} "
              f"{s['parser_msgs']:>9,.0f} msgs/s   ratio {s['ratio']:.2f} "
              f"({'met' if s['met'] else 'NOT met'})   other load {load_note(s['foreign'])}")


# ---- summary -----------------------------------------------------------------

def summarize(cfg, nbytes):
    """Medians and paired ratios of one configuration."""
    t = cfg["throughput"]
    st = [MESSAGES / r["stage"]["seconds"] for r in t]
    bl = [MESSAGES / r["baseline"]["seconds"] for r in t]
    ratio = [s / b for s, b in zip(st, bl)]
    cpu = {}
    for r in t:
        for k, v in r["stage"]["cpu"].items():
            cpu.setdefault(k, []).append(v)
    bcpu = {}
    for r in t:
        for k, v in r["baseline"]["cpu"].items():
            bcpu.setdefault(k, []).append(v)
    m = cfg.get("metrics", {})
    s = {"label": cfg["label"], "has_latency": bool(cfg["latency"]),
         "stage_msgs": median(st), "base_msgs": median(bl), "ratio": median(ratio),
         "stage_mb": median(st) * nbytes / MESSAGES / 1e6,
         "base_mb": median(bl) * nbytes / MESSAGES / 1e6,
         "stage_all": st, "base_all": bl,
         "cpu_stage": {k: median(v) for k, v in cpu.items()},
         "cpu_base": {k: median(v) for k, v in bcpu.items()},
         "ceiling": 2 * MESSAGES / max(sum(median(v) for v in cpu.values()), 1e-9),
         "batch_avg": m["records"] / m["batches"] if m.get("batches") else float("nan"),
         "commit_ms_avg": 1000 * m["commit_s"] / m["commits"] if m.get("commits") else float("nan"),
         "aborted": m.get("aborted", 0),
         "extra_records": max(max(v - MESSAGES for v in r["stage"]["grown"].values()) for r in t),
         "offset_resets": cfg.get("offset_resets", 0), "stalls": cfg.get("stalls", 0)}
    lat = {}
    for side in ("stage", "baseline"):
        for p in ("p50_ms", "p99_ms", "p999_ms", "max_ms"):
            lat[f"{side}_{p}"] = median([r[side][p] for r in cfg["latency"]])
    for p in ("p50_ms", "p99_ms", "p999_ms"):
        lat[f"ratio_{p}"] = median([r["stage"][p] / r["baseline"][p] for r in cfg["latency"]
                                    if r["baseline"][p] > 0])
        lat[f"added_{p}"] = median([r["stage"][p] - r["baseline"][p] for r in cfg["latency"]])
    lat["records_ok"] = all(r[side]["records"] == LAT_MESSAGES for r in cfg["latency"]
                            for side in ("stage", "baseline"))
    s["lat"] = lat
    s["foreign_tp"] = [r[side]["foreign_cores"] for r in t for side in ("baseline", "stage")]
    s["foreign_lat"] = [r[side]["foreign_cores"] for r in cfg["latency"]
                        for side in ("baseline", "stage")]
    return s


def load_note(values):
    if not values:
        return "not measured"
    busy = sum(1 for v in values if v > 0.25)
    return (f"median {median(values):.2f} cores, max {max(values):.2f}; {busy} of "
            f"{len(values)} runs with more than 0.25 core busy elsewhere")


def cpu_note(summ):
    """What the CPU figures say about the ceiling of the 3-hop chain."""
    three = [s for s in summ if s["label"].startswith("3 hops") and "," not in s["label"]]
    if not three:
        return ""
    per_msg = ", ".join(f"{2e6 / s['ceiling']:.0f} us ({s['label']})" for s in three)
    ceilings = " / ".join(f"{s['ceiling']:,.0f}" for s in three)
    producer_us = 1e6 * median([s["cpu_base"].get("producer", 0) for s in three]) / MESSAGES
    return (f"CPU: during a 3-hop run the producer, the dev broker and the three relays "
            f"together used {per_msg} of CPU per message, so even 2 idle cores could move at "
            f"most {ceilings} messages/s through this chain, however the stages batch or "
            f"wait. The ~129,000 messages/s quoted for a 3-hop relay chain would need under "
            f"{2e6 / 129000:.1f} us per message for all five processes together; the producer "
            f"alone uses {producer_us:.0f} us (0-hop runs).")


def fmt_cpu(d, n):
    """CPU milliseconds per 1,000 messages, per process kind."""
    parts = []
    relays = sum(v for k, v in d.items() if k.startswith("relay"))
    for k in ("producer", "broker"):
        if k in d:
            parts.append(f"{k} {1000 * d[k] / n * 1000:.0f}")
    if any(k.startswith("relay") for k in d):
        parts.append(f"relays {1000 * relays / n * 1000:.0f}")
    return ", ".join(parts)


def machine_note():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    rk = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "librdkafka1"],
                        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    return (f"{os.cpu_count()} cores ({cpu}), {platform.system()} {platform.release()}, "
            f"librdkafka {rk or '?'}; a shared, noisy VM: every process of the run (dev broker, "
            f"producer, relays, the watcher) competes for the same 2 cores, and other "
            f"engineers' builds and fuzzers often take one of them, so single runs can differ "
            f"by 2x; compare medians and ratios")


def sections(summ, info):
    cmd = "make bench  # bench/run.sh -> bench/stage_bench.py"
    if RELAY_ENV:
        cmd += f"  (BENCH_RELAY_ENV='{json.dumps(RELAY_ENV)}')"
    head = (f"Command: `{cmd}`  \n"
            f"Date: {info['date']}  \n"
            f"Machine: {info['machine']}  \n")
    ftp = [v for s in summ for v in s["foreign_tp"]]
    flat = [v for s in summ for v in s["foreign_lat"]]
    tp = ["## Relay throughput", "",
          head + f"Other load during the runs (machine busy time minus this benchmark's "
          f"processes): {load_note(ftp)}.  \n"
          f"Runs: median of {RUNS} pairs per configuration; each pair is a baseline run "
          f"and a stage run back to back on the same dev broker; ratio = median of the "
          f"per-pair ratios (stage / baseline).", "",
          f"Workload: {MESSAGES:,} messages per run from `hl7flow gen --seed 1 --facilities "
          f"{FACILITIES}` ({info['tput_bytes'] / MESSAGES:,.0f} bytes of HL7 per message, "
          f"{info['tput_bytes'] / 1e6:.1f} MB per run), produced unthrottled by `hl7flow produce` "
          f"into `hl7.raw.ingest`. Time = first record produced (its `ingest_ts`) until the "
          f"summed end offsets of the chain's last topic have grown by {MESSAGES:,} (polled "
          f"every 2 ms by `bench/benchwatch.c`). Baseline (0 hops) = the same produce into "
          f"`{PEER}`, which no stage reads. MB = 10^6 bytes of record values. Relays run with "
          f"their defaults (HL7FLOW_BATCH_MAX 500, HL7FLOW_BATCH_WAIT_MS 5, producer "
          f"linger.ms 5) unless the configuration names a setting, and with "
          f"`HL7FLOW_EOS_MIRROR_COMMIT=true`; every client has `KAFKA_FETCH_WAIT_MAX_MS=5`. "
          f"Keys (`facility|app`, 24 facilities) spread unevenly over the 12 partitions (the "
          f"busiest gets ~1.6x the average, one gets none), so the run size is what keeps the "
          f"busiest partition near 3 MiB of the dev broker's ~5 MiB retention.", "",
          "| configuration | stage msgs/s | stage MB/s | baseline msgs/s | baseline MB/s "
          "| stage / baseline |",
          "|---|---:|---:|---:|---:|---:|"]
    for s in summ:
        tp.append(f"| {s['label']} | {s['stage_msgs']:,.0f} | {s['stage_mb']:.1f} | "
                  f"{s['base_msgs']:,.0f} | {s['base_mb']:.1f} | {s['ratio']:.2f} |")
    tp += ["", "Per configuration (medians over the runs): CPU ms per 1,000 messages by process "
           "during a stage run (from /proc, 10 ms ticks), the throughput the 2 cores would "
           "allow if that CPU were the only limit (2 / CPU seconds per message), average "
           "records per committed batch and commit time per batch "
           "(`hl7flow_batch_commit_seconds`: commit_transaction for EOS, flush + offset commit "
           "for ALO; summed over the relays), the spread of the runs.", "",
           "| configuration | CPU ms / 1k msgs (stage run) | CPU (baseline run) "
           "| 2-core CPU ceiling msgs/s | records/batch "
           "| commit ms/batch | stage runs msgs/s | baseline runs msgs/s |",
           "|---|---|---|---:|---:|---:|---|---|"]
    for s in summ:
        tp.append(f"| {s['label']} | {fmt_cpu(s['cpu_stage'], MESSAGES)} | "
                  f"{fmt_cpu(s['cpu_base'], MESSAGES)} | {s['ceiling']:,.0f} | "
                  f"{s['batch_avg']:.0f} | "
                  f"{s['commit_ms_avg']:.2f} | "
                  f"{', '.join(f'{x / 1000:.0f}k' for x in s['stage_all'])} | "
                  f"{', '.join(f'{x / 1000:.0f}k' for x in s['base_all'])} |")
    checks = []
    for s in summ:
        if s["extra_records"] or s["offset_resets"] or s["aborted"]:
            checks.append(f"{s['label']}: {s['extra_records']} extra records on a topic, "
                          f"{s['offset_resets']} offset resets, {s['aborted']:.0f} aborted batches")
    stalls = sum(s["stalls"] for s in summ)
    stall_note = (f" {stalls} run(s) of this benchmark (throughput and latency together) were "
                  f"discarded and repeated because `hl7flow produce` sent its first record "
                  f"~1 s late (a librdkafka 2.0.2 start-up metadata race in the producer, not "
                  f"the stage; see bench/stage_bench.py)." if stalls else "")
    tp += ["", cpu_note(summ)]
    tp += ["", "Checks: every chain topic grew by exactly the run's count in every run"
           + (" except: " + "; ".join(checks) if checks else
              "; no offset resets (lost records) and no aborted batches") + "." + stall_note,
           "", info.get("notes_tp", "").strip(), ""]

    la = ["## End-to-end latency", "",
          head + f"Other load during the runs (machine busy time minus this benchmark's "
          f"processes): {load_note(flat)}.  \n"
          f"Runs: median of {LAT_RUNS} pairs per configuration (baseline run and stage "
          f"run back to back on the same dev broker); ratio and added time = median of the "
          f"per-pair values.", "",
          f"Workload: {LAT_MESSAGES:,} messages per run (`hl7flow gen --seed 2 --facilities "
          f"{FACILITIES}`) at a steady {RATE:,} messages/s (`hl7flow produce --rate {RATE}`, "
          f"{LAT_MESSAGES / RATE:.0f} s per run). Latency = receive time at a consumer of the "
          f"last topic minus the record's `ingest_ts` header (set by `hl7flow produce` at send "
          f"time, so it includes the producer's linger.ms 5); the consumer "
          f"(`bench/benchwatch.c latency`, read_committed) starts at the topic's end, so only "
          f"the run's records count. Baseline (0 hops) = produce into `{PEER}` and read it "
          f"back. `KAFKA_FETCH_WAIT_MAX_MS=5` on every client.", "",
          "| configuration | p50 ms | p99 ms | p99.9 ms | 0-hop p50 / p99 / p99.9 ms "
          "| ratio p50 / p99 / p99.9 | added p50 / p99 ms |",
          "|---|---:|---:|---:|---|---|---|"]
    for s in (x for x in summ if x["has_latency"]):
        L = s["lat"]
        la.append(f"| {s['label']} | {L['stage_p50_ms']:.1f} | {L['stage_p99_ms']:.1f} | "
                  f"{L['stage_p999_ms']:.1f} | {L['baseline_p50_ms']:.1f} / "
                  f"{L['baseline_p99_ms']:.1f} / {L['baseline_p999_ms']:.1f} | "
                  f"{L['ratio_p50_ms']:.1f} / {L['ratio_p99_ms']:.1f} / {L['ratio_p999_ms']:.1f} | "
                  f"+{L['added_p50_ms']:.1f} / +{L['added_p99_ms']:.1f} |")
    bad = [s["label"] for s in summ if s["has_latency"] and not s["lat"]["records_ok"]]
    la += ["", "Checks: " + ("every latency run read exactly its count of records."
                             if not bad else "records missing in: " + ", ".join(bad))
           + stall_note,
           "", info.get("notes_lat", "").strip(), ""]
    return {"## Relay throughput": "\n".join(tp).rstrip() + "\n",
            "## End-to-end latency": "\n".join(la).rstrip() + "\n"}


def split_sections(text):
    """[(heading or None, text)] split at level-2 headings outside code fences."""
    out = [[None, []]]
    fence = False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith("```"):
            fence = not fence
        if not fence and line.startswith("## "):
            out.append([line.rstrip("\n").rstrip(), []])
        out[-1][1].append(line)
    return [(h, "".join(body)) for h, body in out]


PREAMBLE = """# Benchmark results

Written by `make bench` (bench/run.sh). One section per benchmark; each
script rewrites only its own sections and keeps the others (the stage
benchmark owns "Relay throughput", "End-to-end latency" and the "<Stage>
stage vs relay" sections; the parser benchmark, bench/parse/, owns its own). Figures are
medians of repeated runs on a 2-core shared VM, each with a ratio against a
peer measured in the same run: trust the ratios more than the absolute
numbers.

"""


def write_results(new):
    text = open(RESULTS).read() if os.path.exists(RESULTS) else PREAMBLE
    parts = split_sections(text)
    seen = set()
    out = []
    for h, body in parts:
        if h in new:
            out.append(new[h] + "\n")
            seen.add(h)
        else:
            out.append(body if body.endswith("\n\n") or h is None else body + "\n")
    for h, body in new.items():
        if h not in seen:
            out.append(body + "\n")
    result = "".join(out).rstrip() + "\n"
    tmp = RESULTS + ".tmp"
    with open(tmp, "w") as f:
        f.write(result)
    os.replace(tmp, RESULTS)


def print_summary(summ):
    print("\nstage benchmark (dev broker; medians; ratio = stage / 0-hop baseline of the same pair)")
    allf = [v for s in summ for v in s["foreign_tp"] + s["foreign_lat"]]
    print(f"  other load on the machine during the runs: {load_note(allf)}")
    if allf and median(allf) > 0.25:
        print("  WARNING: something else kept the machine busy; the absolute figures are low "
              "and noisy (ratios are less affected)")
    print(f"  throughput, {MESSAGES:,} msgs per run, {RUNS} runs:")
    for s in summ:
        print(f"    {s['label']:<30} {s['stage_msgs']:>9,.0f} msgs/s {s['stage_mb']:>7.1f} MB/s   "
              f"0-hop {s['base_msgs']:>9,.0f} msgs/s {s['base_mb']:>7.1f} MB/s   "
              f"ratio {s['ratio']:.2f}   batch {s['batch_avg']:.0f} rec, commit "
              f"{s['commit_ms_avg']:.2f} ms, CPU ceiling {s['ceiling']:,.0f} msgs/s")
    print(f"  latency at {RATE:,} msgs/s, {LAT_MESSAGES:,} msgs per run, {LAT_RUNS} runs "
          f"(p50/p99/p99.9 ms):")
    for s in (x for x in summ if x["has_latency"]):
        L = s["lat"]
        print(f"    {s['label']:<30} {L['stage_p50_ms']:6.1f} {L['stage_p99_ms']:6.1f} "
              f"{L['stage_p999_ms']:6.1f}   0-hop {L['baseline_p50_ms']:5.1f} "
              f"{L['baseline_p99_ms']:5.1f} {L['baseline_p999_ms']:5.1f}   added p50 "
              f"+{L['added_p50_ms']:.1f} p99 +{L['added_p99_ms']:.1f}")


def main():
    t0 = time.time()
    if not os.access(BENCHWATCH, os.X_OK):
        sys.exit(f"bench: {BENCHWATCH} missing (bench/run.sh builds it)")
    for st in (SVR_STAGES if PVR_GUARANTEES else []):
        for b in [st] + STAGES[st]["upstream"]:
            if not os.access(os.path.join(BIN, STAGES[b]["binary"]), os.X_OK):
                sys.exit(f"bench: {os.path.join(BIN, STAGES[b]['binary'])} missing; run make "
                         f"first (or BENCH_SVR / BENCH_PVR=none)")
    files_env = Env("bench-inputs")
    try:
        tput = gen(files_env, MESSAGES, 1)
        lat = gen(files_env, LAT_MESSAGES, 2)
        warm = gen(files_env, 2000, 3)
        n, nbytes = payload_bytes(tput)
        if n != MESSAGES:
            sys.exit(f"bench: {tput} holds {n} messages, not {MESSAGES}")
        configs = []
        for cfg in CONFIGS:
            log(f"configuration: {config_label(cfg)}")
            configs.append(run_config(cfg, tput, lat, warm))
        svr = {}
        for st in SVR_STAGES:
            for g in PVR_GUARANTEES:
                log(f"{st} stage vs relay: {g}")
                svr.setdefault(st, []).append(run_svr(st, g, tput, warm))
    finally:
        files_env.close()
    summ = [summarize(c, nbytes) for c in configs]
    info = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "machine": machine_note(), "tput_bytes": nbytes,
            "notes_tp": os.environ.get("BENCH_NOTES_TP", ""),
            "notes_lat": os.environ.get("BENCH_NOTES_LAT", ""),
            "notes_parser": os.environ.get("BENCH_NOTES_PVR", "")}
    for st in STAGES:
        if st != "parser":
            info[f"notes_{st}"] = os.environ.get(f"BENCH_NOTES_{st.upper()}", "")
    svr_summ = {st: [summarize_pvr(r) for r in rs] for st, rs in svr.items()}
    os.makedirs(os.path.join(REPO, "build", "bench"), exist_ok=True)
    with open(os.path.join(REPO, "build", "bench", "stage-bench.json"), "w") as f:
        json.dump({"info": info, "configs": configs, "summary": summ,
                   "parser_vs_relay": svr.get("parser", []),
                   "parser_vs_relay_summary": svr_summ.get("parser", []),
                   "stage_vs_relay": svr, "stage_vs_relay_summary": svr_summ}, f, indent=1)
    if summ:
        print_summary(summ)
    for ss in svr_summ.values():
        print_pvr(ss)
    if os.environ.get("BENCH_NO_RESULTS") != "1":
        new = sections(summ, info) if summ else {}
        for ss in svr_summ.values():
            new.update(pvr_section(ss, info))
        write_results(new)
        print(f"  wrote {os.path.relpath(RESULTS, REPO)}")
    print(f"  took {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
