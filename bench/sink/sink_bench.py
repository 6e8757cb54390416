"""PostgreSQL sink throughput against a plain `psql \\copy` of the same rows.

One run, one machine, one throwaway PostgreSQL 15 (scripts/pg.sh: fsync off,
as in the tests):
  1. generated traffic goes through parser -> enricher -> router onto the
     typed topics (not timed);
  2. hl7flow-sink-postgres starts on the full topics and is timed from its
     start until the messages table holds every record: messages/s and
     rows/s (rows over every table, as the sink's rows_total counts them);
  3. the reference ceiling: every table is exported with COPY TO, emptied,
     and loaded back with `psql \\copy` (one COPY per table, one session),
     timed: rows/s of the same rows with no mapping, no conflict handling,
     no Kafka.
Prints a markdown block for bench/RESULTS.md. Usage:
  BIN=bin /usr/bin/python3 bench/sink/sink_bench.py [--count N]
"""
import argparse
import datetime
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
from harness import BIN, Env, wait_for  # noqa: E402

TABLES = ["messages", "patients", "encounters", "orders", "observations", "observation_history",
          "diagnoses", "allergies", "insurance", "financial_transactions", "documents"]
TYPED = [f"hl7.parsed.{t}" for t in ("adt", "orm", "oru", "dft", "mdm")]


def psql(dsn, sql):
    r = subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql], check=True,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    return r.stdout.decode().strip()


def main():
    ap = argparse.ArgumentParser()
    # The dev broker keeps about 5 MiB per partition: beyond ~10000
    # generated messages a lagging stage loses records there.
    ap.add_argument("--count", type=int, default=8000)
    ap.add_argument("--batch", type=int, default=2000)
    a = ap.parse_args()
    env = Env("sinkbench")
    try:
        env.start_devbroker()
        dsn = env.start_postgres()
        key = {"HL7FLOW_MRN_HASH_KEY": "bench-mrn-key-0123456789abcdef", "HL7FLOW_BATCH_MAX": "2000"}
        for n in ("parser", "enricher", "router"):
            env.start(n, [os.path.join(BIN, f"hl7flow-{n}")], dict(key, HL7FLOW_GROUP_ID=f"b-{n}"))
        path = env.gen(a.count, seed=7, extra=("--facilities", "24", "--patients", "20000"))
        sent = env.produce("hl7.raw.ingest", path)["sent"]

        def routed():
            o = env.offsets(TYPED + ["hl7.dlq"])
            t = sum(o[x]["end"] for x in TYPED)
            return t if t + o["hl7.dlq"]["end"] >= sent else None
        total = wait_for(routed, 600, "the chain", interval=1)
        subprocess.run([os.path.join(BIN, "hl7flow-sink-postgres"), "migrate"], check=True,
                       env=env.env({"SINK_PG_DSN": dsn}), stdout=subprocess.DEVNULL)
        sink = env.start("sink", [os.path.join(BIN, "hl7flow-sink-postgres")],
                  {"SINK_PG_DSN": dsn, "HL7FLOW_INPUT_TOPICS": ",".join(TYPED),
                   "HL7FLOW_BATCH_MAX": str(a.batch), "HL7FLOW_GROUP_ID": "b-sink"})
        wait_for(lambda: int(psql(dsn, "SELECT count(*) FROM messages")) >= total, 900, "the sink",
                 interval=0.05)
        t_end = time.time()
        # Timed from the partition assignment (the group join is a fixed
        # start-up cost, not throughput) to the last row.
        assigned = [e["ts"] for e in sink.log_events() if e.get("event") == "partitions_assigned"]
        t0 = datetime.datetime.strptime(assigned[0], "%Y-%m-%dT%H:%M:%S.%fZ").replace(
            tzinfo=datetime.timezone.utc).timestamp()
        sink_s = t_end - t0
        counts = {t: int(psql(dsn, f"SELECT count(*) FROM {t}")) for t in TABLES}
        rows = sum(counts.values())

        # Reference: the same rows through psql \copy.
        files = {t: os.path.join(env.dir, f"{t}.copy") for t in TABLES}
        for t in TABLES:
            psql(dsn, f"\\copy {t} TO '{files[t]}'")
        psql(dsn, "ALTER TABLE observations DISABLE TRIGGER observations_history")
        psql(dsn, "TRUNCATE " + ", ".join(TABLES))
        script = "\n".join(f"\\copy {t} FROM '{files[t]}'" for t in TABLES)
        t1 = time.time()
        subprocess.run(["psql", dsn, "-v", "ON_ERROR_STOP=1", "-q"], input=script.encode(), check=True,
                       stdout=subprocess.DEVNULL, timeout=900)
        copy_s = time.time() - t1

        sys.path.insert(0, os.path.join(REPO, "bench"))
        import stage_bench as sb  # results writer, machine note
        body = f"""## PostgreSQL sink

Command: `make bench  # bench/run.sh -> bench/sink/run.sh` (alone: `BIN=bin bash bench/sink/run.sh`)  
Date: {datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")}  
Machine: {sb.machine_note()}

{total} typed records (generated, {sent} sent through parser, enricher and router on the dev broker), {rows} rows in {len(TABLES)} tables, batch {a.batch}, PostgreSQL 15 (throwaway, fsync off). The sink reads the typed topics from the start (timed from its partition assignment to the last offset stored in the database); the peer, in the same run, is `psql \\copy` of the very rows the sink wrote (exported, tables truncated, copied back): the ceiling of a bulk load with no Kafka, no decoding, no upserts and no offsets.

| path | seconds | messages/s | rows/s |
|---|---:|---:|---:|
| hl7flow-sink-postgres (Kafka -> decode -> rows -> upserts, offsets in the txn) | {sink_s:.2f} | {total / sink_s:,.0f} | {rows / sink_s:,.0f} |
| psql \\copy of the resulting rows (reference ceiling) | {copy_s:.2f} | {total / copy_s:,.0f} | {rows / copy_s:,.0f} |

Sink at {copy_s / sink_s:.2f}x the COPY ceiling. Rows per table: {", ".join(f"{t} {n}" for t, n in counts.items())}.
"""
        print(body)
        if os.environ.get("BENCH_NO_RESULTS") != "1":
            sb.write_results({"## PostgreSQL sink": body})
    finally:
        env.close()


if __name__ == "__main__":
    main()
