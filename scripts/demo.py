"""The demo: the whole fleet as it exists today on one machine.

1. starts the dev broker (librdkafka's mock cluster, every topic of
   schemas/topics) and a throwaway PostgreSQL;
2. generates seeded HL7 v2 traffic with `hl7flow gen` (2% malformed);
3. starts every stage in STAGES as its own process and consumer group;
4. sends the traffic over MLLP to the listener (hl7flow-mllp), which ACKs
   each message once Kafka stored it in hl7.raw.ingest: `hl7flow loadgen`,
   many connections each waiting for its ACK as EHR interfaces do; first at
   a steady 5,000 messages/s to measure end-to-end latency (from the
   listener's ingest_ts to the typed topics), then as fast as the ACKs come
   to measure throughput;
5. reports records per topic, DLQ records per stage/class, rows per table,
   latency and throughput, and writes build/demo-report.json.

Stages are added to STAGES as they are built: today the parser, the
enricher, the router and the mpi-linker (sinks follow). hl7.linked is the
end of the chain.
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests",
                                "integration"))
from harness import BIN, REPO, Env, header, http_get, wait_for  # noqa: E402

# (name, binary, input topics, output topic). The last stage's outputs
# (FINAL) are where end-to-end latency is measured.
STAGES = [
    ("parser", "hl7flow-parser", "hl7.raw.ingest", "hl7.validated"),
    ("enricher", "hl7flow-enricher", "hl7.validated", "hl7.enriched"),
    ("router", "hl7flow-router", "hl7.enriched", "hl7.parsed.adt"),
    ("mpi-linker", "hl7flow-mpi-linker",
     "hl7.parsed.adt,hl7.parsed.orm,hl7.parsed.oru,hl7.parsed.dft,hl7.parsed.mdm", "hl7.linked"),
]
TYPED = ["hl7.parsed.adt", "hl7.parsed.orm", "hl7.parsed.oru", "hl7.parsed.dft", "hl7.parsed.mdm"]
FINAL = ["hl7.linked"]
# The MRN hash key of the demo only: production keys come from a Kubernetes
# Secret (HL7FLOW_MRN_HASH_KEY_FILE).
DEMO_ENV = {"HL7FLOW_MRN_HASH_KEY": "hl7flow-demo-key-not-for-production"}
# The dev broker keeps only ~5 MiB per partition (docs/devbroker.md): a
# consumer lagging further behind loses records, so the demo's volume stays
# below what the slowest consumer (the PostgreSQL sink) could fall behind by.
COUNT = int(os.environ.get("DEMO_MESSAGES", "5000"))
STEADY = int(os.environ.get("DEMO_STEADY_MESSAGES", "5000"))
RATE = int(os.environ.get("DEMO_RATE", "5000"))
MLLP_PORT = int(os.environ.get("DEMO_MLLP_PORT", "12575"))


def topic_counts(env, topics):
    """Records written per topic, from end offsets: the dev broker keeps only
    the last ~5 MiB of a partition, so reading topics back cannot count them."""
    return {t: o["end"] for t, o in env.offsets(topics).items()}


def main():
    env = Env("demo")
    report = {}
    try:
        print("demo: starting the dev broker and PostgreSQL ...", flush=True)
        env.start_devbroker()
        dsn = env.start_postgres()
        print(f"demo: bootstrap {env.bootstrap}; postgres {dsn}", flush=True)
        steady = env.gen(STEADY, seed=7, malformed=2)
        burst = env.gen(COUNT, seed=42, malformed=2)
        final = ",".join(FINAL)
        DEMO_ENV["LINKER_DATABASE"] = dsn
        DEMO_ENV["LINKER_STATE_DIR"] = os.path.join(env.dir, "linker-state")
        for i, (name, binary, inp, out) in enumerate(STAGES):
            env.start(name, [os.path.join(BIN, binary)], dict(DEMO_ENV, **{
                "HL7FLOW_INPUT_TOPICS": inp, "HL7FLOW_OUTPUT_TOPIC": out,
                "HL7FLOW_GROUP_ID": f"hl7flow-{name}", "HL7FLOW_HTTP_PORT": str(18080 + i)}))
        env.start("sink-postgres", [os.path.join(BIN, "hl7flow-sink-postgres")], dict(DEMO_ENV, **{
            "SINK_PG_DSN": dsn, "HL7FLOW_GROUP_ID": "hl7flow-sink-postgres",
            "HL7FLOW_HTTP_PORT": str(18080 + len(STAGES) + 1)}))
        if os.environ.get("OPENSEARCH_URL"):
            # The OpenSearch sink runs only against a cluster the user names.
            env.start("sink-opensearch", [os.path.join(BIN, "hl7flow-sink-opensearch")],
                      dict(DEMO_ENV, **{"HL7FLOW_GROUP_ID": "hl7flow-sink-opensearch",
                                        "HL7FLOW_HTTP_PORT": "-1"}))
        mllp_http = 18080 + len(STAGES)
        env.start("mllp", [os.path.join(BIN, "hl7flow-mllp")], {
            "MLLP_LISTEN": f"127.0.0.1:{MLLP_PORT}", "HL7FLOW_HTTP_PORT": str(mllp_http)})
        print(f"demo: MLLP listener on 127.0.0.1:{MLLP_PORT}; stages {[s[0] for s in STAGES]} "
              "running; waiting for their assignments", flush=True)
        wait_for(lambda: all(_ready(18080 + i) for i in range(len(STAGES) + 2)), 60, "stages ready")

        print(f"demo: {STEADY} messages at a steady {RATE}/s ...", flush=True)
        # Malformed messages go to the DLQ, so the latency reader stops when
        # the chain has been idle for 4 s rather than at a count.
        lat = env.start("latency", [os.path.join(BIN, "hl7flow"), "consume", "--topic", final,
                                     "--format", "latency", "--idle-ms", "4000"])
        time.sleep(2)
        steady_run = loadgen(env, steady, STEADY, connections=8, rate=RATE)
        lat.p.wait(120)
        latency = json.loads([ln for ln in lat.output().splitlines() if ln.startswith("{")][-1])

        print(f"demo: {COUNT} messages as fast as they go ...", flush=True)
        # Every input ends at the end of the chain or in the DLQ.
        # Every stored input ends at the end of the chain or in the DLQ; what
        # the listener refused (AR: not HL7) was never stored.
        done = lambda: sum(topic_counts(env, FINAL + ["hl7.dlq"]).values())  # noqa: E731
        before, stored_before = done(), topic_counts(env, ["hl7.raw.ingest"])["hl7.raw.ingest"]
        t0 = time.time()
        burst_run = loadgen(env, burst, COUNT, connections=32)
        stored = topic_counts(env, ["hl7.raw.ingest"])["hl7.raw.ingest"] - stored_before
        wait_for(lambda: done() >= before + stored, 300,
                 "the burst at the end of the chain or in the DLQ", interval=0.2)
        secs = time.time() - t0

        # The sink has written every linked record once its stored offsets
        # reach the end of hl7.linked.
        linked_end = topic_counts(env, ["hl7.linked"])["hl7.linked"]
        wait_for(lambda: _sink_offsets(dsn) >= linked_end, 300, "the PostgreSQL sink to catch up",
                 interval=0.5)
        tables = _table_counts(dsn)
        if tables.get("messages", 0) != linked_end:
            print(f"demo: WARNING: {linked_end} linked records but {tables.get('messages', 0)} "
                  "message rows (a consumer fell more than the dev broker's ~5 MiB per partition "
                  "behind and lost records; lower DEMO_MESSAGES)", flush=True)
        topics = [line.split()[0] for line in open(os.path.join(REPO, "schemas", "topics"))
                  if line.strip() and not line.startswith("#")]
        counts = topic_counts(env, topics)
        dlq = {}
        for r in env.consume("hl7.dlq", idle_ms=2000):
            k = f"{header(r, 'dlq.stage')}/{header(r, 'dlq.error_class')}"
            dlq[k] = dlq.get(k, 0) + 1
        report = {
            "messages_in": STEADY + COUNT,
            "mllp": {"stored": counts.get("hl7.raw.ingest", 0),
                     "acks": {k: steady_run[k] + burst_run[k] for k in ("positive", "negative")},
                     "ack_ms_steady": {k: steady_run.get(k) for k in ("p50_ms", "p99_ms")},
                     "msgs_per_s_32_connections": burst_run.get("msgs_per_s")},
            "stages": [s[0] for s in STAGES],
            "topics": {t: n for t, n in counts.items() if n},
            "dlq": dlq,
            "tables": tables,
            "latency_ms": {"p50": latency["p50_ms"], "p99": latency["p99_ms"],
                           "p999": latency["p999_ms"], "at_msgs_per_s": RATE,
                           "measured_on": ",".join(FINAL)},
            "throughput_msgs_per_s": round(COUNT / secs, 1),
        }
    finally:
        env.close()
    os.makedirs(os.path.join(REPO, "build"), exist_ok=True)
    path = os.path.join(REPO, "build", "demo-report.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=2)
    print("\nhl7flow demo report")
    print(f"  messages in          {report['messages_in']}")
    m = report["mllp"]
    print(f"  MLLP ACKs            {dict(sorted(m['acks'].items()))}; stored {m['stored']}; "
          f"ACK p50 {m['ack_ms_steady']['p50_ms']} ms, p99 {m['ack_ms_steady']['p99_ms']} ms "
          f"at {RATE} msgs/s")
    print(f"  stages               mllp, {', '.join(report['stages'])}")
    for t, n in sorted(report["topics"].items()):
        print(f"  topic {t:<24} {n}")
    for k, n in sorted(report["dlq"].items()) or [("(none)", 0)]:
        print(f"  dlq {k:<24} {n}")
    for t, n in report["tables"].items():
        print(f"  table {t:<24} {n}")
    la = report["latency_ms"]
    print(f"  latency end to end   p50 {la['p50']:.1f} ms, p99 {la['p99']:.1f} ms "
          f"at {la['at_msgs_per_s']} msgs/s")
    print(f"  throughput           {report['throughput_msgs_per_s']:.0f} msgs/s")
    print(f"  report               {os.path.relpath(path, REPO)}")


def loadgen(env, path, count, connections, rate=0):
    """Sends @count messages of @path over MLLP and returns loadgen's JSON."""
    r = env.run([os.path.join(BIN, "hl7flow"), "loadgen", "--port", str(MLLP_PORT), "--input", path,
                 "--count", str(count), "--connections", str(connections), "--rate", str(rate),
                 "--warmup", "0"], timeout=600, check_rc=False)
    # Exit status 1 means some NAKs: expected, the traffic is 2% malformed.
    if r.returncode not in (0, 1) or not r.stdout.strip():
        raise RuntimeError(f"loadgen failed ({r.returncode}): {r.stderr.decode()[-500:]}")
    out = json.loads(r.stdout.decode().strip().splitlines()[-1])
    if out["unanswered"] or out["mismatched"] or out["connection_errors"]:
        raise RuntimeError(f"loadgen: unanswered or mismatched ACKs: {out}")
    return out


SINK_TABLES = ["messages", "patients", "encounters", "orders", "observations", "diagnoses",
               "allergies", "insurance", "financial_transactions", "documents"]


def _psql(dsn, sql):
    import subprocess
    r = subprocess.run(["psql", dsn, "-Atc", sql], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    return r.stdout.decode().strip() if r.returncode == 0 else ""


def _sink_offsets(dsn):
    """Records of hl7.linked the sink has stored (its offsets table)."""
    v = _psql(dsn, "SELECT coalesce(sum(next_offset), 0) FROM sink_offsets WHERE topic = 'hl7.linked'")
    return int(v) if v.isdigit() else -1


def _table_counts(dsn):
    out = {}
    for t in SINK_TABLES:
        v = _psql(dsn, f"SELECT count(*) FROM {t}")
        if v.isdigit():
            out[t] = int(v)
    return out


def _ready(port):
    return http_get(port, "/readyz")[0] == 200


if __name__ == "__main__":
    main()
