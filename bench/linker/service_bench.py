"""bench/linker/service_bench.py - the mpi-linker SERVICE with 1,000,000
distinct patients in state, against a do-nothing relay in the same run
(issue 7: "`make bench` records the linker's throughput (messages/s) with
one million distinct patients in state").

The machinery is bench/stage_bench.py's "<stage> stage vs relay"
(StageVsRelay, run_svr, summarize_pvr): one fresh dev broker, the stage
and `hl7flow-relay` side by side with the same client settings and
HL7FLOW_BATCH_MAX, BENCH_PVR_RUNS alternating pairs, each run feeding one
of them with `benchwatch replay` and timed by `benchwatch span` (first
ingest_ts until the end offsets of hl7.linked grew by the run's count);
medians of msgs/s and of the per-pair ratio. What this file adds:

  - the linker's input: typed records made once by parser -> enricher ->
    router from `hl7flow gen` traffic (real MRN-hash keys, real partitions)
    and dumped from all five hl7.parsed.* topics;
  - a throwaway PostgreSQL (scripts/pg.sh) for LINKER_DATABASE;
  - the stores: bench/linker/linker_preload writes 1,000,000 minus the fed
    patients' count filler states into LINKER_STATE_DIR/p<N> before the
    linker starts (checkpoint 0, the changelog is empty: no restore); the
    linker then works through the router's output still in its input
    topics (the stage_bench start-up drain), which gives every fed patient
    a real state with an enterprise id from PostgreSQL. So the timed runs
    feed only patients already in state: no enterprise-id assignment; the
    database is touched per record only by merges (A40), as in production,
    and every LINKER_MERGE_POLL_MS by the merge poll.

Each run replays the typed records into the five hl7.parsed.* topics by
their message_type header, as the router routes them (`benchwatch replay
--typed`), so the linker reads all five with HL7FLOW_INPUT_ORDER at its
default ingest-time and its merge does what it does in production; the run
starts at the earliest new record of the five (`benchwatch span --first`
takes the list). The relay (one topic in, one out) gets the same records
on hl7.validated (hl7.linked, the relay input of the other stages, is the
linker's output here).

Usage: service_bench.py --out FILE.json. Knobs (environment): BIN,
BENCHWATCH, LINKER_PRELOAD (the preloader binary), LINKER_SERVICE_PATIENTS
(1000000), LINKER_SERVICE_GUARANTEE (exactly-once), BENCH_PVR_RUNS (5),
BENCH_PVR_BATCH_MAX (2000), BENCH_MESSAGES (13000 HL7 messages made into
typed records). Prints a summary; the JSON is for bench/linker/results.py.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import stage_bench as sb  # noqa: E402

PATIENTS = int(os.environ.get("LINKER_SERVICE_PATIENTS", "1000000"))
GUARANTEE = os.environ.get("LINKER_SERVICE_GUARANTEE", "exactly-once")
PRELOAD = os.environ.get("LINKER_PRELOAD", os.path.join(sb.REPO, "build", "release", "bench",
                                                        "linker_preload"))
MRN_KEY = sb.STAGES["router"]["env"]["HL7FLOW_MRN_HASH_KEY"]  # the router's: A40 hashes match
RELAY_IN = "hl7.validated"  # 12 partitions; no stage reads it during the runs
FED_TOPIC = "hl7.parsed.adt"  # replay's fallback for a record of no known type
LINKER_IN = ",".join(sb.PARSED)

SPEC = {"binary": "hl7flow-mpi-linker", "input": LINKER_IN, "outputs": ["hl7.linked"],
        "upstream": ["parser", "enricher", "router"],
        "env": {"HL7FLOW_INPUT_TOPICS": ",".join(sb.PARSED), "HL7FLOW_MRN_HASH_KEY": MRN_KEY},
        "does": "decode, load the patient's state, correlate, encode; state to the changelog"}
sb.STAGES.setdefault("linker", SPEC)  # this process only: stage_bench's own runs never see it


def dump_keys(path):
    """The record keys of a `benchwatch dump` file (u32 length-prefixed
    key, value, then u32 header count and name/value pairs)."""
    data = open(path, "rb").read()
    keys, pos = [], 0

    def blob():
        nonlocal pos
        n = int.from_bytes(data[pos:pos + 4], "little")
        b = data[pos + 4:pos + 4 + n]
        pos += 4 + n
        return b
    while pos < len(data):
        keys.append(blob())
        blob()
        nh = int.from_bytes(data[pos:pos + 4], "little")
        pos += 4
        for _ in range(2 * nh):
            blob()
    return keys


class LinkerVsRelay(sb.StageVsRelay):
    """StageVsRelay for the linker: PostgreSQL, preloaded stores, input
    dumped from every typed topic, relay reading RELAY_IN."""

    def __init__(self, stage, guarantee, batch_max):
        super().__init__(stage, guarantee, batch_max)
        self.spec = dict(SPEC, env=dict(SPEC["env"]))
        self.relay_in = RELAY_IN
        self.info = {}
        self.new_patients = {}

    def prepare(self, paths):
        self.spec["env"]["LINKER_DATABASE"] = self.env.start_postgres()
        state_dir = os.path.join(self.env.dir, "linker-state")
        self.spec["env"]["LINKER_STATE_DIR"] = state_dir
        super().prepare(paths)  # the router writes five topics: dumps them all
        keys = set()
        for path in paths:
            keys.update(dump_keys(self.records[path]))
        fed = dump_keys(self.records[paths[0]])[:self.counts[paths[0]]]
        filler = PATIENTS - len(keys)
        if filler < 0:
            raise sb.TestFailure(f"{len(keys)} fed patients exceed LINKER_SERVICE_PATIENTS")
        t0 = time.time()
        r = subprocess.run([PRELOAD, state_dir, str(filler), "12"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=600)
        if r.returncode != 0:
            raise sb.TestFailure(f"linker_preload exited {r.returncode}: {r.stderr[-2000:]}")
        pre = json.loads(r.stdout.strip().splitlines()[-1])
        self.info = {"patients": PATIENTS, "fed_patients": len(keys),
                     "run_patients": len(set(fed)), "filler": filler,
                     "filler_bytes_per_state": pre["bytes_per_state"],
                     "preload_s": round(time.time() - t0, 2),
                     "per_partition": pre["per_partition"]}
        sb.log(f"linker: stores preloaded with {filler:,} filler patients in "
               f"{self.info['preload_s']:.1f} s; {len(keys):,} fed patients get their state "
               f"from the start-up drain")

    def start(self, paths=()):
        super().start(paths)
        # The drain gave every fed patient a state: from here on a run must
        # meet no new patient (checked per run).
        self.info["drain_new_patients"] = self.linker_new_patients()

    def linker_new_patients(self):
        for line in sb.http_get(self.stage_ports[self.stage], "/metrics")[1].splitlines():
            if line.startswith("hl7flow_linker_new_patients_total"):
                return float(line.rsplit(" ", 1)[1])
        return float("nan")

    def feed(self, topic, path, rate=0):
        if topic != LINKER_IN:
            return super().feed(topic, path, rate)
        r = self.env.run([sb.BENCHWATCH, "replay", "--topic", FED_TOPIC, "--typed", "hl7.parsed.",
                          "--in", self.records[path], "--rate", str(rate), "--count",
                          str(self.counts[path])], timeout=300)
        return json.loads(r.stdout.decode().strip().splitlines()[-1])

    def run_stage(self, name, path, count):
        if name == "relay":
            return super().run_stage(name, path, count)
        n0 = self.linker_new_patients()
        dlq0 = self.ends([sb.PVR_DLQ])[sb.PVR_DLQ]
        # in: the five inputs together grow by the count; out: hl7.linked
        r = self.throughput_run(LINKER_IN, "hl7.linked", path, count, ["hl7.linked"],
                                list(sb.PARSED))
        r["dlq_grown"] = self.ends([sb.PVR_DLQ])[sb.PVR_DLQ] - dlq0
        r["new_patients"] = self.linker_new_patients() - n0
        return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True, help="JSON result file (for results.py)")
    a = ap.parse_args()
    t0 = time.time()
    for exe in [sb.BENCHWATCH, PRELOAD] + [os.path.join(sb.BIN, b) for b in (
            "hl7flow", "hl7flow-relay", "hl7flow-parser", "hl7flow-enricher", "hl7flow-router",
            "hl7flow-mpi-linker")]:
        if not os.access(exe, os.X_OK):
            sys.exit(f"service_bench: {exe} missing (make; bench/linker/run.sh builds the rest)")
    files = sb.Env("bench-linker-inputs")
    holder = {}

    class Make(LinkerVsRelay):
        def __init__(self, *args):
            super().__init__(*args)
            holder["pb"] = self
    try:
        tput = sb.gen(files, sb.MESSAGES, 1)
        warm = sb.gen(files, 2000, 3)
        sb.log(f"linker service vs relay: {GUARANTEE}, {PATIENTS:,} patients in state")
        res = sb.run_svr("linker", GUARANTEE, tput, warm, make=Make)
    finally:
        files.close()
    pb = holder["pb"]
    s = sb.summarize_pvr(res)
    new_in_runs = sum(p["parser"].get("new_patients", 0) for p in res["pairs"])
    out = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
           "machine": sb.machine_note(), "guarantee": GUARANTEE, "runs": sb.PVR_RUNS,
           "batch_max": sb.PVR_BATCH_MAX, "messages": s["messages"],
           "relay_msgs": s["relay_msgs"], "linker_msgs": s["parser_msgs"],
           "relay_all": s["relay_all"], "linker_all": s["parser_all"],
           "ratio": s["ratio"], "ratio_pairs": s["ratio_pairs"],
           "relay_cpu_ms_per_1k": 1e6 * s["relay_cpu"] / s["messages"],
           "linker_cpu_ms_per_1k": 1e6 * s["parser_cpu"] / s["messages"],
           "relay_batch": s["relay_batch"], "linker_batch": s["parser_batch"],
           "dlq": s["dlq"], "extra": s["extra"], "offset_resets": s["offset_resets"],
           "aborted": s["relay_aborted"] + s["parser_aborted"], "stalls": s["stalls"],
           "foreign": s["foreign"], "new_patients_in_runs": new_in_runs, **pb.info,
           "seconds": round(time.time() - t0, 1)}
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    print(f"\nmpi-linker service vs relay ({GUARANTEE}, {out['patients']:,} patients in state, "
          f"{out['messages']:,} records per run, {sb.PVR_RUNS} alternating pairs):\n"
          f"    relay {out['relay_msgs']:>9,.0f} msgs/s   linker {out['linker_msgs']:>9,.0f} "
          f"msgs/s   ratio {out['ratio']:.2f}   CPU ms/1k msgs relay "
          f"{out['relay_cpu_ms_per_1k']:.0f} / linker {out['linker_cpu_ms_per_1k']:.0f}   "
          f"records/batch {out['relay_batch']:.0f} / {out['linker_batch']:.0f}\n"
          f"    new patients during the runs {new_in_runs:.0f}, dlq {out['dlq']}, extra "
          f"{out['extra']}, offset resets {out['offset_resets']}, aborted {out['aborted']:.0f}; "
          f"other load {sb.load_note(out['foreign'])}; took {out['seconds']:.0f} s")


if __name__ == "__main__":
    main()
