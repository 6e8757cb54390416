"""hl7flow-sink-opensearch on the dev broker against the OpenSearch double
(tests/doubles/opensearch_double.py, which follows the documented _bulk
and _index_template APIs and requires HTTP Basic auth here).

- generated traffic through parser -> enricher -> router, the sink reading
  the typed topics: every expected document (computed here from an
  independent decode of the topics with Python's avro: one clinical note
  per TXA, one lab result per OBX of other records, one ADT event per ADT,
  in <kind>-YYYY.MM of the event time in UTC, _id source|facility|control
  [|obxN]) is stored exactly once; the three index templates are installed
  with strict mappings (the double refuses unmapped fields, so a document
  and its template cannot drift apart);
- replay: a second consumer group reads everything again: every document
  is overwritten (version 2), none is added;
- injected 429s per item and whole-request 429/503: retried, nothing lost;
- a per-item 400 (mapper_parsing_exception) lands that record in hl7.dlq
  with class sink and the error type, never document content; the other
  records of the batch are stored and the batch commits;
- wrong credentials: the sink refuses to start (exit 2, status 401).
"""
import base64
import datetime
import io
import json
import os
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, REPO, TestFailure, check, check_eq, free_port, header,  # noqa: E402
                     http_get, run_suite, wait_for)

import avro.io  # noqa: E402
import avro.schema  # noqa: E402

HL7FLOW = os.path.join(BIN, "hl7flow")
SINK = os.path.join(BIN, "hl7flow-sink-opensearch")
DOUBLE = os.path.join(REPO, "tests", "doubles", "opensearch_double.py")
KEY = "integration-test-mrn-key-0123456789"
TYPED = [f"hl7.parsed.{t}" for t in ("adt", "orm", "oru", "dft", "mdm")]
USER, PASSWORD = "hl7sink", "s3cret:pass"
STATE = {}


def os_get(path):
    with urllib.request.urlopen(f"{STATE['url']}{path}", timeout=10) as r:
        return json.loads(r.read())


def os_post(path, obj):
    req = urllib.request.Request(f"{STATE['url']}{path}", data=json.dumps(obj).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read())


def stored():
    """{(index, id): version}"""
    return {(ix, i): d["version"] for ix, docs in os_get("/_double/docs").items() for i, d in docs.items()}


def start_chain(env):
    e = {"HL7FLOW_BATCH_MAX": "300", "HL7FLOW_MRN_HASH_KEY": KEY}
    for n in ("parser", "enricher", "router"):
        env.start(n, [os.path.join(BIN, f"hl7flow-{n}")], dict(e, HL7FLOW_GROUP_ID=f"t-os-{n}"))


def start_sink(env, name, group="t-sink-os", extra=None):
    e = {"OPENSEARCH_URL": STATE["url"], "OPENSEARCH_USER": USER,
         "OPENSEARCH_PASSWORD_FILE": STATE["pwfile"], "HL7FLOW_INPUT_TOPICS": ",".join(TYPED),
         "HL7FLOW_GROUP_ID": group, "HL7FLOW_BATCH_MAX": "200", "OPENSEARCH_BULK_MAX_BYTES": "200000",
         "HL7FLOW_RETRY_BACKOFF_MS": "50", "SINK_OS_BACKOFF_MAX_MS": "400"}
    e.update(extra or {})
    return env.start(name, [SINK], e)


def typed_total(env):
    o = env.offsets(TYPED)
    return sum(o[t]["end"] for t in TYPED)


def wait_chain(env, sent, timeout=240):
    def done():
        t = typed_total(env)
        d = len([r for r in env.consume("hl7.dlq", idle_ms=500) if header(r, "dlq.stage") in
                 ("parser", "enricher", "router")])
        return t if t + d >= sent else None
    return wait_for(done, timeout, "the chain to route every message", interval=1)


def to_us(v):
    if v is None:
        return None
    if isinstance(v, datetime.datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=datetime.timezone.utc)
        return int(v.timestamp()) * 1000000 + v.microsecond
    return int(v)


def month(us):
    d = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(microseconds=us)
    return f"{d.year:04d}.{d.month:02d}"


def first(*vals):
    for v in vals:
        if to_us(v) is not None:
            return to_us(v)
    return None


def expected_docs(env):
    """{(index, id)} from an independent decode of the typed topics."""
    out = set()
    for t in TYPED:
        sch = avro.schema.parse(open(os.path.join(REPO, "schemas", "avro", f"{t}.avsc")).read())
        for r in env.consume(t, idle_ms=1000):
            v = r["value"].encode("latin-1")
            rec = avro.io.DatumReader(sch).read(avro.io.BinaryDecoder(io.BytesIO(v[5:])))
            h = rec["header"]
            base = f"{rec['source_system']}|{rec['facility_id']}|{h['control_id']}"
            ingest = to_us(rec["ingest_ts"])
            if rec["document"]:
                d = rec["document"]
                ts = first(d["activity_ts"], d["origination_ts"], h["message_ts"], ingest)
                out.add((f"clinical-notes-{month(ts)}", base))
            else:
                for o in rec["observations"]:
                    ts = first(o["observation_ts"], h["message_ts"], ingest)
                    out.add((f"lab-results-{month(ts)}", f"{base}|obx{o['segment_occurrence']}"))
            if h["message_code"] == "ADT":
                e = rec["event"] or {}
                ts = first(e.get("event_occurred_ts"), e.get("recorded_ts"), h["message_ts"], ingest)
                out.add((f"adt-events-{month(ts)}", base))
    return out


def sink_dlq(env):
    return [r for r in env.consume("hl7.dlq", idle_ms=1000) if header(r, "dlq.stage") == "sink-opensearch"]


def wait_docs(want, timeout=180):
    def done():
        got = stored()
        return got if set(got) >= want else None
    try:
        return wait_for(done, timeout, f"{len(want)} documents", interval=1)
    except TestFailure:
        got = set(stored())
        raise TestFailure(f"missing {len(want - got)} of {len(want)} documents, e.g. {sorted(want - got)[:3]}")


# ---------------------------------------------------------------------------

def test_every_document_once(env):
    pf = os.path.join(env.dir, "os.port")
    env.start("os-double", ["/usr/bin/python3", DOUBLE, "--port-file", pf, "--auth", f"{USER}:{PASSWORD}"])
    port = wait_for(lambda: os.path.exists(pf) and open(pf).read().strip(), 20, "double port")
    STATE["url"] = f"http://127.0.0.1:{int(port)}"
    STATE["pwfile"] = os.path.join(env.dir, "os.password")
    with open(STATE["pwfile"], "w") as f:
        f.write(PASSWORD + "\n")
    start_chain(env)
    path = os.path.join(env.dir, "t1.mllp")
    env.run([HL7FLOW, "gen", "--seed", "71", "--count", "1200", "--facilities", "6",
             "--patients", "300", "--out", path])
    sent = env.produce("hl7.raw.ingest", path)["sent"]
    wait_chain(env, sent)
    want = expected_docs(env)
    kinds = {ix.rsplit("-", 1)[0] for ix, _ in want}
    check_eq(kinds, {"clinical-notes", "lab-results", "adt-events"}, "traffic gives every kind")
    hp = free_port()
    sink = start_sink(env, "sink1", extra={"HL7FLOW_HTTP_PORT": hp})
    got = wait_docs(want)
    time.sleep(2)
    got = stored()
    check_eq(set(got), want, "stored documents (index, _id)")
    check_eq(sorted(set(got.values())), [1], "every document written once (version 1)")
    st = os_get("/_double/stats")
    check_eq(st["created"], len(want), "documents created")
    check_eq(st["updated"], 0, "documents overwritten")
    check_eq(st["unauthorized"], 0, "requests without valid Basic auth")
    for kind in ("clinical-notes", "lab-results", "adt-events"):
        t = json.loads(urllib.request.urlopen(urllib.request.Request(
            f"{STATE['url']}/_index_template/hl7flow-{kind}",
            headers={"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}),
            timeout=10).read())["index_templates"][0]["index_template"]
        check_eq(t["index_patterns"], [f"{kind}-*"], f"{kind} template pattern")
        m = t["template"]["mappings"]
        check_eq(m["dynamic"], "strict", f"{kind} mapping is strict")
        check_eq(m["properties"]["event_time"]["type"], "date", f"{kind} event_time is a date")
        check_eq(m["properties"]["mrn_hash"]["type"], "keyword", f"{kind} mrn_hash is a keyword")
    notes = [d for ix, docs in os_get("/_double/docs").items() if ix.startswith("clinical-notes-")
             for d in docs.values()]
    check(all(d["source"].get("note_text") for d in notes), "notes carry their text")
    check(not any("family_name" in json.dumps(d["source"]) for d in notes), "no patient names")
    check_eq(sink_dlq(env), [], "sink DLQ records")
    code, body = http_get(hp, "/readyz")
    check_eq(code, 200, f"/readyz: {body}")
    code, body = http_get(hp, "/metrics")
    check("hl7flow_sink_documents_total" in body, "documents metric")
    STATE["want"] = want
    STATE["sink"] = sink


def test_replay_overwrites_and_adds_nothing(env):
    want = STATE["want"]
    before = os_get("/_double/stats")["updated"]
    sink2 = start_sink(env, "sink-replay", group="t-sink-os-replay")
    wait_for(lambda: os_get("/_double/stats")["updated"] - before >= len(want), 180,
             "every document overwritten by the replay", interval=1)
    time.sleep(1)
    got = stored()
    check_eq(set(got), want, "documents after the replay")
    check_eq(sorted(set(got.values())), [2], "every document overwritten once (version 2)")
    check_eq(sink2.term(), 0, "replay sink exit status")


def test_429_and_503_are_retried(env):
    os_post("/_double/config", {"item_429": 60, "request_429": 2, "request_503": 1})
    path = os.path.join(env.dir, "t3.mllp")
    env.run([HL7FLOW, "gen", "--seed", "72", "--count", "500", "--facilities", "6",
             "--patients", "100", "--out", path])
    sent = env.produce("hl7.raw.ingest", path)["sent"]
    wait_chain(env, sent + 1200)
    want = expected_docs(env)
    check(len(want) > len(STATE["want"]), "new traffic gives new documents")
    wait_docs(want)
    time.sleep(1)
    st = os_get("/_double/stats")
    check_eq((st["item_429"], st["request_429"], st["request_503"]), (60, 2, 1), "injected failures")
    check_eq(set(stored()), want, "documents after the 429s")
    check_eq(sink_dlq(env), [], "sink DLQ records")
    events = [e.get("event") for e in STATE["sink"].log_events()]
    check("bulk_items_retrying" in events and "bulk_rejected" in events, "retries logged")
    STATE["want"] = want


def mllp(*msgs):
    return b"".join(b"\x0b" + m.replace("\n", "\r").encode() + b"\x1c\r" for m in msgs)


def oru(ctrl, value):
    return (f"MSH|^~\\&|EPIC|HOSP_A|HL7FLOW|HOSP_A|20261101100000||ORU^R01^ORU_R01|{ctrl}|P|2.5.1\n"
            "PID|1||MRN7001^^^HOSP_A^MR||ZZPATIENT^ANNA||19800101|F\n"
            "OBR|1|PL7001|FL7001|2345-7^Glucose^LN\n"
            f"OBX|1|NM|2345-7^Glucose^LN||95|mg/dL|70-99||||F|||20261101093000\n"
            f"OBX|2|ST|8251-1^Comment^LN||{value}||||||F|||20261101093000")


def test_item_400_goes_to_dlq_rest_commits(env):
    sink = STATE["sink"]
    os_post("/_double/config", {"fail_ids_containing": ["OSBAD1"]})
    adt = ("MSH|^~\\&|EPIC|HOSP_A|HL7FLOW|HOSP_A|20261101110000||ADT^A01^ADT_A01|OSGOOD2|P|2.5.1\n"
           "EVN|A01|20261101110000\nPID|1||MRN7001^^^HOSP_A^MR||ZZPATIENT^ANNA||19800101|F\n"
           "PV1|1|I|W1^101^A")
    path = os.path.join(env.dir, "t4.mllp")
    open(path, "wb").write(mllp(oru("OSGOOD1", "fine"), oru("OSBAD1", "ZZSECRETVALUE"), adt))
    env.produce("hl7.raw.ingest", path)
    dlq = wait_for(lambda: sink_dlq(env) or None, 120, "the refused record in hl7.dlq", interval=1)
    check_eq(len(dlq), 1, "sink DLQ records")
    r = dlq[0]
    check_eq(header(r, "dlq.error_class"), "sink", "class")
    check_eq(header(r, "message_control_id"), "OSBAD1", "the refused message")
    check_eq(header(r, "dlq.source_topic"), "hl7.parsed.oru", "source topic")
    err = header(r, "dlq.error")
    check("400" in err and "mapper_parsing_exception" in err, f"reason has status and type: {err}")
    check("ZZSECRET" not in err and "ZZPATIENT" not in err, f"no content in the reason: {err}")
    check("ZZSECRET" not in sink.output() and "ZZPATIENT" not in sink.output(), "no content in the log")
    got = stored()
    ids = {i for _, i in got}
    check({"EPIC|HOSP_A|OSGOOD1|obx1", "EPIC|HOSP_A|OSGOOD1|obx2", "EPIC|HOSP_A|OSGOOD2"} <= ids,
          "the other records of the batch are stored")
    check("EPIC|HOSP_A|OSBAD1|obx2" not in ids, "the refused document is not stored")
    check(sink.alive(), "sink still running")
    check_eq(sink.term(), 0, "sink exit status after SIGTERM")
    # The batch committed, DLQ record and all: a restart in the same group
    # writes nothing again and dead-letters nothing again.
    st = os_get("/_double/stats")
    again = start_sink(env, "sink-again")
    wait_for(lambda: any(e.get("event") == "partitions_assigned" for e in again.log_events()), 60,
             "the restarted sink's assignment")
    time.sleep(5)
    st2 = os_get("/_double/stats")
    check_eq((st2["created"], st2["updated"]), (st["created"], st["updated"]), "writes after restart")
    check_eq(len(sink_dlq(env)), 1, "sink DLQ records after restart")
    check_eq(again.term(), 0, "restarted sink exit status")


def test_wrong_password_refused(env):
    before = os_get("/_double/stats")["created"]
    bad = os.path.join(env.dir, "bad.password")
    open(bad, "w").write("wrong")
    p = start_sink(env, "sink-badauth", group="t-sink-os-bad", extra={"OPENSEARCH_PASSWORD_FILE": bad})
    rc = wait_for(lambda: None if p.alive() else p.p.returncode, 30, "the sink to stop")
    check_eq(rc, 2, "exit status on refused credentials")
    check("401" in p.output(), f"401 named: {p.output()[-500:]}")
    check_eq(os_get("/_double/stats")["created"], before, "nothing written")


if __name__ == "__main__":
    run_suite("sink_opensearch", [test_every_document_once, test_replay_overwrites_and_adds_nothing,
                                  test_429_and_503_are_retried, test_item_400_goes_to_dlq_rest_commits,
                                  test_wrong_password_refused])
