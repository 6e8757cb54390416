"""`hl7flow dlq` on the dev broker: list (filters by stage, class, time,
JSON), show (headers, decoded record, raw HL7 as text), summary by class
and stage, replay (to the source topic, dlq.* headers dropped,
dlq.replay_count incremented; a second trip through the DLQ and a second
replay show count 2), dry run, and refusing an unfiltered replay.

The DLQ records are made by the parser (malformed generated messages,
class parse/profile) and written directly for the Avro case."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, check, check_eq, header, run_suite, wait_for  # noqa: E402

HL7FLOW = os.path.join(BIN, "hl7flow")


def dlq(env, *args, check_rc=True):
    r = env.run([HL7FLOW, "dlq", *args], check_rc=check_rc)
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


def test_list_show_summary_replay(env):
    path = env.gen(400, seed=5, malformed=10)
    env.start("parser", [os.path.join(BIN, "hl7flow-parser")], {"HL7FLOW_GROUP_ID": "t-parser"})
    sent = env.produce("hl7.raw.ingest", path)["sent"]

    def settled():
        o = env.offsets(["hl7.validated", "hl7.dlq"])
        return o if o["hl7.validated"]["end"] + o["hl7.dlq"]["end"] >= sent else None
    wait_for(settled, 120, "the parser")
    n = len(env.consume("hl7.dlq", idle_ms=1000))
    check(n > 10, f"malformed messages dead-lettered: {n}")

    rc, out, _ = dlq(env, "list")
    lines = out.splitlines()
    check_eq(len(lines), n, "list lines")
    first = lines[0].split("\t")
    check(":" in first[0] and first[2] == "parser", f"list line: {lines[0]}")

    rc, out, _ = dlq(env, "list", "--json", "--class", "parse")
    js = [json.loads(x) for x in out.splitlines()]
    check(all(j["headers"]["dlq.error_class"] == "parse" for j in js) and js, "class filter")
    rc, out, _ = dlq(env, "list", "--stage", "nobody")
    check_eq(out, "", "stage filter")
    rc, out, _ = dlq(env, "list", "--until", "2000-01-01T00:00:00Z")
    check_eq(out, "", "time filter")
    rc, out, _ = dlq(env, "list", "--since", "2000-01-01T00:00:00Z", "--limit", "3")
    check_eq(len(out.splitlines()), 3, "since + limit")

    rc, out, _ = dlq(env, "summary")
    check(f"total{' ' * 1}" in out and out.strip().splitlines()[-1].split()[-1] == str(n),
          f"summary total: {out}")
    check("parser" in out, "summary names the stage")

    rid = js[0]["id"]
    rc, out, _ = dlq(env, "show", rid)
    check("header dlq.error_class: parse" in out, "show headers")
    check("-- raw HL7" in out, f"raw HL7 shown: {out[:400]}")
    # A well-formed-enough message shows its segments on separate lines.
    shown = [json.loads(x)["id"] for x in dlq(env, "list", "--json")[1].splitlines()]
    outs = [dlq(env, "show", i)[1] for i in shown[:20]]
    check(any("\nMSH|" in o and o.count("\n") > o.count("header ") + 4 for o in outs),
          "segments shown as lines")
    rc, out, err = dlq(env, "show", "0:999999", check_rc=False)
    check_eq(rc, 1, "show of a missing id fails")

    rc, out, err = dlq(env, "replay", check_rc=False)
    check_eq(rc, 2, "unfiltered replay refused")
    rc, out, _ = dlq(env, "replay", "--id", rid, "--dry-run")
    check("would replay 1" in out, f"dry run: {out}")

    before = env.offsets(["hl7.raw.ingest"])["hl7.raw.ingest"]["end"]
    rc, out, _ = dlq(env, "replay", "--id", rid)
    check("replayed 1 of 1" in out, f"replay: {out}")
    wait_for(lambda: env.offsets(["hl7.raw.ingest"])["hl7.raw.ingest"]["end"] == before + 1, 30,
             "the replayed record on hl7.raw.ingest")
    # The parser fails it again: the DLQ record now carries replay_count 1.
    again = wait_for(lambda: [r for r in env.consume("hl7.dlq", idle_ms=500)
                              if header(r, "dlq.replay_count")], 60, "the second DLQ trip")
    check_eq(len(again), 1, "records with a replay count")
    r = again[0]
    check_eq(header(r, "dlq.replay_count"), "1", "replay count after one replay")
    src = [x for x in env.consume("hl7.raw.ingest", idle_ms=1000) if header(x, "dlq.replay_count")]
    check_eq(len(src), 1, "replayed source record")
    check(not any(k.startswith("dlq.") and k != "dlq.replay_count" for k, _ in src[0]["headers"]),
          "dlq.* headers removed on replay")
    rc, out, _ = dlq(env, "replay", "--id", f"{r['partition']}:{r['offset']}")
    wait_for(lambda: any(header(x, "dlq.replay_count") == "2"
                         for x in env.consume("hl7.raw.ingest", idle_ms=500)), 30, "replay count 2")


if __name__ == "__main__":
    run_suite("dlq_tool", [test_list_show_summary_replay])
