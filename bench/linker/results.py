"""bench/linker/results.py - writes the "mpi-linker" section of
bench/RESULTS.md from the output of bench/linker/linker_bench (its last
line, `RESULT {json}`), with stage_bench.write_results like the other
benchmarks (only this section is rewritten).

Usage: results.py [--service SERVICE_JSON] OUTPUT_FILE [RUNS...]: each
OUTPUT_FILE is one linker_bench run; the section reports the median of the
runs. SERVICE_JSON (bench/linker/service_bench.py --out) adds the service
table (hl7flow-mpi-linker vs hl7flow-relay on the dev broker); without it
the section keeps the service part it had, if any.
"""
import datetime
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import stage_bench as sb  # noqa: E402

HEADING = "## mpi-linker"
SERVICE_HEADING = "### Service: hl7flow-mpi-linker vs hl7flow-relay"


def read(path):
    for line in open(path):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise SystemExit(f"{path}: no RESULT line (did linker_bench fail?)")


def service_part(v):
    """The service subsection from service_bench.py's JSON @v."""
    runs = lambda xs: ", ".join(f"{x / 1000:.1f}k" for x in xs)  # noqa: E731
    checks = (f"{v['dlq']} records to hl7.dlq, {v['extra']} extra records, "
              f"{v['offset_resets']} offset resets, {v['aborted']:.0f} aborted batches, "
              f"{v['new_patients_in_runs']:.0f} patients not found in state during the runs")
    return f"""{SERVICE_HEADING}

`bench/linker/run.sh` -> `bench/linker/service_bench.py` ({v['date']}; other load during the
runs: {sb.load_note(v['foreign'])}). The real `hl7flow-mpi-linker` process on the dev
broker with **{v['patients']:,} distinct patients in its stores** (12 RocksDB stores, one per
input partition: {v['filler']:,} filler states of ~{v['filler_bytes_per_state']:.0f} B written
before start by `bench/linker/linker_preload.c` at the partition murmur2 gives their key,
checkpoint 0 on an empty changelog, so no restore; plus {v['fed_patients']:,} patients of the
fed traffic, whose states and enterprise ids the linker made itself from the same records
before the timed runs) and a throwaway PostgreSQL 15 (scripts/pg.sh) as LINKER_DATABASE.
Against `hl7flow-relay` (copies the bytes) on the same dev broker in the same run, with the
same client settings and HL7FLOW_BATCH_MAX {v['batch_max']}, {v['guarantee']}; the machinery
of the "<Stage> stage vs relay" sections (bench/stage_bench.py): {v['runs']} alternating pairs,
each run replaying {v['messages']:,} typed records (`hl7.parsed.*` made by parser -> enricher
-> router from `hl7flow gen --seed 1 --malformed 0 --facilities 24`; keys = real MRN hashes,
{v['run_patients']:,} distinct patients, all in state) into one stage's input: for the
linker into the five `hl7.parsed.*` topics by message type as the router routes them
(`benchwatch replay --typed`), for the relay into its one topic; time = the earliest new
`ingest_ts` until the end offsets of `hl7.linked` grew by the count. The linker runs with its
defaults (HL7FLOW_INPUT_ORDER=ingest-time: its five inputs merged by ingest time).
PostgreSQL per record: only merges (A40); no enterprise-id assignment (every fed patient is
known).

| measure | relay | mpi-linker |
|---|---:|---:|
| messages/s (median) | {v['relay_msgs']:,.0f} | {v['linker_msgs']:,.0f} |
| ratio mpi-linker / relay (median of pairs) | | {v['ratio']:.2f} |
| runs (msgs/s) | {runs(v['relay_all'])} | {runs(v['linker_all'])} |
| CPU ms per 1k msgs (the stage process) | {v['relay_cpu_ms_per_1k']:.0f} | {v['linker_cpu_ms_per_1k']:.0f} |
| records per committed batch | {v['relay_batch']:.0f} | {v['linker_batch']:.0f} |

Checks: {checks}.
"""


def old_service_part():
    """The service subsection RESULTS.md holds now, or ""."""
    try:
        text = open(sb.RESULTS).read()
    except OSError:
        return ""
    for h, body in sb.split_sections(text):
        if h == HEADING and SERVICE_HEADING in body:
            return body[body.index(SERVICE_HEADING):].rstrip() + "\n"
    return ""


def main():
    args = sys.argv[1:]
    service = None
    if args[:1] == ["--service"] and len(args) > 1:
        service = json.load(open(args[1]))
        args = args[2:]
    runs = [read(p) for p in args]
    if not runs:
        raise SystemExit("usage: results.py [--service SERVICE_JSON] OUTPUT_FILE...")
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    ratio = statistics.median(r["events_per_s"] / r["peer_ops_per_s"] for r in runs)
    date = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    body = f"""{HEADING}

`bench/linker/run.sh` ({date}; {sb.machine_note()}; median of {len(runs)} run(s)).
The linker's state path with **{med['patients']:,.0f} distinct patients in one
RocksDB store** ({med['bytes_per_state']:.0f} B per state), without Kafka or
PostgreSQL: each event reads the patient's state (pending batch, then
RocksDB), decodes it, applies the event (hl7flow/linkstate.h), encodes it and
puts it into the pending batch, written every 2,000 events as the stage loop's
commit does. Peer, same run, same store and the same random patient sequence:
RocksDB alone (get the stored value, put it back unchanged).

| measure | value |
|---|---|
| linker state path | {med['events_per_s']:,.0f} events/s |
| peer: RocksDB get + put of the same values | {med['peer_ops_per_s']:,.0f} ops/s |
| ratio linker / peer | {ratio:.2f} |
| restore of one partition ({med['restore_states']:,.0f} states, 1/12 of the patients) | {med['restore_s']:.2f} s (apply only; add the changelog fetch of your cluster) |
| initial load of {med['patients']:,.0f} states | {med['load_s']:.1f} s |

Not in these figures: the Kafka transaction per batch (the stage benchmark
measures that against a relay) and enterprise-id assignment, which costs
PostgreSQL round trips only for a patient's first record (later records find
the id in the state); the service figures below have both.
"""
    svc = service_part(service) if service else old_service_part()
    if svc:
        body += "\n" + svc
    sb.write_results({HEADING: body})
    print(f"mpi-linker: {med['events_per_s']:,.0f} events/s with {med['patients']:,.0f} patients "
          f"in state (peer RocksDB {med['peer_ops_per_s']:,.0f} ops/s, ratio {ratio:.2f}); "
          f"restore of one partition {med['restore_s']:.2f} s; wrote "
          f"{os.path.relpath(sb.RESULTS, sb.REPO)}")
    if service:
        print(f"mpi-linker service: {service['linker_msgs']:,.0f} msgs/s vs relay "
              f"{service['relay_msgs']:,.0f} msgs/s (ratio {service['ratio']:.2f}) with "
              f"{service['patients']:,} patients in state")


if __name__ == "__main__":
    main()
