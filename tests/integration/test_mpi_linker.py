"""hl7flow-mpi-linker on the dev broker with a throwaway PostgreSQL.

Generated traffic goes through parser -> enricher -> router onto the typed
topics (in two halves), then through the linker:

- a baseline run (one replica) links every typed record: empi_id and
  linkage on every output record, same key and partition as the input, one
  enterprise id per MRN hash, encounter correlation that follows the ADT
  story, a changelog record per output;
- two replicas; one is SIGKILLed after the first half; the survivor takes
  its partitions, restores their state from the changelog, processes the
  second half, and its output equals the baseline's, record for record
  (by message control id; the dev broker shows aborted copies, so every copy
  must equal the baseline). Fields that depend on the interleaving of
  different partitions (merges: A40 of one identity and later events of
  the other) are left out of the comparison;
- restart with the disk intact (after SIGTERM and after SIGKILL): every
  partition restores from its checkpoint, not from zero;
- enterprise ids by probabilistic matching (hand-written ADT^A04s): the
  same person under two MRNs at two facilities with a typo in the name gets
  one empi_id (auto, with its match probability); a different person with
  the same name and another birth date and address gets another; a
  borderline pair (same name and sex, another birth date, nothing else)
  gets a new identity queued for review with its candidate; the blocking
  index holds keyed hashes only and the comparison data is sealed;
- two replicas, each seeing a variant of the same new person (another MRN,
  another facility, a typo in the family name) at once: one golden record
  per person in PostgreSQL, both MRNs linked to it;
- order across topics: 24 patients each get an A01, then an order, then its
  result (one MLLP file, so ingest_ts rises in that order). A new group
  starts with every ADT and ORM record of the run ahead of it but none of
  the ORUs before these, so each result sits at the head of its partition
  and its order deep in another topic. With the default ingest-time order
  every result carries its order's placer number and no
  result_without_order, and every order its admission's visit; the same
  records read in arrival order (HL7FLOW_INPUT_ORDER=arrival, the control)
  lose some of that, which shows the input really is out of order.

Each run has its own consumer group, state directories, database and
changelog topic (the dev broker is started with schemas/topics plus a
changelog per run, same partition count).
"""
import io
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, REPO, TestFailure, check, check_eq, free_port, header,  # noqa: E402
                     run_suite, wait_for)

import avro.io  # noqa: E402
import avro.schema  # noqa: E402

HL7FLOW = os.path.join(BIN, "hl7flow")
LINKER = os.path.join(BIN, "hl7flow-mpi-linker")
KEY = "integration-test-mrn-key-0123456789"
TYPED = [f"hl7.parsed.{t}" for t in ("adt", "orm", "oru", "dft", "mdm")]
CHANGELOG = "hl7flow-mpi-linker-state-changelog"
RUNS = ("base", "kill", "race", "match", "order", "arrival", "redo")
STATE = {}
LINKED_SCHEMA = avro.schema.parse(open(os.path.join(REPO, "schemas", "avro",
                                                    "hl7.linked.avsc")).read())


def decode(value):
    b = value.encode("latin-1")
    check_eq(b[0], 0, "magic byte")
    return avro.io.DatumReader(LINKED_SCHEMA).read(avro.io.BinaryDecoder(io.BytesIO(b[5:])))


def start_broker(env):
    """The dev broker with schemas/topics plus one changelog per run."""
    topics = os.path.join(env.dir, "topics")
    base = open(os.path.join(REPO, "schemas", "topics")).read()
    parts = [ln.split()[1] for ln in base.splitlines() if ln.startswith(CHANGELOG)][0]
    with open(topics, "w") as f:
        f.write(base)
        for r in RUNS:
            f.write(f"\n{CHANGELOG}-{r} {parts} cleanup.policy=compact\n")
    bf = os.path.join(env.dir, "bootstrap")
    STATE["broker_http"] = free_port()
    env.devbroker = env.start("devbroker", [HL7FLOW, "devbroker", "--brokers", "3", "--topics",
                                            topics, "--bootstrap-file", bf, "--http-port",
                                            str(STATE["broker_http"])])
    wait_for(lambda: os.path.exists(bf) and open(bf).read().strip(), 30, "dev broker")
    env.bootstrap = open(bf).read().strip()


def create_db(env, name):
    dsn = STATE["dsn"]
    subprocess.run(["psql", dsn, "-q", "-c", f"CREATE DATABASE {name}"], check=True,
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return dsn.replace("dbname=postgres", f"dbname={name}")


def psql(dsn, sql):
    r = subprocess.run(["psql", dsn, "-At", "-F", "\t", "-c", sql], check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return [ln.split("\t") for ln in r.stdout.decode().splitlines() if ln]


def frames(path):
    data = open(path, "rb").read()
    out = []
    for chunk in data.split(b"\x1c\x0d"):
        if chunk.strip(b"\r\n"):
            out.append(chunk + b"\x1c\x0d")
    return out


def end(env, topics):
    o = env.offsets(topics)
    return sum(o[t]["end"] for t in topics)


def chain_settle(env, want_typed_plus_dlq, timeout=120):
    def done():
        t = end(env, TYPED)
        d = sum(1 for r in env.consume("hl7.dlq", idle_ms=300) if header(r, "dlq.stage") in
                ("parser", "enricher", "router"))
        return t if t + d >= want_typed_plus_dlq else None
    return wait_for(done, timeout, "the chain to route every message", interval=1)


def linker(env, name, run, extra=None):
    e = {"HL7FLOW_GROUP_ID": f"lk-{run}", "HL7FLOW_BATCH_MAX": "200",
         "HL7FLOW_MRN_HASH_KEY": KEY, "HL7FLOW_INSTANCE_ID": name,
         "LINKER_STATE_DIR": os.path.join(env.dir, "state", name),
         "LINKER_CHANGELOG_TOPIC": f"{CHANGELOG}-{run}",
         "LINKER_DATABASE": STATE["db"][run], "LINKER_CHECKPOINT_MS": "500",
         "LINKER_MERGE_POLL_MS": "200"}
    e.update(extra or {})
    return env.start(name, [LINKER], e)


def events(p, name):
    return [e for e in p.log_events() if e.get("event") == name]


def linked_since(env, start):
    """{control_id: [record dict]} of hl7.linked records after offsets @start."""
    out = {}
    for r in env.consume("hl7.linked", idle_ms=1000):
        if r["offset"] < start.get(r["partition"], 0):
            continue
        rec = decode(r["value"])
        rec["_key"], rec["_partition"] = r["key"], r["partition"]
        out.setdefault(rec["header"]["control_id"], []).append(rec)
    return out


def linked_ends(env):
    """{partition: end offset} of hl7.linked now."""
    ends = {}
    for r in env.consume("hl7.linked", idle_ms=500):
        ends[r["partition"]] = max(ends.get(r["partition"], 0), r["offset"] + 1)
    return ends


def wait_linked(env, start, want, timeout=180):
    def done():
        got = linked_since(env, start)
        return got if len(got) >= want else None
    return wait_for(done, timeout, f"{want} linked control ids", interval=2)


def typed_records(env):
    """{control_id: [(topic, record)]} of every record the typed topics hold
    (read again until the count matches their offsets: on a loaded machine
    a read can end on its idle timeout before a topic's first record)."""
    def attempt():
        o = env.offsets(TYPED)
        want = sum(o[t]["end"] - o[t]["start"] for t in TYPED)
        out, n = {}, 0
        for t in TYPED:
            for r in env.consume(t, idle_ms=1000):
                # Typed records have hl7.linked's layout (canonical + stage fields).
                cid = decode(r["value"])["header"]["control_id"]
                out.setdefault(cid, []).append((t, r))
                n += 1
        return out if n >= want else None
    return wait_for(attempt, 120, "every typed record read", interval=1)


def comparable(rec, merged):
    """The part of a linked record that a correct linker makes the same in
    every run. Kafka orders a patient's records within one topic only, and
    the router puts each message type on its own topic, so how an ORU
    interleaves with the ADT and ORM records before it depends on fetch
    timing: correlation across topics is compared only for ADT (whose
    encounter story is all on hl7.parsed.adt) and for ORM's own order
    number. Identities touched by a merge depend on when another
    partition's A40 was seen and are compared by key only."""
    lk = rec["linkage"] or {}
    code = rec["header"]["message_code"]
    identity = None if rec["_key"] in merged else (rec["empi_id"], lk.get("link_status"))
    out = [identity, rec["_key"], rec["_partition"]]
    if code == "ADT":
        anomalies = sorted(a for a in lk.get("anomalies", []) if a != "event_after_merge")
        out += [lk.get("encounter_visit_number"), lk.get("encounter_state"), tuple(anomalies)]
    if code == "ORM":
        out += [lk.get("order_placer_number")]
    return tuple(out)


# ---------------------------------------------------------------- tests


def test_setup_chain_and_first_half(env):
    start_broker(env)
    STATE["dsn"] = env.start_postgres()
    STATE["db"] = {r: create_db(env, f"empi_{r}") for r in RUNS}
    path = os.path.join(env.dir, "traffic.mllp")
    env.run([HL7FLOW, "gen", "--seed", "7", "--count", "1600", "--facilities", "6",
             "--patients", "120", "--out", path])
    fr = frames(path)
    half = len(fr) // 2
    for name, part in (("h1", fr[:half]), ("h2", fr[half:])):
        with open(os.path.join(env.dir, f"{name}.mllp"), "wb") as f:
            f.write(b"".join(part))
    STATE["halves"] = (half, len(fr) - half)
    stage = {"HL7FLOW_MRN_HASH_KEY": KEY, "HL7FLOW_BATCH_MAX": "300"}
    for n in ("parser", "enricher", "router"):
        env.start(n, [os.path.join(BIN, f"hl7flow-{n}")], dict(stage, HL7FLOW_GROUP_ID=f"t-{n}"))
    env.produce("hl7.raw.ingest", os.path.join(env.dir, "h1.mllp"))
    STATE["typed1"] = chain_settle(env, half)
    check(STATE["typed1"] > half * 0.9, f"most of the first half routed ({STATE['typed1']})")


def test_two_replicas_then_kill_one(env):
    a = linker(env, "kill-a", "kill")
    b = linker(env, "kill-b", "kill")
    STATE["kill_a"] = a
    start = {}
    wait_for(lambda: events(a, "partitions_assigned") and events(b, "partitions_assigned"), 60,
             "both replicas assigned")
    got = wait_linked(env, start, len(typed_records(env)))
    # Both replicas held partitions when the first half was processed.
    wait_for(lambda: all(events(x, "state_restored") for x in (a, b)), 30, "restores logged")
    b_parts = {e["partition"] for e in events(b, "state_restored")}
    a_parts_before = {e["partition"] for e in events(a, "state_restored")}
    check(b_parts, "replica b owned partitions")
    check_eq(b.kill(), -signal.SIGKILL, "b killed")
    n_restored_before = len(events(a, "state_restored"))
    env.produce("hl7.raw.ingest", os.path.join(env.dir, "h2.mllp"))
    total = sum(STATE["halves"])
    chain_settle(env, total)
    typed = typed_records(env)
    STATE["typed"] = typed
    got = wait_linked(env, start, len(typed), timeout=240)
    # The survivor restored b's partitions from the changelog with state in them.
    later = events(a, "state_restored")[n_restored_before:]
    took = {e["partition"] for e in later} & b_parts
    check(took, f"survivor restored b's partitions (b had {sorted(b_parts)}, a had "
                f"{sorted(a_parts_before)}, a restored {[e['partition'] for e in later]})")
    applied = sum(e["applied"] for e in later if e["partition"] in b_parts)
    check(applied > 0, "the survivor applied changelog records of b's partitions")
    check_eq(events(a, "restore_failed"), [], "no failed restore")
    STATE["kill_out"] = got
    print(f"# kill run: {len(got)} control ids, survivor restored {applied} states "
          f"of partitions {sorted(took)}")


def test_restart_with_intact_disk_uses_the_checkpoint(env):
    a = STATE["kill_a"]
    check_eq(a.term(), 0, "survivor drains on SIGTERM")
    for how in ("term", "kill"):
        r = linker(env, f"kill-a-{how}", "kill",
                   {"LINKER_STATE_DIR": os.path.join(env.dir, "state", "kill-a")})
        wait_for(lambda: len({e["partition"] for e in events(r, "state_restored")}) == 12, 60,
                 f"restart ({how}) restores 12 partitions")
        time.sleep(1.5)  # a checkpoint interval or two
        restored = events(r, "state_restored")
        ch = env.offsets([f"{CHANGELOG}-kill"])[f"{CHANGELOG}-kill"]
        check(all(e["from_checkpoint"] for e in restored if e["to"] > 0),
              f"every non-empty partition restored from its checkpoint ({how}): {restored}")
        read = sum(e["records"] for e in restored)
        check(read < ch["end"] / 4, f"restart read {read} of {ch['end']} changelog records")
        if how == "term":
            check_eq(read, 0, "after a clean stop nothing is replayed")
            check_eq(r.term(), 0, "restarted replica drains")
        else:
            check_eq(r.kill(), -signal.SIGKILL, "restarted replica killed")
    print(f"# restart: changelog {ch['end']} records, replayed {read} after SIGKILL")


def test_baseline_equals_kill_run(env):
    typed = STATE["typed"]
    start = linked_ends(env)
    c = linker(env, "base", "base")
    got = wait_linked(env, start, len(typed), timeout=180)
    check_eq(c.term(), 0, "baseline drains")
    kill_out = STATE["kill_out"]
    merged = set()
    for db in (STATE["db"]["base"], STATE["db"]["kill"]):
        for prior, surv in psql(db, "SELECT prior_mrn_hash, survivor_mrn_hash FROM empi_merge"):
            merged.update((prior, surv))
    # Every typed record was linked once in the baseline, keyed and placed as its input.
    check_eq(sorted(got), sorted(typed), "baseline: the same control ids as the typed topics")
    empi_of = {}
    for cid, recs in got.items():
        check_eq(len(recs), 1, f"{cid} linked once")
        rec = recs[0]
        (topic, tr), = typed[cid][:1]
        check_eq(rec["_key"], tr["key"], f"{cid} key")
        check_eq(rec["_partition"], tr["partition"], f"{cid} partition")
        check(rec["empi_id"] and rec["empi_id"].startswith("E"), f"{cid} has an empi id")
        check(rec["linkage"]["linked_ts"] is not None, f"{cid} linked_ts")
        check(rec["linkage"]["link_status"] in ("new", "auto", "review", "merged"),
              f"{cid} link_status")
        if rec["_key"] not in merged:
            empi_of.setdefault(rec["_key"], set()).add(rec["empi_id"])
    check(all(len(v) == 1 for v in empi_of.values()), "one empi id per MRN hash")
    # Correlation: an A01/A04 record's encounter is open, an A03's discharged.
    for recs in got.values():
        rec = recs[0]
        h = rec["header"]
        if h["message_code"] == "ADT" and h["trigger_event"] in ("A01", "A04"):
            check(rec["linkage"]["encounter_state"] in ("admitted", "registered"),
                  f"{h['control_id']} {h['trigger_event']} opens its encounter")
        if h["message_code"] == "ADT" and h["trigger_event"] == "A03":
            check_eq(rec["linkage"]["encounter_state"], "discharged", "A03 closes")
    # The kill run's output equals the baseline's.
    diffs = []
    for cid, recs in got.items():
        want = comparable(recs[0], merged)
        for k in kill_out.get(cid, []):
            if comparable(k, merged) != want:
                diffs.append((cid, comparable(k, merged), want))
    check_eq(sorted(kill_out), sorted(got), "kill run: the same control ids")
    check_eq(diffs[:5], [], f"kill run output equals the baseline ({len(diffs)} differ)")
    STATE["base_out"], STATE["merged"] = got, merged
    # A changelog record per linked record in the baseline.
    cl = env.offsets([f"{CHANGELOG}-base"])[f"{CHANGELOG}-base"]["end"]
    check_eq(cl, len(got), "one changelog record per linked record")
    anomalies = sum(1 for r in got.values() if r[0]["linkage"]["anomalies"])
    print(f"# baseline: {len(got)} linked, {len(empi_of)} patients, "
          f"{len(psql(STATE['db']['base'], 'SELECT 1 FROM empi_golden'))} golden records, "
          f"{anomalies} with anomalies, {len(merged) // 2} merges")


def adt_a04(cid, facility, mrn, family, given, dob, sex, addr="", phone=""):
    segs = [
        f"MSH|^~\\&|REGSYS|{facility}|HL7FLOW|HUB|20240301120000-0500||ADT^A04^ADT_A01|{cid}|P|2.5.1",
        f"EVN|A04|20240301120000-0500",
        f"PID|1||{mrn}^^^{facility}^MR||{family}^{given}||{dob}|{sex}|||{addr}||{phone}",
        f"PV1|1|O|CLINIC^^^{facility}||||||||||||||||{mrn}V^^^{facility}^VN",
    ]
    return b"\x0b" + "\r".join(segs).encode() + b"\r\x1c\x0d"


def produce_msgs(env, name, msgs):
    path = os.path.join(env.dir, f"{name}.mllp")
    with open(path, "wb") as f:
        f.write(b"".join(msgs))
    env.produce("hl7.raw.ingest", path)


def wait_ids(env, start, ids, timeout=120):
    def done():
        got_ = linked_since(env, start)
        return got_ if all(i in got_ for i in ids) else None
    return wait_for(done, timeout, f"{len(ids)} records linked", interval=2)


def test_probabilistic_enterprise_ids(env):
    m = linker(env, "match-a", "match")
    try:
        check_matching(env, m)
    finally:
        if m.alive():  # a failed check must not leave it linking the next test's records
            m.kill()


def check_matching(env, m):
    wait_for(lambda: events(m, "partitions_assigned"), 60, "match replica assigned")
    wait_for(lambda: len({e["partition"] for e in events(m, "state_restored")}) == 12, 60,
             "match replica restored its partitions")
    start = linked_ends(env)
    addr = "42 Elm Street^^Springfield^IL^62704"
    msgs = [
        # Same person, two facilities, two MRNs, a typo in the family name.
        adt_a04("EMPI-SAME-1", "HOSP_A", "SM1001", "Johnson", "Margaret", "19620314", "F", addr,
                "(217)555-0142"),
        adt_a04("EMPI-SAME-2", "HOSP_C", "ZX77", "Jonhson", "Margaret", "19620314", "F", addr,
                "217-555-0142"),
        # Same name, another birth date, another address and phone: another person.
        adt_a04("EMPI-OTHER", "HOSP_B", "OT5005", "Johnson", "Margaret", "19881102", "F",
                "1187 Oak Avenue^^Springfield^IL^62629", "2175550987"),
        # Borderline: same name and sex, another birth date in the same year,
        # nothing else to tell them apart.
        adt_a04("EMPI-BORDER-1", "HOSP_A", "BD1", "Okafor", "Chidi", "19700101", "M"),
        adt_a04("EMPI-BORDER-2", "HOSP_D", "BD2", "Okafor", "Chidi", "19700923", "M"),
    ]
    # One at a time, so "first" and "second" of each pair are well defined.
    got = {}
    for i, msg in enumerate(msgs):
        cid = msg.split(b"|")[9].decode()
        produce_msgs(env, f"match-{i}", [msg])
        got.update(wait_ids(env, start, [cid]))
    lk = {m.split(b"|")[9].decode(): None for m in msgs}
    lk = {cid: got[cid][0] for cid in lk}
    same1, same2 = lk["EMPI-SAME-1"], lk["EMPI-SAME-2"]
    check_eq(same1["linkage"]["link_status"], "new", "first registration founds an identity")
    check_eq(same2["linkage"]["link_status"], "auto", "the typo variant is linked automatically")
    check_eq(same2["empi_id"], same1["empi_id"], "same person, two MRNs, one empi_id")
    check(same1["_key"] != same2["_key"], "two MRN hashes")
    check(same2["linkage"]["match_score"] >= 0.99,
          f"auto link at or above the link threshold ({same2['linkage']['match_score']})")
    other = lk["EMPI-OTHER"]
    check(other["empi_id"] != same1["empi_id"], "same name, another birth date: another empi_id")
    check_eq(other["linkage"]["link_status"], "new", "a clearly different person is new")
    b1, b2 = lk["EMPI-BORDER-1"], lk["EMPI-BORDER-2"]
    check_eq(b2["linkage"]["link_status"], "review", "the borderline pair goes to review")
    check(b2["empi_id"] != b1["empi_id"], "a review case gets its own identity meanwhile")
    check(0.5 <= b2["linkage"]["match_score"] < 0.99,
          f"review score between the thresholds ({b2['linkage']['match_score']})")
    db = STATE["db"]["match"]
    review = psql(db, "SELECT mrn_hash, empi_id, candidate_mrn_hash, candidate_empi_id, status "
                      f"FROM empi_review WHERE mrn_hash IN ('{b1['_key']}', '{b2['_key']}', "
                      f"'{same1['_key']}', '{same2['_key']}', '{other['_key']}')")
    check_eq(review, [[b2["_key"], b2["empi_id"], b1["_key"], b1["empi_id"], "open"]],
             "one review row: the borderline record and its candidate")
    links = {r[0]: r[1:] for r in psql(db, "SELECT mrn_hash, empi_id, link_status FROM empi_link")}
    check_eq(links[same2["_key"]], [same1["empi_id"], "auto"], "database link of the variant")
    check_eq(len({r["empi_id"] for r in lk.values()}), 4,
             "four identities: Margaret, the other Margaret, both Chidis")
    # The shared index holds keyed hashes only; comparison data is sealed.
    blocks = psql(db, "SELECT key_hash FROM empi_block")
    check(len(blocks) >= 5 * 4, f"blocking keys indexed ({len(blocks)})")
    check(all(len(h) == 32 and set(h) <= set("0123456789abcdef") for (h,) in blocks),
          "block keys are 128-bit hex hashes")
    dump = " ".join(v for row in psql(db, "SELECT key_hash, encode(match_rec, 'escape') "
                                          "FROM empi_block JOIN empi_link USING (mrn_hash)")
                    for v in row)
    for clear in ("JOHNSON", "MARGARET", "OKAFOR", "19620314", "62704", "SPRINGFIELD", "J525"):
        check(clear not in dump.upper(), f"{clear} is not in clear in the index or the sealed data")
    check_eq(m.term(), 0, "match replica drains")
    print(f"# matching: auto {same2['linkage']['match_score']:.6f}, review "
          f"{b2['linkage']['match_score']:.3f}, {len(blocks)} block rows")


RACE_FAMILIES = ["Abernathy", "Blackwood", "Castellano", "Dubrovsky", "Eriksen", "Fitzgerald",
                 "Gallagher", "Hoffmann", "Ivanova", "Jablonski", "Kowalczyk", "Lindqvist",
                 "Moreau", "Nakamura", "Oyelaran", "Petrakis", "Quintero", "Rasmussen",
                 "Sokolova", "Takahashi", "Underwood", "Valdivia", "Wojcik", "Xiong",
                 "Yamamoto", "Zielinski", "Achterberg", "Bertolini", "Czerny", "Delacroix"]
RACE_GIVENS = ["Amelia", "Bruno", "Clara", "Dmitri", "Elena", "Farid", "Greta", "Hugo",
               "Ingrid", "Jonas"]


def typo(name):
    """Two different neighbouring letters swapped near the middle of @name."""
    i = len(name) // 2
    while name[i - 1] == name[i]:
        i += 1
    return name[:i - 1] + name[i] + name[i - 1] + name[i + 1:]


def test_two_replicas_same_new_person_one_golden_record(env):
    a = linker(env, "race-a", "race")
    b = linker(env, "race-b", "race")
    try:
        check_race(env, a, b)
    finally:
        for r in (a, b):
            if r.alive():
                r.kill()


def check_race(env, a, b):
    wait_for(lambda: events(a, "partitions_assigned") and events(b, "partitions_assigned"), 60,
             "both race replicas assigned")

    def split():
        pa = {e["partition"] for e in events(a, "state_restored")}
        pb = {e["partition"] for e in events(b, "state_restored")}
        return (pa, pb) if pa and pb and not (pa & pb) and len(pa | pb) == 12 else None
    wait_for(split, 60, "the partitions split between the two replicas")
    start = linked_ends(env)
    persons = len(RACE_FAMILIES)
    msgs = []
    for i, fam in enumerate(RACE_FAMILIES):
        giv, sex = RACE_GIVENS[i % len(RACE_GIVENS)], "MF"[i % 2]
        dob = f"{1940 + i}{1 + i % 12:02d}{1 + (7 * i) % 28:02d}"
        addr = f"{10 + i} Race Street^^Town{chr(65 + i % 26)}^ST^{10000 + 37 * i}"
        phone = f"555{1000000 + 7919 * i}"
        msgs.append(adt_a04(f"RACE-{i}-A", "HOSP_A", f"RA{i:05d}", fam, giv, dob, sex, addr, phone))
        msgs.append(adt_a04(f"RACE-{i}-B", "HOSP_B", f"RB{i:05d}", typo(fam), giv, dob, sex, addr,
                            phone))
    produce_msgs(env, "race", msgs)
    ids = [f"RACE-{i}-{s}" for i in range(persons) for s in "AB"]
    got = wait_ids(env, start, ids)
    db = STATE["db"]["race"]
    both = cross = 0
    empis = set()
    for i in range(persons):
        ra, rb = got[f"RACE-{i}-A"][0], got[f"RACE-{i}-B"][0]
        if ra["empi_id"] != rb["empi_id"]:
            print(f"# person {i}: " + "; ".join(
                f"{r['_key'][:12]} p{r['_partition']} {r['empi_id']} {r['linkage']['link_status']} "
                f"{r['linkage']['match_score']}" for r in (ra, rb)))
        check_eq(ra["empi_id"], rb["empi_id"], f"person {i}: both MRNs carry one empi id")
        check(ra["_key"] != rb["_key"], "different MRN hashes")
        both += {ra["linkage"]["link_status"], rb["linkage"]["link_status"]} == {"new", "auto"}
        cross += ra["_partition"] != rb["_partition"]
        empis.add(ra["empi_id"])
    check_eq(len(empis), persons, "one enterprise id per person")
    inlist = ",".join(f"'{e}'" for e in sorted(empis))
    golden = psql(db, "SELECT g.empi_id, count(l.mrn_hash) FROM empi_golden g LEFT JOIN "
                      f"empi_link l USING (empi_id) WHERE g.empi_id IN ({inlist}) GROUP BY g.empi_id")
    check_eq(len(golden), persons, "one golden record per person")
    check(all(int(n) == 2 for _, n in golden), "every golden record has both MRNs linked")
    keys = ",".join(f"'{got[i][0]['_key']}'" for i in ids)
    check_eq(psql(db, f"SELECT count(*) FROM empi_review WHERE mrn_hash IN ({keys})"), [["0"]],
             "no race record queued for review")
    check_eq(both, persons, "one MRN founded each golden record (new), the other joined (auto)")
    check(cross > 0, "some pairs were processed by different partitions")
    print(f"# race: {persons} persons with typo variants, {cross} pairs on different "
          f"partitions, one golden each")


def test_refused_offset_commits_do_not_apply_events_twice(env):
    """The dev broker stores a transaction's offsets only through the
    stage's mirror commit. When it refuses that commit (here 6 OffsetCommit
    requests answered REBALANCE_IN_PROGRESS, as during a rebalance), the
    batch is redone with its state changes dropped; after a restart with the
    disk intact nothing is applied twice: every output copy (the dev broker
    shows the first, committed copies too) equals the baseline."""
    base, merged = STATE["base_out"], STATE["merged"]
    start = linked_ends(env)
    r = env.run(["curl", "-sf", "-X", "POST",
                 f"http://127.0.0.1:{STATE['broker_http']}/errors/8/27/6"])
    check('"count":6' in r.stdout.decode(), f"errors pushed: {r.stdout!r}")
    a = linker(env, "redo-a", "redo")
    try:
        wait_linked(env, start, len(base), timeout=180)
        redone = events(a, "batch_redo")
        check_eq(a.term(), 0, "redo linker drains")
        b = linker(env, "redo-b", "redo",
                   {"LINKER_STATE_DIR": os.path.join(env.dir, "state", "redo-a")})
        wait_for(lambda: len({e["partition"] for e in events(b, "state_restored")}) == 12, 60,
                 "restart restores 12 partitions")
        time.sleep(3)  # anything read again from stale offsets would be linked by now
        check_eq(b.term(), 0, "restarted linker drains")
    finally:
        for p in (a,):
            if p.alive():
                p.kill()
    got = linked_since(env, start)
    check_eq(sorted(got), sorted(base), "redo run: the same control ids")
    diffs = [(cid, comparable(k, merged), comparable(base[cid][0], merged))
             for cid, recs in got.items() for k in recs
             if comparable(k, merged) != comparable(base[cid][0], merged)]
    check_eq(diffs[:5], [], f"redo run output equals the baseline ({len(diffs)} differ)")
    check(redone, "the refused offset commits made the linker redo batches")
    print(f"# redo: {len(redone)} batches redone after refused offset commits, "
          f"{sum(len(v) for v in got.values()) - len(got)} duplicate copies, all equal")


ORDER_GIVEN = ["Alma", "Bruno", "Celia", "Dmitri", "Edna", "Farid", "Greta", "Hugo", "Ines",
               "Jonas", "Kira", "Lars", "Mona", "Nils", "Olga", "Pavel", "Rosa", "Sven", "Tara",
               "Ugo", "Vera", "Walt", "Xenia", "Yuri"]
ORDER_FAMILY = ["Abbott", "Brandt", "Castillo", "Dorsey", "Eklund", "Fischer", "Gallo", "Hart"]
ORDER_PATIENTS = 24


def order_story(k):
    """A01, ORM (new order OXORD<k>) and ORU (its final result) of patient k."""
    fac = f"HOSP_{'ABCDEF'[k % 6]}"

    def msh(code, cid):
        return f"MSH|^~\\&|ORDSYS|{fac}|HL7FLOW|HUB|20240401080000||{code}|{cid}|P|2.5.1"
    pid = (f"PID|1||OX{k:05d}^^^{fac}^MR||{ORDER_FAMILY[k % 8]}^{ORDER_GIVEN[k]}||"
           f"19{50 + k:02d}0{1 + k % 9}1{k % 10}|{'FM'[k % 2]}")
    pv1 = f"PV1|1|I|WARD^^^{fac}||||||||||||||||OXV{k}^^^{fac}^VN"
    a01 = [msh("ADT^A01^ADT_A01", f"OX-A-{k}"), "EVN|A01|20240401080000", pid, pv1]
    orm = [msh("ORM^O01^ORM_O01", f"OX-O-{k}"), pid, pv1, f"ORC|NW|OXORD{k}^ORDSYS",
           f"OBR|1|OXORD{k}^ORDSYS||51990-0^Basic metabolic panel - Blood^LN"]
    oru = [msh("ORU^R01^ORU_R01", f"OX-R-{k}"), pid, pv1, f"ORC|RE|OXORD{k}^ORDSYS|OXLAB{k}^LAB||CM",
           f"OBR|1|OXORD{k}^ORDSYS|OXLAB{k}^LAB|51990-0^Basic metabolic panel - Blood^LN|||"
           "20240401090000|||||||||||||||20240401100000||CH|F",
           "OBX|1|NM|2345-7^Glucose [Mass/volume] in Serum or Plasma^LN||95|mg/dL^mg/dL^UCUM|"
           "70-99|N|||F"]
    return [b"\x0b" + "\r".join(m).encode() + b"\r\x1c\x0d" for m in (a01, orm, oru)]


def typed_ends(env, topic):
    """{partition: end offset} of a typed topic now."""
    ends = {}
    for r in env.consume(topic, idle_ms=500):
        ends[r["partition"]] = max(ends.get(r["partition"], 0), r["offset"] + 1)
    return ends


def commit_group(env, group, topic, ends):
    """Commits @ends ({partition: offset}) for @group on @topic before it starts."""
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({"bootstrap.servers": env.bootstrap, "group.id": group,
                  "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, p, o) for p, o in ends.items()],
                 asynchronous=False)
    finally:
        c.close()


def order_outcome(got):
    """(results carrying their order, orders carrying their visit) of the story."""
    with_order = sum(1 for k in range(ORDER_PATIENTS)
                     if got[f"OX-R-{k}"][0]["linkage"]["order_placer_number"] == f"OXORD{k}"
                     and "result_without_order" not in got[f"OX-R-{k}"][0]["linkage"]["anomalies"])
    with_visit = sum(1 for k in range(ORDER_PATIENTS)
                     if got[f"OX-O-{k}"][0]["linkage"]["encounter_visit_number"] == f"OXV{k}")
    return with_order, with_visit


def test_results_follow_their_orders_across_topics(env):
    # Everything on hl7.parsed.oru so far is skipped by the new groups, so the
    # story's results come first in their partitions.
    skip_oru = typed_ends(env, "hl7.parsed.oru")
    stories = [order_story(k) for k in range(ORDER_PATIENTS)]
    before = end(env, TYPED)
    produce_msgs(env, "order", [s[i] for i in range(3) for s in stories])
    ids = [f"OX-{t}-{k}" for t in "AOR" for k in range(ORDER_PATIENTS)]
    wait_for(lambda: end(env, TYPED) >= before + len(ids), 120, "the story routed", interval=1)
    small_fetch = {"KAFKA_CONSUMER_MAX_PARTITION_FETCH_BYTES": "4096"}  # few records per fetch
    outcome = {}
    for run, extra in (("order", {}), ("arrival", {"HL7FLOW_INPUT_ORDER": "arrival"})):
        commit_group(env, f"lk-{run}", "hl7.parsed.oru", skip_oru)
        start = linked_ends(env)
        r = linker(env, f"{run}-a", run, dict(small_fetch, **extra))
        try:
            got = wait_ids(env, start, ids, timeout=180)
            outcome[run] = order_outcome(got)
            if run == "order":
                check_eq(outcome[run], (ORDER_PATIENTS, ORDER_PATIENTS),
                         "ingest-time order: every result has its order, every order its visit")
                held = [e for e in r.log_events() if e.get("event") == "input_order_hold_failed"]
                check_eq(held, [], "no record failed to be held")
            check_eq(r.term(), 0, f"{run} linker drains")
        finally:
            if r.alive():
                r.kill()
    check(outcome["arrival"] != (ORDER_PATIENTS, ORDER_PATIENTS),
          f"the control (arrival order) loses correlation: {outcome['arrival']}")
    print(f"# order: ingest-time {outcome['order']}, arrival {outcome['arrival']} "
          f"(results with their order, orders with their visit, of {ORDER_PATIENTS})")


if __name__ == "__main__":
    run_suite("mpi_linker", [
        test_setup_chain_and_first_half,
        test_two_replicas_then_kill_one,
        test_restart_with_intact_disk_uses_the_checkpoint,
        test_baseline_equals_kill_run,
        test_refused_offset_commits_do_not_apply_events_twice,
        test_probabilistic_enterprise_ids,
        test_two_replicas_same_new_person_one_golden_record,
        test_results_follow_their_orders_across_topics,
    ], needs_broker=False)
