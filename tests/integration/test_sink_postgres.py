"""hl7flow-sink-postgres on the dev broker and a throwaway PostgreSQL 15.

- generated traffic through parser -> enricher -> router -> sink (reading
  the typed topics): one messages row per typed record, patients and
  encounters per distinct key, diagnoses/allergies/insurance/financial rows
  per segment, all checked against an independent decode of the topics
  (Python's avro);
- exactly once: a BEFORE INSERT trigger the test installs on messages
  counts every write attempt that committed (ON CONFLICT DO NOTHING fires
  it too), so a record written twice - even idempotently - shows as 2;
  SIGKILL of the sink mid-stream and a restart, and a PostgreSQL stop/start
  mid-stream (with /readyz 503 meanwhile), each end with every record
  written exactly once and the stored offsets at the partition ends;
- HL7 semantics: A01 -> A08 updates the patient, A03 closes the encounter,
  OBX-11=C replaces a final result and keeps the old value in history;
- a record the database refuses (an operator's CHECK constraint) lands in
  hl7.dlq with class sink, the constraint's name and no data, the rest of
  the batch is written; after the fix `hl7flow dlq replay` lands it once;
- hl7.linked-shaped records (empi_id set) are read too.
"""
import io
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, REPO, TestFailure, check, check_eq, free_port, header,  # noqa: E402
                     http_get, run_suite, wait_for)

import avro.io  # noqa: E402
import avro.schema  # noqa: E402

HL7FLOW = os.path.join(BIN, "hl7flow")
SINK = os.path.join(BIN, "hl7flow-sink-postgres")
KEY = "integration-test-mrn-key-0123456789"
TYPED = [f"hl7.parsed.{t}" for t in ("adt", "orm", "oru", "dft", "mdm")]
STATE = {}


def psql(env, sql):
    r = subprocess.run(["psql", STATE["dsn"], "-v", "ON_ERROR_STOP=1", "-At", "-F", "\t", "-c", sql],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if r.returncode != 0:
        raise TestFailure(f"psql: {r.stderr.decode()}")
    return [tuple(line.split("\t")) for line in r.stdout.decode().splitlines() if line != ""]


def scalar(env, sql):
    return int(psql(env, sql)[0][0])


def start_chain(env):
    e = {"HL7FLOW_BATCH_MAX": "300", "HL7FLOW_MRN_HASH_KEY": KEY}
    for n in ("parser", "enricher", "router"):
        env.start(n, [os.path.join(BIN, f"hl7flow-{n}")], dict(e, HL7FLOW_GROUP_ID=f"t-{n}"))


def start_sink(env, name="sink", extra=None):
    e = {"SINK_PG_DSN": STATE["dsn"], "HL7FLOW_INPUT_TOPICS": ",".join(TYPED),
         "HL7FLOW_GROUP_ID": "t-sink-pg", "HL7FLOW_BATCH_MAX": "200",
         "HL7FLOW_RETRY_BACKOFF_MS": "100", "SINK_PG_BACKOFF_MAX_MS": "1000"}
    e.update(extra or {})
    return env.start(name, [SINK], e)


def typed_total(env, topics=TYPED):
    o = env.offsets(topics)
    return sum(o[t]["end"] for t in topics)


def sink_dlq(env):
    return [r for r in env.consume("hl7.dlq", idle_ms=1000) if header(r, "dlq.stage") == "sink-postgres"]


def wait_written(env, want, timeout=240):
    def done():
        n = scalar(env, "SELECT count(*) FROM messages")
        return n if n >= want else None
    return wait_for(done, timeout, f"{want} messages rows", interval=1)


def wait_chain(env, sent, timeout=240):
    def done():
        t = typed_total(env)
        d = len(env.consume("hl7.dlq", idle_ms=500))
        return t if t + d >= sent else None
    return wait_for(done, timeout, "the chain to route every message", interval=1)


def install_attempt_counter(env):
    psql(env, """
CREATE TABLE IF NOT EXISTS test_attempts (ss text, fac text, ctrl text, n int,
  PRIMARY KEY (ss, fac, ctrl));
CREATE OR REPLACE FUNCTION test_count_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO test_attempts VALUES (NEW.source_system, NEW.facility_id, NEW.message_control_id, 1)
  ON CONFLICT (ss, fac, ctrl) DO UPDATE SET n = test_attempts.n + 1;
  RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS test_attempts ON messages;
CREATE TRIGGER test_attempts BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION test_count_attempt();
""")


def check_exactly_once(env, want):
    check_eq(scalar(env, "SELECT count(*) FROM messages"), want, "messages rows")
    dup = psql(env, "SELECT count(*), coalesce(max(n), 0) FROM test_attempts WHERE n > 1")[0]
    check_eq(int(dup[0]), 0, f"messages written more than once (max {dup[1]} times)")
    # The stored offsets are at the partition ends.
    o = env.offsets(TYPED)
    stored = dict(((t, int(p)), int(n)) for t, p, n in psql(
        env, "SELECT topic, partition, next_offset FROM sink_offsets WHERE consumer_group = 't-sink-pg'"))
    total = sum(n for n in stored.values() if n > 0)
    check_eq(total, sum(o[t]["end"] for t in TYPED), "sum of stored next offsets")


def schema(topic):
    return avro.schema.parse(open(os.path.join(REPO, "schemas", "avro", f"{topic}.avsc")).read())


def decode_all(env, topics=TYPED):
    out = []
    for t in topics:
        sch = schema(t)
        for r in env.consume(t, idle_ms=1000):
            v = r["value"].encode("latin-1")
            out.append(avro.io.DatumReader(sch).read(avro.io.BinaryDecoder(io.BytesIO(v[5:]))))
    return out


# ---------------------------------------------------------------------------

def test_generated_traffic_rows_match(env):
    STATE["dsn"] = env.start_postgres()
    start_chain(env)
    path = os.path.join(env.dir, "t1.mllp")
    env.run([HL7FLOW, "gen", "--seed", "61", "--count", "1500", "--facilities", "6",
             "--patients", "300", "--out", path])
    sent = env.produce("hl7.raw.ingest", path)["sent"]
    total = wait_chain(env, sent)
    sink = start_sink(env)
    wait_for(lambda: scalar(env, "SELECT count(*) FROM pg_tables WHERE tablename = 'sink_offsets'") == 1,
             60, "migrations")
    install_attempt_counter(env)
    wait_written(env, total)
    time.sleep(1)
    check(sink.alive(), "sink exited: " + sink.output()[-2000:])
    check_exactly_once(env, total)
    recs = decode_all(env)
    check_eq(len(recs), total, "decoded typed records")
    pats = {(r["source_system"], r["facility_id"], r["patient"]["mrn"]) for r in recs
            if r["patient"] and r["patient"]["mrn"]}
    check_eq(scalar(env, "SELECT count(*) FROM patients"), len(pats), "patients rows")
    encs = {(r["source_system"], r["facility_id"], r["visit"]["visit_number"]["id"]) for r in recs
            if r["visit"] and r["visit"]["visit_number"] and r["visit"]["visit_number"]["id"]}
    check_eq(scalar(env, "SELECT count(*) FROM encounters"), len(encs), "encounters rows")
    for table, field in (("diagnoses", "diagnoses"), ("allergies", "allergies"),
                         ("insurance", "insurance"), ("financial_transactions", "financial_transactions")):
        check_eq(scalar(env, f"SELECT count(*) FROM {table}"), sum(len(r[field]) for r in recs),
                 f"{table} rows")
    nobs = sum(len(r["observations"]) for r in recs)
    got = scalar(env, "SELECT count(*) FROM observations") + \
        scalar(env, "SELECT count(*) FROM observation_history")
    check(0 < scalar(env, "SELECT count(*) FROM observations") <= nobs and got <= nobs,
          f"observations {got} vs {nobs} OBX")
    check_eq(scalar(env, "SELECT count(*) FROM documents WHERE text IS NOT NULL") > 0, True, "documents")
    check_eq(scalar(env, "SELECT count(*) FROM messages WHERE raw IS NULL OR source_system = ''"), 0,
             "messages keep raw and source")
    # A row per type as sent, read back from the DB: raw bytes are the message.
    raw = psql(env, "SELECT encode(raw, 'escape') FROM messages ORDER BY id LIMIT 1")[0][0]
    check(raw.startswith("MSH|"), "raw HL7 kept")
    check_eq(sink_dlq(env), [], "sink DLQ records")
    STATE["total"] = total
    sink.term()


def test_sigkill_midstream_then_restart(env):
    path = os.path.join(env.dir, "t2.mllp")
    env.run([HL7FLOW, "gen", "--seed", "62", "--count", "3000", "--facilities", "6",
             "--patients", "400", "--out", path])
    sent = env.produce("hl7.raw.ingest", path)["sent"]
    # The chain keeps routing while the sink is killed and restarted.
    sink = start_sink(env, "sink-kill1", {"HL7FLOW_BATCH_MAX": "50"})
    base = STATE["total"]
    wait_for(lambda: scalar(env, "SELECT count(*) FROM messages") > base + 300, 120, "sink progress")
    sink.kill()
    mid = scalar(env, "SELECT count(*) FROM messages")
    check(mid < base + 2800, f"killed too late ({mid - base} written)")
    sink = start_sink(env, "sink-kill2", {"HL7FLOW_BATCH_MAX": "50"})
    total = wait_chain(env, sent + 1500)  # chain totals include test 1's traffic
    wait_written(env, total)
    time.sleep(2)
    check_exactly_once(env, total)
    STATE["total"] = total
    sink.term()


def test_postgres_restart_midstream(env):
    path = os.path.join(env.dir, "t3.mllp")
    env.run([HL7FLOW, "gen", "--seed", "63", "--count", "3000", "--facilities", "6",
             "--patients", "400", "--out", path])
    sent = env.produce("hl7.raw.ingest", path)["sent"]
    port = free_port()
    sink = start_sink(env, "sink-pgdown", {"HL7FLOW_BATCH_MAX": "50", "HL7FLOW_HTTP_PORT": port})
    base = STATE["total"]
    wait_for(lambda: scalar(env, "SELECT count(*) FROM messages") > base + 300, 120, "sink progress")
    subprocess.run([os.path.join(REPO, "scripts", "pg.sh"), "pause", env.pg_dir], check=True, timeout=60)
    wait_for(lambda: http_get(port, "/readyz")[0] == 503, 30, "/readyz 503 while PostgreSQL is down")
    body = http_get(port, "/readyz")[1]
    check('"postgres":false' in body, f"readyz names postgres: {body}")
    time.sleep(3)
    check(sink.alive(), "sink exited during the outage: " + sink.output()[-2000:])
    subprocess.run([os.path.join(REPO, "scripts", "pg.sh"), "resume", env.pg_dir], check=True, timeout=60)
    total = wait_chain(env, sent + 4500)
    wait_written(env, total)
    wait_for(lambda: http_get(port, "/readyz")[0] == 200, 30, "/readyz 200 again")
    time.sleep(2)
    check_exactly_once(env, total)
    events = [e.get("event") for e in sink.log_events()]
    check("postgres_unavailable" in events or "batch_failed" in events, "outage seen in the log")
    STATE["total"] = total
    STATE["sink"] = sink


def mllp(*msgs):
    return b"".join(b"\x0b" + m.replace("\n", "\r").encode() + b"\x1c\r" for m in msgs)


def msh(ctrl, typ, ts="20261101080000"):
    return f"MSH|^~\\&|EPIC|HOSP_A|HL7FLOW|HOSP_A|{ts}||{typ}|{ctrl}|P|2.5.1"


PID = "PID|1||MRN9001^^^HOSP_A^MR||{name}^ANNA||19800101|F|||1 MAIN ST^^BOSTON^MA^02115"


def pv1(room, visit, discharged=None):
    """PV1 with PV1-3 (location), PV1-19 (visit number), PV1-45 (discharge)."""
    f = [""] * 46
    f[1], f[2], f[3], f[7], f[10], f[19] = "1", "I", f"W1^{room}^A", "1234^DOC^A", "MED", visit
    if discharged:
        f[36], f[45] = "01", discharged
    return "PV1|" + "|".join(f[1:]).rstrip("|")


def test_hl7_update_semantics_and_dlq_replay(env):
    sink = STATE["sink"]
    psql(env, "ALTER TABLE patients ADD CONSTRAINT test_no_reject_name "
              "CHECK (family_name IS DISTINCT FROM 'ZZREJECT')")
    msgs = mllp(
        msh("SEMA01", "ADT^A01^ADT_A01") + "\nEVN|A01|20261101080000\n" + PID.format(name="SMITH") +
        "\n" + pv1("101", "V9001"),
        msh("SEMA08", "ADT^A08^ADT_A01", "20261101090000") + "\nEVN|A08|20261101090000\n" +
        PID.format(name="JONES") + "\n" + pv1("102", "V9001"),
        msh("SEMR1", "ORU^R01^ORU_R01", "20261101100000") + "\n" + PID.format(name="JONES") +
        "\nOBR|1|PL9001|FL9001|2345-7^Glucose^LN\nOBX|1|NM|2345-7^Glucose^LN||95|mg/dL|70-99||||F",
        msh("SEMBAD", "ADT^A08^ADT_A01", "20261101103000") + "\nEVN|A08|20261101103000\n" +
        "PID|1||MRN9002^^^HOSP_A^MR||ZZREJECT^BOB||19700101|M\nPV1|1|O",
        msh("SEMR2", "ORU^R01^ORU_R01", "20261101110000") + "\n" + PID.format(name="JONES") +
        "\nOBR|1|PL9001|FL9001|2345-7^Glucose^LN\nOBX|1|NM|2345-7^Glucose^LN||105|mg/dL|70-99|H|||C",
        msh("SEMA03", "ADT^A03^ADT_A03", "20261101120000") + "\nEVN|A03|20261101120000\n" +
        PID.format(name="JONES") + "\n" + pv1("102", "V9001", "20261101120000"),
    )
    path = os.path.join(env.dir, "sem.mllp")
    open(path, "wb").write(msgs)
    before = scalar(env, "SELECT count(*) FROM messages")
    env.produce("hl7.raw.ingest", path)
    wait_written(env, before + 5)

    def rejected():
        d = sink_dlq(env)
        return d if d else None
    dlq = wait_for(rejected, 60, "the refused record in hl7.dlq")
    check_eq(len(dlq), 1, "sink DLQ records")
    r = dlq[0]
    check_eq(header(r, "dlq.error_class"), "sink", "class")
    check_eq(header(r, "message_control_id"), "SEMBAD", "the refused message")
    err = header(r, "dlq.error")
    check("23514" in err and "test_no_reject_name" in err, f"reason names SQLSTATE and constraint: {err}")
    check("ZZREJECT" not in err and "ZZREJECT" not in sink.output(), "no row data in reason or log")
    check_eq(psql(env, "SELECT error_class FROM sink_rejects WHERE message_control_id = 'SEMBAD'"),
             [("sink",)], "sink_rejects row")
    # HL7 semantics.
    check_eq(psql(env, "SELECT family_name, last_event FROM patients WHERE mrn = 'MRN9001'"),
             [("JONES", "A03")], "A08 updated the patient")
    enc = psql(env, "SELECT status, room, discharge_ts IS NOT NULL FROM encounters WHERE visit_number = 'V9001'")
    check_eq(enc, [("discharged", "102", "t")], "A03 closed the encounter")
    obs = psql(env, "SELECT value, result_status, version FROM observations WHERE order_key = 'PL9001'")
    check_eq(obs, [("105", "C", "2")], "corrected result replaced the value")
    hist = psql(env, "SELECT h.value, h.result_status, h.superseded_by_message FROM observation_history h "
                     "JOIN observations o ON o.id = h.observation_id WHERE o.order_key = 'PL9001'")
    check_eq(hist, [("95", "F", "SEMR2")], "history keeps the final value")
    # Fix, replay, the row lands once.
    psql(env, "ALTER TABLE patients DROP CONSTRAINT test_no_reject_name")
    r = env.run([HL7FLOW, "dlq", "replay", "--stage", "sink-postgres", "--class", "sink"])
    check("replayed 1" in r.stdout.decode(), f"replay output: {r.stdout.decode()}")
    wait_for(lambda: scalar(env, "SELECT count(*) FROM patients WHERE family_name = 'ZZREJECT'") == 1,
             60, "the replayed row")
    time.sleep(2)
    check_eq(scalar(env, "SELECT count(*) FROM messages WHERE message_control_id = 'SEMBAD'"), 1,
             "replayed message once")
    check_eq(scalar(env, "SELECT n FROM test_attempts WHERE ctrl = 'SEMBAD'"), 1, "written once")
    check_eq(len(sink_dlq(env)), 1, "no new DLQ record after the replay")


def test_linked_shaped_records(env):
    """hl7.linked records (what the mpi-linker writes: empi_id set) go in
    too; the default input topic is hl7.linked."""
    from confluent_kafka import Producer
    src = schema("hl7.parsed.adt")
    dst = schema("hl7.linked")
    recs = env.consume("hl7.parsed.adt", idle_ms=1000, count=20)
    p = Producer({"bootstrap.servers": env.bootstrap})
    sid = None
    out = env.run([HL7FLOW, "schemas", "ids"]).stdout.decode()
    for line in out.splitlines():
        j = json.loads(line)
        if j["subject"] == "hl7.linked-value":
            sid = j["id"]
    check(sid is not None, f"schema id of hl7.linked: {out}")
    for rec in recs:
        v = rec["value"].encode("latin-1")
        d = avro.io.DatumReader(src).read(avro.io.BinaryDecoder(io.BytesIO(v[5:])))
        d["empi_id"] = "EMPI-" + d["header"]["control_id"]
        buf = io.BytesIO()
        avro.io.DatumWriter(dst).write(d, avro.io.BinaryEncoder(buf))
        p.produce("hl7.linked", value=b"\x00" + sid.to_bytes(4, "big") + buf.getvalue(),
                  key=rec["key"].encode("latin-1") if rec["key"] else None)
    p.flush(30)
    psql(env, "DELETE FROM messages WHERE message_control_id IN (%s)" %
         ",".join("'%s'" % header(r, "message_control_id") for r in recs))
    psql(env, "DELETE FROM patients WHERE mrn_hash IN (%s)" %
         ",".join("'%s'" % r["key"] for r in recs if r["key"]))
    # The default input topic is hl7.linked.
    sink = env.start("sink-linked", [SINK], {"SINK_PG_DSN": STATE["dsn"], "HL7FLOW_GROUP_ID": "t-linked"})
    wait_for(lambda: scalar(env, "SELECT count(*) FROM messages WHERE empi_id LIKE 'EMPI-%'") == len(recs),
             60, "linked records written")
    check_eq(scalar(env, "SELECT count(*) FROM patients WHERE empi_id LIKE 'EMPI-%'") > 0, True,
             "patients carry empi_id")
    sink.term()


if __name__ == "__main__":
    run_suite("sink_postgres", [test_generated_traffic_rows_match, test_sigkill_midstream_then_restart,
                                test_postgres_restart_midstream, test_hl7_update_semantics_and_dlq_replay,
                                test_linked_shaped_records])
