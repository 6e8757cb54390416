"""hl7flow-parser on the dev broker: hl7.raw.ingest -> hl7.validated or
hl7.dlq (class parse, profile or schema, with the HL7 location).

- generated traffic with every malformed kind of `hl7flow gen` (its truth
  file says which message is which): every good message lands on
  hl7.validated once, every bad one in the DLQ with the right class and
  location, and in = out + DLQ;
- the output is framed as DESIGN.md says (magic 0, 4-byte big-endian id of
  the registered schema) and decodes with python3-avro against
  schemas/avro/hl7.validated.avsc, with the typed fields matching the HL7;
- a stock consumer (Debian's python3-confluent-kafka, its
  schema-registry AvroDeserializer) decodes hl7.validated through the
  Confluent-compatible API of the Apicurio double;
- the real corpus in ../shared/corpus/hl7 (skipped when absent): every file
  is accounted for (outputs or a DLQ record) and no well-formed file is
  rejected as unparseable.
"""
import io
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, REPO, SHARED, Env, TestFailure, check, check_eq, header,  # noqa: E402
                     run_suite, wait_for)

import avro.io  # noqa: E402
import avro.schema  # noqa: E402

PARSER = os.path.join(BIN, "hl7flow-parser")
HL7FLOW = os.path.join(BIN, "hl7flow")
SCHEMA_PATH = os.path.join(REPO, "schemas", "avro", "hl7.validated.avsc")
DOUBLE = os.path.join(REPO, "tests", "doubles", "apicurio_double.py")

# Malformed kinds of `hl7flow gen` (docs/gen.md) -> DLQ class and a text the
# dlq.error must contain (the HL7 location or the parse problem).
EXPECTED = {
    "missing_msh": ("parse", ""),
    "bad_encoding": ("parse", "MSH-2"),
    "binary_garbage": ("parse", ""),
    "empty": ("parse", ""),
    "truncated": ("profile", ""),
    "missing_msh10": ("profile", "MSH-10"),
    "missing_msh9": ("profile", "MSH-9"),
    "bad_pid7_date": ("profile", "PID-7"),
    "bad_pid8_sex": ("profile", "PID-8"),
    "missing_pid3": ("profile", "PID-3"),
    "obx_without_obr": ("profile", "OB"),
}


def frames(path):
    data = open(path, "rb").read()
    out, pos = [], 0
    while True:
        s = data.find(b"\x0b", pos)
        if s < 0:
            return out
        e = data.find(b"\x1c\x0d", s)
        out.append(data[s + 1:e])
        pos = e + 2


def value_bytes(rec):
    return b"" if rec["value"] is None else rec["value"].encode("latin-1")


def parser_env(extra=None):
    e = {"HL7FLOW_GROUP_ID": "t-parser", "HL7FLOW_BATCH_MAX": "200"}
    e.update(extra or {})
    return e


def parser_records(env, topic, want, timeout=120):
    """Waits until @topic holds @want records of the parser (by end offsets)
    and returns them."""
    wait_for(lambda: env.offsets([topic])[topic]["end"] >= want, timeout,
             f"{want} records on {topic}", interval=0.5)
    return env.consume(topic, idle_ms=2000)


STATE = {}


def test_generated_traffic_is_validated_or_dead_lettered(env):
    truth_path = os.path.join(env.dir, "truth.tsv")
    path = os.path.join(env.dir, "traffic.mllp")
    env.run([HL7FLOW, "gen", "--seed", "11", "--count", "2000", "--malformed", "10",
             "--facilities", "24", "--out", path, "--truth", truth_path])
    truth = [line.rstrip("\n").split("\t") for line in open(truth_path)]
    msgs = frames(path)
    check_eq(len(msgs), len(truth), "frames vs truth lines")
    good = [t for t in truth if t[3] == "ok"]
    bad = [(t, m) for t, m in zip(truth, msgs) if t[3] != "ok"]
    check(len(bad) > 100, f"enough malformed messages ({len(bad)})")
    env.produce("hl7.raw.ingest", path)
    parser = env.start("parser", [PARSER], parser_env())
    out = parser_records(env, "hl7.validated", len(good))
    dlq = [r for r in parser_records(env, "hl7.dlq", len(bad)) if header(r, "dlq.stage") == "parser"]
    check_eq(parser.term(), 0, "parser exit status")
    got = [header(r, "message_control_id") for r in out]
    check_eq(sorted(got), sorted(t[1] for t in good), "good messages on hl7.validated, once each")
    check_eq(len(out) + len(dlq), len(truth), "in = out + dlq")
    by_value = {}
    for r in dlq:
        by_value.setdefault(value_bytes(r), []).append(r)
    kinds = {}
    for t, m in bad:
        kind = t[3].split(":", 1)[1]
        cls, loc = EXPECTED[kind]
        recs = by_value.get(m)
        check(recs, f"message {t[0]} ({kind}) is in the DLQ")
        r = recs.pop()
        check_eq(header(r, "dlq.error_class"), cls, f"message {t[0]} ({kind}) class")
        err = header(r, "dlq.error") or ""
        check(loc in err, f"message {t[0]} ({kind}): '{loc}' in dlq.error {err!r}")
        check_eq(header(r, "dlq.source_topic"), "hl7.raw.ingest", "dlq.source_topic")
        kinds[kind] = kinds.get(kind, 0) + 1
    check_eq(set(kinds), set(EXPECTED), "every malformed kind seen")
    STATE["out"] = out
    STATE["msgs"] = {t[1]: m for t, m in zip(truth, msgs) if t[3] == "ok"}
    print(f"# parser: {len(good)} validated, {len(dlq)} dead-lettered: {sorted(kinds.items())}")


def decode(schema, value):
    return avro.io.DatumReader(schema).read(avro.io.BinaryDecoder(io.BytesIO(value)))


def test_output_is_framed_and_decodes_with_the_schema(env):
    out, msgs = STATE.get("out"), STATE.get("msgs")
    if not out:
        raise TestFailure("needs the traffic test's output")
    r = env.run([HL7FLOW, "schemas", "id", "hl7.validated-value"], check_rc=False)
    schema = avro.schema.parse(open(SCHEMA_PATH).read())
    ids = set()
    for rec in out[:300]:
        v = value_bytes(rec)
        check_eq(v[0], 0, "magic byte")
        ids.add(struct.unpack(">I", v[1:5])[0])
        d = decode(schema, v[5:])
        cid = header(rec, "message_control_id")
        raw = msgs[cid]
        # The message from MSH to its last segment (the final terminator
        # belongs to the framing): raw is null because the segments joined
        # by CR are exactly that, as a consumer rebuilds them here.
        check_eq(d["raw"], None, "raw left null for a CR-terminated message")
        fs = d["segments"][0]["fields"][0]
        rebuilt = "\r".join(
            s["id"] + (fs + s["fields"][1] + "".join(fs + f for f in s["fields"][2:])
                       if s["id"] == "MSH" else "".join(fs + f for f in s["fields"]))
            for s in d["segments"])
        check_eq(rebuilt.encode(), raw.rstrip(b"\r\n"), "segments rebuild the message")
        check_eq(d["header"]["control_id"], cid, "header.control_id")
        msh = raw.split(b"\r")[0].decode()
        fs = msh[3]
        check_eq(d["header"]["message_code"], msh.split(fs)[8].split("^")[0], "header.message_code")
        check_eq([s["id"] for s in d["segments"]],
                 [s[:3].decode() for s in raw.split(b"\r") if s], "lossless segment copy")
        pid = [s.decode() for s in raw.split(b"\r") if s.startswith(b"PID")]
        if pid and d["patient"]:
            reps = pid[0].split("|")[3].split("~")
            mr = [x.split("^")[0] for x in reps if len(x.split("^")) > 4 and x.split("^")[4] == "MR"]
            check_eq(d["patient"]["mrn"], (mr or [reps[0].split("^")[0]])[0], "patient.mrn from PID-3")
    check_eq(len(ids), 1, f"one schema id on the wire: {ids}")
    if r.returncode == 0 and r.stdout.strip():
        check(str(ids.pop()) in r.stdout.decode(), f"wire id is the registry's: {r.stdout!r}")


def test_stock_consumer_decodes_through_the_ccompat_api(env):
    # confluent_kafka.avro's own registry client and wire decoder (with
    # python3-avro; Debian has no fastavro): the code AvroConsumer runs on
    # values. AvroConsumer itself would also Avro-decode the plain-text key
    # (facility|app), which is not Avro (API-NOTES.md 2).
    from confluent_kafka import Consumer
    from confluent_kafka.avro import CachedSchemaRegistryClient
    from confluent_kafka.avro.serializer.message_serializer import MessageSerializer

    own = Env("parser-stock")
    try:
        own.start_devbroker()
        pf = os.path.join(own.dir, "double.port")
        own.start("double", ["/usr/bin/python3", DOUBLE, "--port-file", pf])
        port = wait_for(lambda: os.path.exists(pf) and open(pf).read().strip(), 20, "double port")
        ccompat = f"http://127.0.0.1:{int(port)}/apis/ccompat/v7"
        own.run([HL7FLOW, "schemas", "register", "--registry", f"ccompat:{ccompat}"])
        path = own.gen(300, seed=5)
        own.produce("hl7.raw.ingest", path)
        parser = own.start("parser", [PARSER], parser_env({"HL7FLOW_REGISTRY": f"ccompat:{ccompat}"}))
        wait_for(lambda: own.offsets(["hl7.validated"])["hl7.validated"]["end"] >= 300, 90,
                 "records on hl7.validated")
        check_eq(parser.term(), 0, "parser exit status")
        serde = MessageSerializer(CachedSchemaRegistryClient({"url": ccompat}))
        c = Consumer({"bootstrap.servers": own.bootstrap, "group.id": "stock-consumer",
                      "auto.offset.reset": "earliest", "fetch.wait.max.ms": 5})
        c.subscribe(["hl7.validated"])
        seen = {}
        import time
        deadline = time.time() + 60
        while len(seen) < 300 and time.time() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            v = serde.decode_message(m.value(), is_key=False)
            seen[v["header"]["control_id"]] = v
        c.close()
        check_eq(len(seen), 300, "records decoded by the stock consumer")
        some = next(iter(seen.values()))
        check(some["source_system"] and some["facility_id"], "source_system and facility_id set")
        check(isinstance(some["segments"], list) and some["segments"][0]["id"] == "MSH",
              "segments decoded")
    finally:
        own.close()


def test_shared_corpus_is_accounted_for(env):
    corpus = os.path.join(SHARED, "corpus", "hl7")
    if not os.path.isdir(corpus):
        print("# corpus absent: ../shared/corpus/hl7 not found, skipped")
        return
    manifest = {}
    for line in open(os.path.join(corpus, "MANIFEST.tsv")):
        cols = line.rstrip("\n").split("\t")
        if cols[0] != "file":
            manifest[cols[0]] = cols
    files = sorted(f for f in manifest if os.path.isfile(os.path.join(corpus, f)))
    stream = os.path.join(env.dir, "corpus.mllp")
    with open(stream, "wb") as f:
        for name in files:
            body = open(os.path.join(corpus, name), "rb").read().replace(b"\x0b", b"").replace(b"\x1c", b"")
            f.write(b"\x0b" + body + b"\x1c\x0d")
    before_out = env.offsets(["hl7.validated"])["hl7.validated"]["end"]
    before_dlq = len([r for r in env.consume("hl7.dlq", idle_ms=1000) if header(r, "dlq.stage") == "parser"])
    sent = env.produce("hl7.enriched", stream)["sent"]
    parser = env.start("parser-corpus", [PARSER], parser_env({
        "HL7FLOW_GROUP_ID": "t-parser-corpus", "HL7FLOW_INPUT_TOPICS": "hl7.enriched"}))

    def dlq_now():
        return [r for r in env.consume("hl7.dlq", idle_ms=1000) if header(r, "dlq.stage") == "parser"
                and header(r, "dlq.source_topic") == "hl7.enriched"]

    def settled():
        d = dlq_now()
        out = env.offsets(["hl7.validated"])["hl7.validated"]["end"] - before_out
        ok_inputs = len(files) - len(d)
        return (d, out) if ok_inputs >= 0 and out >= ok_inputs and len(d) + ok_inputs == len(files) \
            and parser_idle(parser) else None
    d, out = wait_for(settled, 90, "the corpus to be processed", interval=1)
    check_eq(parser.term(), 0, "parser exit status")
    check_eq(sent, len(files), "one record per corpus file")
    parse_errs = []
    for r in d:
        body = value_bytes(r)
        name = next((n for n in files if open(os.path.join(corpus, n), "rb").read().replace(
            b"\x0b", b"").replace(b"\x1c", b"") == body), "?")
        notes = " ".join(manifest.get(name, ["", "", "", "", "", "", ""])[4:]).upper()
        malformed = any(w in notes for w in ("MALFORMED", "NOT AN HL7", "FUZZ", "EMPTY"))
        if header(r, "dlq.error_class") == "parse" and not malformed:
            parse_errs.append((name, header(r, "dlq.error")))
    check_eq(parse_errs, [], "well-formed corpus files rejected as unparseable")
    print(f"# corpus: {len(files)} files -> {out} messages on hl7.validated, {len(d)} files in the DLQ "
          f"({sorted(set(header(r, 'dlq.error_class') for r in d))})")


def parser_idle(proc):
    # Quiet for a moment: the last log line is older than a second.
    import time
    try:
        return time.time() - os.path.getmtime(proc.log_path) > 1.0
    except OSError:
        return False


if __name__ == "__main__":
    run_suite("parser_service", [
        test_generated_traffic_is_validated_or_dead_lettered,
        test_output_is_framed_and_decodes_with_the_schema,
        test_stock_consumer_decodes_through_the_ccompat_api,
        test_shared_corpus_is_accounted_for,
    ])
