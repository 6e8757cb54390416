"""Integration tests of the stage loop (common/src/stage.c) through
hl7flow-relay, the identity stage, on the dev broker:

- records flow input -> output with key, value and headers intact;
- a failing transform lands the record in hl7.dlq with every DLQ header;
- a transient failure aborts the transaction, rewinds and retries;
- SIGKILL mid-stream then restart: every input appears downstream;
- SIGTERM drains: exit 0, committed offsets at the end, no duplicates;
- offsets sent to the transaction alongside processing survive retriable
  coordinator errors;
- /healthz, /readyz, /metrics answer; bad configuration names the variable.

The dev broker is librdkafka 2.0.2's mock cluster, which does NOT hide
aborted transactional records from read_committed readers
(docs/devbroker.md). After a SIGKILL the killed process's open transaction
is aborted by the restarted one, but its records stay visible, so
duplicates appear downstream. The kill test tells those apart from real
double processing by message control id: every duplicated id must appear
exactly twice, and all duplicates together must fit in the batches that
were open when the process died (at most HL7FLOW_BATCH_MAX records per
batch). A loop that failed to commit its offsets with its outputs would
re-emit far more than that.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, TestFailure, check, check_eq, free_port, header, http_get,  # noqa: E402
                     run_suite, wait_for)

RELAY = os.path.join(BIN, "hl7flow-relay")


def make_stream(env, name, n, marker_every=0, marker="ZMARK"):
    """Writes @n small MLLP-framed HL7 messages with control ids
    <name>-<i>; every @marker_every-th carries @marker in a Z segment.
    Returns (path, ids, marked ids)."""
    ids, marked = [], set()
    out = bytearray()
    for i in range(n):
        cid = f"{name}-{i}"
        segs = [f"MSH|^~\\&|APP{i % 3}|FAC{i % 4}|RCV|RCVFAC|20240101120000||ADT^A08|{cid}|P|2.5",
                f"PID|1||MRN{i % 50}^^^HOSP^MR||DOE^JOHN"]
        if marker_every and i % marker_every == 0:
            segs.append(f"ZTS|{marker}")
            marked.add(cid)
        out += b"\x0b" + "\r".join(segs).encode() + b"\r\x1c\x0d"
        ids.append(cid)
    path = os.path.join(env.dir, f"{name}.mllp")
    with open(path, "wb") as f:
        f.write(out)
    return path, ids, marked


def stage_env(group, inp, out, **extra):
    e = {"HL7FLOW_GROUP_ID": group, "HL7FLOW_INPUT_TOPICS": inp, "HL7FLOW_OUTPUT_TOPIC": out,
         "HL7FLOW_BATCH_MAX": "100"}
    e.update(extra)
    return e


def ids_of(recs, prefix=""):
    return [i for i in (header(r, "message_control_id") for r in recs)
            if i is not None and i.startswith(prefix)]


def of_test(recs, prefix):
    """Records of one test: topics are shared by the suite's tests."""
    return [r for r in recs if (header(r, "message_control_id") or "").startswith(prefix + "-")]


def wait_ids(env, topic, prefix, want, timeout=90):
    """Reads @topic until every id in @want is there; returns the records
    of this test (prefix), duplicates included."""
    def ready():
        recs = of_test(env.consume(topic, idle_ms=1000), prefix)
        return recs if set(ids_of(recs)) >= set(want) else None
    return wait_for(ready, timeout, f"{len(want)} ids of {prefix} on {topic}", interval=0.5)


def test_records_flow_with_headers(env):
    path, ids, _ = make_stream(env, "flow", 2000)
    env.produce("hl7.raw.ingest", path)
    # Static membership: the group.instance.id reaches the consumer.
    relay = env.start("relay-flow", [RELAY], stage_env("t-flow", "hl7.raw.ingest", "hl7.validated",
                                                       HL7FLOW_INSTANCE_ID="relay-flow-0"))
    recs = wait_ids(env, "hl7.validated", "flow", ids)
    check_eq(relay.term(), 0, "exit status after SIGTERM")
    started = [e for e in relay.log_events() if e.get("event") == "stage_started"]
    check(started and started[0].get("instance_id") == "relay-flow-0", f"static member: {started}")
    check_eq(sorted(ids_of(recs)), sorted(ids), "control ids downstream, once each")
    src = {header(r, "message_control_id"): r for r in of_test(env.consume("hl7.raw.ingest"), "flow")}
    for r in recs:
        s = src[header(r, "message_control_id")]
        check_eq(r["key"], s["key"], "key")
        check_eq(r["value"], s["value"], "value")
        check_eq(r["headers"], s["headers"], "headers carried")
        check(r["key"].startswith("FAC") and "|APP" in r["key"], f"key facility|app: {r['key']}")
        for h in ("source_system", "facility_id", "message_control_id", "message_type",
                  "ingest_ts", "traceparent"):
            check(header(r, h), f"header {h} present")
    # One patient key keeps its order: offsets per key increase with ids.
    by_key = {}
    for r in sorted(recs, key=lambda r: (r["partition"], r["offset"])):
        by_key.setdefault(r["key"], []).append(int(header(r, "message_control_id").split("-")[1]))
    for k, seq in by_key.items():
        check_eq(seq, sorted(seq), f"order within key {k}")


def test_failing_transform_goes_to_dlq_with_headers(env):
    path, ids, marked = make_stream(env, "dlq", 600, marker_every=7)
    env.produce("hl7.validated", path)
    relay = env.start("relay-dlq", [RELAY], stage_env(
        "t-dlq", "hl7.validated", "hl7.enriched", RELAY_DLQ_IF_CONTAINS="ZMARK",
        RELAY_DLQ_CLASS="parse"))
    out = wait_ids(env, "hl7.enriched", "dlq", set(ids) - marked)
    dlq = wait_ids(env, "hl7.dlq", "dlq", marked)
    rc = relay.term()
    check_eq(rc, 0, "relay exit status after SIGTERM")
    check_eq(set(ids_of(out)), set(ids) - marked, "good records downstream")
    check_eq(sorted(ids_of(dlq)), sorted(marked), "marked records in the DLQ")
    check_eq(len(out) + len(dlq), len(ids), "in = out + dlq")
    src = {header(r, "message_control_id"): r for r in of_test(env.consume("hl7.validated"), "dlq")}
    for r in dlq:
        s = src[header(r, "message_control_id")]
        check_eq(r["value"], s["value"], "DLQ value is the input as read")
        check_eq(r["key"], s["key"], "DLQ key is the input key")
        check_eq(header(r, "dlq.error_class"), "parse", "dlq.error_class")
        check(header(r, "dlq.error") and "offset" in header(r, "dlq.error"), "dlq.error precise")
        check_eq(header(r, "dlq.source_topic"), "hl7.validated", "dlq.source_topic")
        check_eq(header(r, "dlq.source_partition"), str(s["partition"]), "dlq.source_partition")
        check_eq(header(r, "dlq.source_offset"), str(s["offset"]), "dlq.source_offset")
        ts = header(r, "dlq.ts")
        check(ts and ts.endswith("Z") and "T" in ts, f"dlq.ts format: {ts}")
        for k, v in s["headers"]:
            check_eq(header(r, k), v, f"input header {k} carried to the DLQ")


def test_transient_failure_aborts_and_retries(env):
    path, ids, marked = make_stream(env, "retry", 500, marker_every=50, marker="ZRETRY")
    env.produce("hl7.enriched", path)
    port = free_port()
    relay = env.start("relay-retry", [RELAY], stage_env(
        "t-retry", "hl7.enriched", "hl7.parsed.adt", RELAY_RETRY_ONCE_IF_CONTAINS="ZRETRY",
        HL7FLOW_RETRY_BACKOFF_MS="50", HL7FLOW_HTTP_PORT=str(port)))
    recs = wait_ids(env, "hl7.parsed.adt", "retry", ids)
    got = ids_of(recs)
    check_eq(set(got), set(ids), "every record after retries")
    status, metrics = http_get(port, "/metrics")
    check_eq(status, 200, "/metrics status")
    aborted = [l for l in metrics.splitlines()
               if l.startswith('hl7flow_transactions_aborted_total{stage="relay"}')]
    check(aborted and float(aborted[0].split()[-1]) >= len(marked),
          f"aborted transactions counted: {aborted}")
    check_eq(relay.term(), 0, "exit status")
    # Aborted records stay visible on the mock (see module doc): duplicates
    # are bounded by the aborted batches, each id at most once per abort.
    dup = len(got) - len(set(got))
    check(dup <= len(marked) * 100, f"duplicates {dup} beyond aborted batches")
    # Offsets were committed inside the transactions: the group has nothing
    # left to read.
    left = env.consume("hl7.enriched", group="t-retry", idle_ms=3000)
    check_eq(len(left), 0, "records after the committed offsets")


def test_sigkill_mid_stream_loses_nothing(env):
    path, ids, _ = make_stream(env, "kill", 3000)
    env.produce("hl7.parsed.orm", path)
    senv = stage_env("t-kill", "hl7.parsed.orm", "hl7.parsed.oru", RELAY_DELAY_US="600")
    relay = env.start("relay-kill-1", [RELAY], senv)
    wait_for(lambda: len(of_test(env.consume("hl7.parsed.oru", idle_ms=300), "kill")) > 300, 60,
             "first records downstream", interval=0.05)
    relay.kill()
    before = len(of_test(env.consume("hl7.parsed.oru", idle_ms=1000), "kill"))
    check(before < len(ids), f"killed mid-stream ({before} of {len(ids)} done)")
    relay2 = env.start("relay-kill-2", [RELAY], dict(senv, RELAY_DELAY_US="0"))
    recs = wait_ids(env, "hl7.parsed.oru", "kill", ids, timeout=120)
    check_eq(relay2.term(), 0, "restarted relay exit status")
    got = ids_of(recs)
    check_eq(set(got) - set(ids), set(), "no unexpected records")
    counts = {}
    for g in got:
        counts[g] = counts.get(g, 0) + 1
    dups = {k: v for k, v in counts.items() if v > 1}
    check(all(v == 2 for v in dups.values()), f"an id appeared 3+ times: {dups}")
    # Open batches at the kill: at most one per input partition's fetch,
    # each at most HL7FLOW_BATCH_MAX (100).
    check(len(dups) <= 100, f"{len(dups)} duplicates exceed one open batch")
    print(f"# sigkill: {len(ids)} inputs, {before} out before kill, {len(dups)} duplicates from "
          f"the aborted open transaction (visible on the mock only)")


def test_sigterm_drains_cleanly(env):
    path, ids, _ = make_stream(env, "drain", 3000)
    env.produce("hl7.parsed.dft", path)
    senv = stage_env("t-drain", "hl7.parsed.dft", "hl7.parsed.mdm", RELAY_DELAY_US="500")
    relay = env.start("relay-drain-1", [RELAY], senv)
    wait_for(lambda: len(of_test(env.consume("hl7.parsed.mdm", idle_ms=300), "drain")) > 200, 60,
             "first records downstream", interval=0.05)
    t0 = time.time()
    rc = relay.term(timeout=30)
    check_eq(rc, 0, "exit status after SIGTERM")
    check(time.time() - t0 < 15, "drained within 15 s")
    events = [e.get("event") for e in relay.log_events()]
    check("stage_stopped" in events, f"clean stop logged: {events[-5:]}")
    partial = ids_of(env.consume("hl7.parsed.mdm", idle_ms=1000), "drain-")
    check_eq(len(partial), len(set(partial)), "no duplicates before restart")
    check(len(partial) < len(ids), f"stopped mid-stream ({len(partial)} of {len(ids)})")
    relay2 = env.start("relay-drain-2", [RELAY], dict(senv, RELAY_DELAY_US="0"))
    recs = wait_ids(env, "hl7.parsed.mdm", "drain", ids)
    check_eq(relay2.term(), 0, "second exit status")
    got = ids_of(recs)
    check_eq(sorted(got), sorted(ids), "every record exactly once after a drain and restart")


def test_probes_and_metrics(env):
    path, ids, _ = make_stream(env, "probe", 300)
    env.produce("hl7.linked", path)
    port = free_port()
    relay = env.start("relay-probe", [RELAY], stage_env(
        "t-probe", "hl7.linked", "hl7.parsed.adt", HL7FLOW_HTTP_PORT=str(port),
        HL7FLOW_LAG_INTERVAL_MS="200"))
    wait_for(lambda: http_get(port, "/readyz")[0] == 200, 30, "/readyz 200")
    check_eq(http_get(port, "/healthz")[0], 200, "/healthz")

    def counted():
        st, body = http_get(port, "/metrics")
        lag = [l for l in body.splitlines() if l.startswith("hl7flow_consumer_lag{")]
        for line in body.splitlines():
            if line.startswith('hl7flow_records_in_total{stage="relay"}'):
                return float(line.split()[-1]) >= len(ids) and len(lag) == 12 and body
        return None
    body = wait_for(counted, 30, "records_in_total to reach the input count")
    check('hl7flow_records_out_total{stage="relay",topic="hl7.parsed.adt"}' in body, "out counter")
    check("hl7flow_record_process_seconds_bucket" in body, "processing histogram")
    check('hl7flow_consumer_lag{partition="11",stage="relay",topic="hl7.linked"}' in body,
          "lag gauge per partition")
    check("# TYPE hl7flow_consumer_lag gauge" in body, "lag gauge typed")
    for phase in ("collect", "process", "offsets", "commit"):
        check(f'hl7flow_batch_phase_seconds_count{{phase="{phase}",stage="relay"}}' in body,
              f"batch phase histogram for {phase}")
    relay.term()


def test_fenced_producer_exits_nonzero_with_a_clear_log_line(env):
    """A fatal Kafka error (here PRODUCER_FENCED on EndTxn, injected through
    the dev broker) ends the process with status 1 and a kafka_fatal or
    txn_error line, never a silent hang or a clean exit."""
    path, ids, _ = make_stream(env, "fence", 200)
    env.produce("hl7.parsed.mdm", path)
    relay = env.start("relay-fence", [RELAY], stage_env("t-fence", "hl7.parsed.mdm", "hl7.linked"))
    wait_for(lambda: any(e.get("event") == "partitions_assigned" for e in relay.log_events()), 30,
             "assignment")
    r = env.run(["curl", "-sf", "-X", "POST",
                 f"http://127.0.0.1:{env.devbroker_http}/errors/26/90/5"])
    check('"count":5' in r.stdout.decode(), f"errors pushed: {r.stdout!r}")
    path2, _, _ = make_stream(env, "fence2", 50)
    env.produce("hl7.parsed.mdm", path2)
    rc = relay.p.wait(60)
    check_eq(rc, 1, "exit status after a fatal error")
    events = relay.log_events()
    fatal = [e for e in events if e.get("event") in ("kafka_fatal", "txn_error", "stage_stopping")
             and (e.get("fatal") is True or e.get("level") == "error")]
    check(fatal, f"a clear fatal log line: {[e.get('event') for e in events][-8:]}")


def test_offsets_sent_alongside_processing_survive_coordinator_errors(env):
    """send_offsets_to_transaction runs on its own thread while the batch
    is produced. AddOffsetsToTxn answered CONCURRENT_TRANSACTIONS (retriable,
    injected through the dev broker) 4 times: librdkafka retries inside the
    call (its eos debug log shows the 4 answers), the batches still commit, every record arrives exactly once and
    the group's offsets are at the end; no fatal error, no abort."""
    path, ids, _ = make_stream(env, "offs", 400)
    port = free_port()
    relay = env.start("relay-offs", [RELAY], stage_env(
        "t-offs", "hl7.parsed.oru", "hl7.parsed.dft", HL7FLOW_HTTP_PORT=str(port),
        KAFKA_DEBUG="eos", HL7FLOW_LOG_LEVEL="debug"))
    wait_for(lambda: any(e.get("event") == "partitions_assigned" for e in relay.log_events()), 30,
             "assignment")
    r = env.run(["curl", "-sf", "-X", "POST",
                 f"http://127.0.0.1:{env.devbroker_http}/errors/25/51/4"])
    check('"count":4' in r.stdout.decode(), f"errors pushed: {r.stdout!r}")
    env.produce("hl7.parsed.oru", path)
    recs = wait_ids(env, "hl7.parsed.dft", "offs", ids)
    got = ids_of(recs)
    check_eq(sorted(got), sorted(ids), "every record exactly once")
    body = http_get(port, "/metrics")[1]
    aborted = [l for l in body.splitlines()
               if l.startswith('hl7flow_transactions_aborted_total{stage="relay"}')]
    check(aborted and float(aborted[0].split()[-1]) == 0, f"no aborted batch: {aborted}")
    check_eq(relay.term(), 0, "exit status")
    # librdkafka's eos debug log shows the injected answers were met.
    refused = [e for e in relay.log_events()
               if "AddOffsetsToTxn response" in str(e.get("error", ""))
               and "CONCURRENT_TRANSACTIONS" in str(e.get("error", ""))]
    check_eq(len(refused), 4, "AddOffsetsToTxn answers CONCURRENT_TRANSACTIONS")
    left = env.consume("hl7.parsed.oru", group="t-offs", idle_ms=3000)
    check_eq(len(of_test(left, "offs")), 0, "records after the committed offsets")


def test_at_least_once_mode_flows_and_survives_sigkill(env):
    path, ids, _ = make_stream(env, "alo", 3000)
    env.produce("hl7.enriched", path)
    senv = stage_env("t-alo", "hl7.enriched", "hl7.parsed.dft", HL7FLOW_GUARANTEE="at-least-once",
                     RELAY_DELAY_US="600")
    relay = env.start("relay-alo-1", [RELAY], senv)
    wait_for(lambda: len(of_test(env.consume("hl7.parsed.dft", idle_ms=300), "alo")) > 300, 60,
             "first records downstream", interval=0.05)
    relay.kill()
    relay2 = env.start("relay-alo-2", [RELAY], dict(senv, RELAY_DELAY_US="0"))
    recs = wait_ids(env, "hl7.parsed.dft", "alo", ids, timeout=120)
    check_eq(relay2.term(), 0, "exit status")
    got = ids_of(recs)
    check_eq(set(got), set(ids), "every input downstream")
    dups = len(got) - len(set(got))
    check(dups <= 100, f"{dups} duplicates exceed the one batch in flight")


def test_bad_configuration_names_the_variable(env):
    r = env.run([RELAY], extra_env={"HL7FLOW_BATCH_MAX": "0"}, check_rc=False)
    check_eq(r.returncode, 2, "exit status on bad config")
    check("HL7FLOW_BATCH_MAX" in r.stderr.decode(), f"error names the variable: {r.stderr!r}")
    r = env.run([RELAY], extra_env={"HL7FLOW_GUARANTEE": "maybe-once"}, check_rc=False)
    check_eq(r.returncode, 2, "exit status on bad enum")
    check("exactly-once|at-least-once" in r.stderr.decode(), "error lists the choices")
    r = env.run([RELAY], extra_env={"KAFKA_ACKS": "sometimes"}, check_rc=False)
    check(r.returncode != 0 and "KAFKA_ACKS" in r.stderr.decode(), f"kafka passthrough error: {r.stderr!r}")
    r = env.run([RELAY, "--help"])
    out = r.stdout.decode()
    for var in ("HL7FLOW_GUARANTEE", "HL7FLOW_HTTP_PORT", "KAFKA_<PROPERTY>", "RELAY_DLQ_IF_CONTAINS"):
        check(var in out, f"--help lists {var}")


if __name__ == "__main__":
    run_suite("stage_loop", [
        test_bad_configuration_names_the_variable,
        test_records_flow_with_headers,
        test_failing_transform_goes_to_dlq_with_headers,
        test_transient_failure_aborts_and_retries,
        test_sigkill_mid_stream_loses_nothing,
        test_sigterm_drains_cleanly,
        test_probes_and_metrics,
        test_offsets_sent_alongside_processing_survive_coordinator_errors,
        test_at_least_once_mode_flows_and_survives_sigkill,
        test_fenced_producer_exits_nonzero_with_a_clear_log_line,
    ], devbroker_http=True)
