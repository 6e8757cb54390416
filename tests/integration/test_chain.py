"""The parser -> enricher -> router chain on the dev broker.

- generated traffic (with malformed messages) and the shared corpus, through
  all three stages with the schema registry served by the Apicurio double's
  Confluent-compatible API: every message is on the typed topic its MSH-9
  names or in the DLQ with a reason, and the counts add up at every stage
  (in = out + DLQ);
- keys are the MRN hash: checked against an independent HMAC-SHA256
  (Python's hmac) over facility_id|assigning_authority|MRN of the decoded
  record;
- a stock consumer (python3-confluent-kafka's registry client and wire
  decoder) decodes every typed topic;
- the enricher's additions: the facility block from the facility file,
  `_ts` of local times computed in the facility's zone (checked with
  Python's zoneinfo, independent of ICU), normalized sex and name;
- per-patient order: many patients with interleaved events; each patient's
  events are on one partition (the same index on every typed topic) in the
  order they were sent;
- unknown facilities: DLQ class enrich by default, pass with
  enrichment.facility_known=false by setting; the facility file is
  reloaded without a restart;
- routes are configuration: a custom ROUTER_ROUTES with a CODE^EVENT route,
  an unrouted type to the DLQ (class unroutable), then to a default topic;
- code maps: local OBX-3 codes and unit spellings get their standard codes
  in enrichment.codes (the source values unchanged), an operator's
  facility-specific table applies to that facility only;
- bad settings stop the services with exit status 2 naming the variable.
"""
import datetime
import hashlib
import hmac
import io
import json
import os
import struct
import sys
import time
import zoneinfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, REPO, SHARED, Env, TestFailure, check, check_eq, header,  # noqa: E402
                     run_suite, wait_for)

import avro.io  # noqa: E402
import avro.schema  # noqa: E402

HL7FLOW = os.path.join(BIN, "hl7flow")
PARSER = os.path.join(BIN, "hl7flow-parser")
ENRICHER = os.path.join(BIN, "hl7flow-enricher")
ROUTER = os.path.join(BIN, "hl7flow-router")
DOUBLE = os.path.join(REPO, "tests", "doubles", "apicurio_double.py")
FACILITIES = os.path.join(REPO, "config", "facilities.dev.json")
KEY = "integration-test-mrn-key-0123456789"
TYPED = {"ADT": "adt", "ORM": "orm", "OML": "orm", "ORU": "oru", "OUL": "oru", "DFT": "dft",
         "MDM": "mdm"}
TOPICS = [f"hl7.parsed.{t}" for t in ("adt", "orm", "oru", "dft", "mdm")]


def schema(topic):
    return avro.schema.parse(open(os.path.join(REPO, "schemas", "avro", f"{topic}.avsc")).read())


def decode(sch, value):
    check_eq(value[0], 0, "magic byte")
    return avro.io.DatumReader(sch).read(avro.io.BinaryDecoder(io.BytesIO(value[5:])))


def value_bytes(rec):
    return b"" if rec["value"] is None else rec["value"].encode("latin-1")


def mrn_hash(facility, authority, mrn):
    msg = f"{facility}|{authority or ''}|{mrn}".encode()
    return hmac.new(KEY.encode(), msg, hashlib.sha256).hexdigest()


def stage_env(name, extra=None):
    e = {"HL7FLOW_GROUP_ID": f"t-{name}", "HL7FLOW_BATCH_MAX": "300",
         "HL7FLOW_MRN_HASH_KEY": KEY, "ENRICHER_RELOAD_MS": "200"}
    e.update(extra or {})
    return e


def start_chain(env, extra=None, names=("parser", "enricher", "router")):
    bins = {"parser": PARSER, "enricher": ENRICHER, "router": ROUTER}
    return [env.start(n, [bins[n]], stage_env(n, extra)) for n in names]


def end(env, topics):
    o = env.offsets(topics)
    return sum(o[t]["end"] for t in topics)


def dlq_by_stage(env):
    out = {}
    for r in env.consume("hl7.dlq", idle_ms=1000):
        out.setdefault(header(r, "dlq.stage"), []).append(r)
    return out


def settle(env, total_in, timeout=180):
    """Waits until every input is accounted for at every stage and returns
    (validated, enriched, typed, dlq_by_stage)."""
    def done():
        v, e, t = end(env, ["hl7.validated"]), end(env, ["hl7.enriched"]), end(env, TOPICS)
        d = dlq_by_stage(env)
        n = {s: len(r) for s, r in d.items()}
        if v + n.get("parser", 0) >= total_in and e + n.get("enricher", 0) >= v and \
                t + n.get("router", 0) >= e:
            return v, e, t, d
        return None
    return wait_for(done, timeout, "the chain to account for every input", interval=1)


STATE = {}


def local_to_utc_us(text, zone):
    """HL7 DTM without offset read in @zone (first occurrence on a fold)."""
    digits = text.split(".")[0]
    frac = text.split(".")[1] if "." in text else ""
    parts = [int(digits[0:4]), int(digits[4:6] or 1), int(digits[6:8] or 1),
             int(digits[8:10] or 0), int(digits[10:12] or 0), int(digits[12:14] or 0)]
    micro = int((frac + "000000")[:6]) if frac else 0
    dt = datetime.datetime(*parts, micro, tzinfo=zoneinfo.ZoneInfo(zone), fold=0)
    return int(dt.timestamp()) * 1000000 + micro


def test_generated_traffic_through_the_chain(env):
    pf = os.path.join(env.dir, "double.port")
    env.start("double", ["/usr/bin/python3", DOUBLE, "--port-file", pf])
    port = wait_for(lambda: os.path.exists(pf) and open(pf).read().strip(), 20, "double port")
    ccompat = f"http://127.0.0.1:{int(port)}/apis/ccompat/v7"
    env.run([HL7FLOW, "schemas", "register", "--registry", f"ccompat:{ccompat}"])
    truth_path = os.path.join(env.dir, "truth.tsv")
    path = os.path.join(env.dir, "traffic.mllp")
    env.run([HL7FLOW, "gen", "--seed", "21", "--count", "3000", "--malformed", "3",
             "--facilities", "24", "--patients", "150", "--out", path, "--truth", truth_path])
    truth = [line.rstrip("\n").split("\t") for line in open(truth_path)]
    sent = env.produce("hl7.raw.ingest", path)["sent"]
    check_eq(sent, len(truth), "records produced")
    procs = start_chain(env, {"HL7FLOW_REGISTRY": f"ccompat:{ccompat}"})
    v, e, t, d = settle(env, len(truth))
    for p in procs:
        check_eq(p.term(), 0, f"{p.name} exit status")
    n = {s: len(r) for s, r in d.items()}
    check_eq(v + n.get("parser", 0), len(truth), "parser: in = out + DLQ")
    check_eq(e + n.get("enricher", 0), v, "enricher: in = out + DLQ")
    check_eq(t + n.get("router", 0), e, "router: in = out + DLQ")
    check_eq(n.get("enricher", 0), 0, "every generated facility is known")
    good = {x[1]: x[2] for x in truth if x[3] == "ok"}
    typed = {}
    for topic in TOPICS:
        sch = schema(topic)
        for r in env.consume(topic, idle_ms=1000):
            rec = decode(sch, value_bytes(r))
            typed.setdefault(rec["header"]["control_id"], []).append((topic, r, rec))
    # Router DLQ: records without a usable MRN (unroutable), nothing else.
    for r in d.get("router", []):
        check_eq(header(r, "dlq.error_class"), "unroutable", "router DLQ class")
        check("PID" in header(r, "dlq.error"), f"router DLQ names PID: {header(r, 'dlq.error')}")
    routed_out = {header(r, "message_control_id") for r in d.get("router", [])}
    for cid, mtype in good.items():
        if cid in routed_out:
            continue
        hits = typed.get(cid)
        check(hits and len(hits) == 1, f"{cid} on exactly one typed topic (got {len(hits or [])})")
        topic, r, rec = hits[0]
        check_eq(topic, "hl7.parsed." + TYPED[mtype.split("^")[0]], f"{cid} ({mtype}) topic")
        p = rec["patient"]
        want = mrn_hash(rec["facility_id"], p["mrn_assigning_authority"], p["mrn"])
        check_eq(r["key"], want, f"{cid} key = HMAC of facility|authority|mrn")
        check_eq(rec["mrn_hash"], want, f"{cid} mrn_hash field")
    check_eq(sum(len(x) for x in typed.values()), t, "typed records are the good ones, once each")
    STATE["typed"] = typed
    STATE["truth"] = truth
    STATE["ccompat"] = ccompat
    STATE["facilities"] = {f["facility_id"]: f for f in json.load(open(FACILITIES))["facilities"]}
    print(f"# chain: {len(truth)} in, {v} validated, {e} enriched, {t} typed, DLQ {n}")


def test_enrichment_adds_facility_times_names(env):
    typed, facs = STATE.get("typed"), STATE.get("facilities")
    if not typed:
        raise TestFailure("needs the traffic test's output")
    filled = checked_names = 0
    for hits in typed.values():
        _, _, rec = hits[0]
        fac = facs[rec["facility_id"]]
        check_eq(rec["facility"]["name"], fac.get("name"), "facility.name from the facility file")
        check_eq(rec["facility"]["time_zone"], fac.get("time_zone"), "facility.time_zone")
        en = rec["enrichment"]
        check_eq(en["facility_known"], True, "enrichment.facility_known")
        h = rec["header"]
        text = h["message_datetime"]
        if text and len(text) >= 8 and "+" not in text and "-" not in text and fac.get("time_zone"):
            got = h["message_ts"]
            got_us = int(got.timestamp() * 1000000) if isinstance(got, datetime.datetime) else got
            check_eq(got_us, local_to_utc_us(text, fac["time_zone"]),
                     f"message_ts of {text} in {fac['time_zone']}")
            filled += 1
        p = rec["patient"]
        sex = {"F": "female", "M": "male", "O": "other", "A": "other", "U": "unknown",
               "N": "unknown"}.get((p["sex"] or "").upper())
        check_eq(en["patient_sex"], sex, f"patient_sex for {p['sex']!r}")
        if p["names"]:
            legal = next((nm for nm in p["names"] if nm["name_type"] == "L"), p["names"][0])
            if legal["family"] and legal["family"].isascii():
                want = " ".join(legal["family"].upper().replace(".", "").split())
                check_eq(en["patient_family_name"], want, "normalized family name")
                checked_names += 1
    check(filled > 100, f"local times filled and checked ({filled})")
    check(checked_names > 100, f"names checked ({checked_names})")


def test_stock_consumer_decodes_every_typed_topic(env):
    from confluent_kafka import Consumer
    from confluent_kafka.avro import CachedSchemaRegistryClient
    from confluent_kafka.avro.serializer.message_serializer import MessageSerializer
    typed, ccompat = STATE.get("typed"), STATE.get("ccompat")
    if not typed:
        raise TestFailure("needs the traffic test's output")
    serde = MessageSerializer(CachedSchemaRegistryClient({"url": ccompat}))
    want = {topic: sum(1 for hits in typed.values() if hits[0][0] == topic) for topic in TOPICS}
    c = Consumer({"bootstrap.servers": env.bootstrap, "group.id": "stock-typed",
                  "auto.offset.reset": "earliest", "fetch.wait.max.ms": 5,
                  "isolation.level": "read_committed"})
    c.subscribe(TOPICS)
    seen = {topic: 0 for topic in TOPICS}
    deadline = time.time() + 90
    while seen != want and time.time() < deadline:
        m = c.poll(0.5)
        if m is None or m.error():
            continue
        v = serde.decode_message(m.value(), is_key=False)
        check_eq(v["mrn_hash"], m.key().decode(), f"{m.topic()}: key = decoded mrn_hash")
        check(v["facility"] is not None, f"{m.topic()}: facility block decoded")
        seen[m.topic()] += 1
    c.close()
    check_eq(seen, want, "records decoded by the stock consumer, per typed topic")


def test_each_patients_events_in_order_on_one_partition(env):
    typed, truth = STATE.get("typed"), STATE.get("truth")
    if not typed:
        raise TestFailure("needs the traffic test's output")
    order = {x[1]: int(x[0]) for x in truth}
    per_patient = {}
    for cid, hits in typed.items():
        topic, r, rec = hits[0]
        per_patient.setdefault(r["key"], []).append((topic, r["partition"], r["offset"], order[cid]))
    busy = 0
    for key, evs in per_patient.items():
        check_eq(len({p for _, p, _, _ in evs}), 1, f"patient {key[:12]}: one partition index")
        for topic in TOPICS:
            seq = sorted((o, sent) for t, _, o, sent in evs if t == topic)
            check_eq([s for _, s in seq], sorted(s for _, s in seq),
                     f"patient {key[:12]} on {topic}: offsets follow send order")
        busy += len(evs) >= 10
    check(busy >= 50, f"many patients with many interleaved events ({busy} with >= 10)")


def write_facilities(path, ids):
    facs = json.load(open(FACILITIES))["facilities"]
    keep = [f for f in facs if f["facility_id"] in ids]
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"facilities": keep}, f)
    os.replace(tmp, path)


def test_unknown_facility_dlq_then_reload(env):
    own = Env("chain-unknown")
    try:
        own.start_devbroker()
        fpath = os.path.join(own.dir, "facilities.json")
        write_facilities(fpath, {"HOSP_A"})
        path = own.gen(400, seed=31, extra=("--facilities", "2"))
        own.produce("hl7.raw.ingest", path)
        procs = start_chain(own, {"ENRICHER_FACILITIES": fpath}, names=("parser", "enricher"))
        wait_for(lambda: (lambda d: len(d.get("enricher", [])) + end(own, ["hl7.enriched"]) >=
                          end(own, ["hl7.validated"]) > 0)(dlq_by_stage(own)), 120, "first pass")
        d = dlq_by_stage(own)
        check(len(d.get("enricher", [])) > 50, "HOSP_B records dead-lettered")
        for r in d["enricher"]:
            check_eq(header(r, "dlq.error_class"), "enrich", "class enrich")
            check("HOSP_B" in header(r, "dlq.error"), f"the facility named: {header(r, 'dlq.error')}")
        first_dlq, first_out = len(d["enricher"]), end(own, ["hl7.enriched"])
        write_facilities(fpath, {"HOSP_A", "HOSP_B"})
        enr = procs[1]
        wait_for(lambda: any(ev.get("event") == "facilities_reloaded" for ev in enr.log_events()),
                 20, "the enricher to reload the facility file")
        own.produce("hl7.raw.ingest", path)
        wait_for(lambda: end(own, ["hl7.enriched"]) >= first_out + 400 -
                 (end(own, ["hl7.validated"]) - 400 - first_out - first_dlq), 120, "second pass")
        check_eq(len(dlq_by_stage(own).get("enricher", [])), first_dlq, "no DLQ after the reload")
        for p in procs:
            check_eq(p.term(), 0, f"{p.name} exit status")
        # pass mode: the same input again, the unknown facility flagged
        write_facilities(fpath, {"HOSP_A"})
        passer = own.start("enricher-pass", [ENRICHER], stage_env("enricher-pass", {
            "ENRICHER_FACILITIES": fpath, "ENRICHER_UNKNOWN_FACILITY": "pass",
            "HL7FLOW_OUTPUT_TOPIC": "hl7.linked"}))
        v = end(own, ["hl7.validated"])
        wait_for(lambda: end(own, ["hl7.linked"]) >= v, 120, "pass-mode enricher output")
        check_eq(passer.term(), 0, "pass-mode enricher exit status")
        sch = schema("hl7.linked")
        flags = {}
        for r in own.consume("hl7.linked", idle_ms=1000):
            rec = decode(sch, value_bytes(r))
            flags.setdefault(rec["facility_id"], set()).add(
                (rec["enrichment"]["facility_known"], rec["facility"] is None))
        check_eq(flags.get("HOSP_A"), {(True, False)}, "known facility: block and flag")
        check_eq(flags.get("HOSP_B"), {(False, True)}, "unknown facility passes, flagged, no block")
    finally:
        own.close()


def test_routes_are_configuration(env):
    own = Env("chain-routes")
    try:
        own.start_devbroker()
        path = own.gen(600, seed=41)
        own.produce("hl7.raw.ingest", path)
        # MDM has no route; ADT^A40 (merge) has its own topic.
        routes = ("ADT=hl7.parsed.adt,ADT^A40=hl7.parsed.mdm,ORM=hl7.parsed.orm,ORU=hl7.parsed.oru,"
                  "DFT=hl7.parsed.dft")
        procs = start_chain(own, {"ROUTER_ROUTES": routes})
        v, e, t, d = settle(own, 600)
        for p in procs:
            check_eq(p.term(), 0, f"{p.name} exit status")
        un = [r for r in d.get("router", []) if header(r, "dlq.error_class") == "unroutable"]
        mdm_in = [r for r in un if (header(r, "message_type") or "").startswith("MDM")]
        check(len(mdm_in) > 5, f"MDM records dead-lettered as unroutable ({len(mdm_in)})")
        check(all("MDM" in header(r, "dlq.error") for r in mdm_in), "the error names the code")
        sch = schema("hl7.parsed.mdm")
        on_mdm = [decode(sch, value_bytes(r)) for r in own.consume("hl7.parsed.mdm", idle_ms=1000)]
        check(on_mdm, "ADT^A40 records on the topic of their CODE^EVENT route")
        check(all(rec["header"]["message_code"] == "ADT" and rec["header"]["trigger_event"] == "A40"
                  for rec in on_mdm), "only ADT^A40 on that topic")
        # A default topic instead of the DLQ for the unrouted code.
        router2 = own.start("router-default", [ROUTER], stage_env("router-default", {
            "ROUTER_ROUTES": routes, "ROUTER_DEFAULT_TOPIC": "hl7.linked"}))
        wait_for(lambda: end(own, ["hl7.linked"]) >= len(mdm_in), 120, "unrouted code on the default topic")
        check_eq(router2.term(), 0, "router exit status")
        sch = schema("hl7.linked")
        codes = {decode(sch, value_bytes(r))["header"]["message_code"]
                 for r in own.consume("hl7.linked", idle_ms=1000)}
        check_eq(codes, {"MDM"}, "the default topic holds the unrouted code only")
    finally:
        own.close()


def localize_obx(msg, i):
    """@msg with every OBX-3 a local code (GLU in system L, or the site's
    own XYZ in 99LAB) and OBX-6 in a local unit spelling."""
    segs = msg.split(b"\r")
    n = 0
    for k, seg in enumerate(segs):
        if seg.startswith(b"OBX|"):
            f = seg.split(b"|")
            while len(f) < 7:
                f.append(b"")
            f[3] = b"GLU^Glucose^L" if (n + i) % 2 == 0 else b"XYZ^Site test^99LAB"
            f[6] = b"mg/dl"
            segs[k] = b"|".join(f)
            n += 1
    return b"\r".join(segs)


def test_code_maps_give_standard_codes(env):
    own = Env("chain-codes")
    try:
        own.start_devbroker()
        maps = os.path.join(own.dir, "codemaps")
        os.makedirs(maps)
        for name in os.listdir(os.path.join(REPO, "config", "codemaps")):
            with open(os.path.join(REPO, "config", "codemaps", name), "rb") as f:
                open(os.path.join(maps, name), "wb").write(f.read())
        # An operator's extension: HOSP_A's own code, for HOSP_A only.
        with open(os.path.join(maps, "site.tsv"), "w") as f:
            f.write("# site codes\nobservation\tHOSP_A\t99LAB\tXYZ\tLN\t99999-9\tSite test\n")
        gen = own.gen(300, seed=51, extra=("--facilities", "2"))
        data = open(gen, "rb").read()
        frames = [fr for fr in data.split(b"\x1c\x0d") if fr.strip()]
        out = os.path.join(own.dir, "local.mllp")
        with open(out, "wb") as f:
            for i, fr in enumerate(frames):
                f.write(localize_obx(fr, i) + b"\x1c\x0d")
        own.produce("hl7.raw.ingest", out)
        procs = start_chain(own, {"ENRICHER_CODE_MAPS": maps}, names=("parser", "enricher"))
        v = wait_for(lambda: (lambda n: n if n and end(own, ["hl7.enriched"]) >= n else None)(
            end(own, ["hl7.validated"])), 120, "enriched records")
        for p in procs:
            check_eq(p.term(), 0, f"{p.name} exit status")
        sch = schema("hl7.enriched")
        glu = site = site_other = units = 0
        for r in own.consume("hl7.enriched", idle_ms=1000):
            rec = decode(sch, value_bytes(r))
            codes = {c["field"]: c for c in rec["enrichment"]["codes"]}
            for i, obs in enumerate(rec["observations"]):
                ident, c = obs["identifier"], codes.get(f"observations[{i}].identifier")
                if ident["code"] == "GLU":
                    check(c and (c["system"], c["code"]) == ("LN", "2345-7"), f"GLU -> LOINC: {c}")
                    check_eq(ident["system"], "L", "the source code stays in observations[].identifier")
                    glu += 1
                elif ident["code"] == "XYZ" and rec["facility_id"] == "HOSP_A":
                    check(c and c["code"] == "99999-9" and c["source_system"] == "99LAB",
                          f"the site's own code mapped for HOSP_A: {c}")
                    site += 1
                elif ident["code"] == "XYZ":
                    check(c is None, "the site's code is HOSP_A's only")
                    site_other += 1
                u = codes.get(f"observations[{i}].units")
                if obs["units"] and obs["units"]["code"] == "mg/dl":
                    check(u and (u["system"], u["code"]) == ("UCUM", "mg/dL"), f"unit -> UCUM: {u}")
                    units += 1
        check(glu > 20 and site > 5 and site_other > 5 and units > 20,
              f"codes seen: GLU {glu}, site {site}, other site {site_other}, units {units}")
        print(f"# codes: {v} records; GLU {glu}, site {site}/{site_other}, units {units}")
    finally:
        own.close()


def test_mrn_with_a_separator_is_not_keyed(env):
    # PID-3.1 "12\F\34" unescapes to "12|34": joined with '|' into the MRN
    # hash it could collide with another patient's, so it is dead-lettered.
    own = Env("chain-bar")
    try:
        own.start_devbroker()
        msgs = []
        for i, mrn in enumerate([b"1234", b"12\\F\\34"]):
            msgs.append(b"MSH|^~\\&|APP|HOSP_A|HL7FLOW|HUB|20240101120000||ADT^A08^ADT_A01|BAR-%d|P|2.5.1\r"
                        b"EVN|A08|20240101120000\rPID|1||" % i + mrn +
                        b"^^^HOSP_A^MR||DOE^JANE||19800101|F\rPV1|1|I\r")
        path = os.path.join(own.dir, "bar.mllp")
        with open(path, "wb") as f:
            for m in msgs:
                f.write(b"\x0b" + m + b"\x1c\x0d")
        own.produce("hl7.raw.ingest", path)
        procs = start_chain(own)
        v, e, t, d = settle(own, 2, timeout=120)
        for p in procs:
            check_eq(p.term(), 0, f"{p.name} exit status")
        check_eq(t, 1, "the plain MRN is routed")
        r = d.get("router", [])
        check_eq([header(x, "message_control_id") for x in r], ["BAR-1"], "the MRN with '|' is not")
        check_eq(header(r[0], "dlq.error_class"), "unroutable", "class")
        check("'|'" in header(r[0], "dlq.error"), f"the reason: {header(r[0], 'dlq.error')}")
    finally:
        own.close()


def test_bad_configuration_is_refused(env):
    r = env.run([ROUTER], {"HL7FLOW_MRN_HASH_KEY": "short"}, check_rc=False, timeout=30)
    check_eq(r.returncode, 2, "router exit status with a short key")
    check("HL7FLOW_MRN_HASH_KEY" in (r.stdout + r.stderr).decode(), "names the variable")
    r = env.run([ROUTER], {"HL7FLOW_MRN_HASH_KEY": KEY, "ROUTER_ROUTES": "adt=x"}, check_rc=False,
                timeout=30)
    check_eq(r.returncode, 2, "router exit status with a bad route")
    check("ROUTER_ROUTES" in (r.stdout + r.stderr).decode(), "names the variable")
    r = env.run([ENRICHER], {"ENRICHER_FACILITIES": "/nonexistent/f.json"}, check_rc=False, timeout=30)
    check_eq(r.returncode, 2, "enricher exit status with a missing facility file")
    check("ENRICHER_FACILITIES" in (r.stdout + r.stderr).decode(), "names the variable")


def test_shared_corpus_is_accounted_for(env):
    corpus = os.path.join(SHARED, "corpus", "hl7")
    if not os.path.isdir(corpus):
        print("# corpus absent: ../shared/corpus/hl7 not found, skipped")
        return
    own = Env("chain-corpus")
    try:
        own.start_devbroker()
        files = sorted(f for f in os.listdir(corpus) if os.path.isfile(os.path.join(corpus, f))
                       and not f.startswith(("MANIFEST", "README")))
        stream = os.path.join(own.dir, "corpus.mllp")
        with open(stream, "wb") as f:
            for name in files:
                body = open(os.path.join(corpus, name), "rb").read()
                f.write(b"\x0b" + body.replace(b"\x0b", b"").replace(b"\x1c", b"") + b"\x1c\x0d")
        own.produce("hl7.raw.ingest", stream)
        # Corpus facilities are not in the dev facility file: pass mode, UTC
        # for their local times.
        procs = start_chain(own, {"ENRICHER_UNKNOWN_FACILITY": "pass",
                                  "ENRICHER_DEFAULT_TIME_ZONE": "UTC",
                                  "PARSER_PROFILE_MODE": "off"})
        v, e, t, d = settle(own, len(files))
        for p in procs:
            check_eq(p.term(), 0, f"{p.name} exit status")
        n = {s: len(r) for s, r in d.items()}
        check_eq(e + n.get("enricher", 0), v, "enricher: in = out + DLQ")
        check_eq(t + n.get("router", 0), e, "router: in = out + DLQ")
        check_eq(n.get("enricher", 0), 0, "nothing dead-lettered by the enricher in pass mode")
        classes = {header(r, "dlq.error_class") for r in d.get("router", [])}
        check(classes <= {"unroutable"}, f"router DLQ classes {classes}")
        print(f"# corpus: {len(files)} files, {v} validated, {t} typed, DLQ {n}")
    finally:
        own.close()


if __name__ == "__main__":
    run_suite("chain", [
        test_generated_traffic_through_the_chain,
        test_enrichment_adds_facility_times_names,
        test_stock_consumer_decodes_every_typed_topic,
        test_each_patients_events_in_order_on_one_partition,
        test_unknown_facility_dlq_then_reload,
        test_routes_are_configuration,
        test_code_maps_give_standard_codes,
        test_mrn_with_a_separator_is_not_keyed,
        test_bad_configuration_is_refused,
        test_shared_corpus_is_accounted_for,
    ])
