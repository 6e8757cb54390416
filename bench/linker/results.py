"""bench/linker/results.py - writes the "mpi-linker" section of
bench/RESULTS.md from the output of bench/linker/linker_bench (its last
line, `RESULT {json}`), with stage_bench.write_results like the other
benchmarks (only this section is rewritten).

Usage: results.py OUTPUT_FILE [RUNS...]: each file is one linker_bench run;
the section reports the median of the runs.
"""
import datetime
import json
import os
import statistics
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import stage_bench as sb  # noqa: E402

HEADING = "## mpi-linker"


def read(path):
    for line in open(path):
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT "):])
    raise SystemExit(f"{path}: no RESULT line (did linker_bench fail?)")


def main():
    runs = [read(p) for p in sys.argv[1:]]
    if not runs:
        raise SystemExit("usage: results.py OUTPUT_FILE...")
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
the id in the state).
"""
    sb.write_results({HEADING: body})
    print(f"mpi-linker: {med['events_per_s']:,.0f} events/s with {med['patients']:,.0f} patients "
          f"in state (peer RocksDB {med['peer_ops_per_s']:,.0f} ops/s, ratio {ratio:.2f}); "
          f"restore of one partition {med['restore_s']:.2f} s; wrote "
          f"{os.path.relpath(sb.RESULTS, sb.REPO)}")


if __name__ == "__main__":
    main()
