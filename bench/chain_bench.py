"""The fleet's three-stage chain against a three-relay chain (issue 4).

Two fresh dev brokers, each with a chain of three stage processes and the
same client settings (the stage benchmark's: fetch.wait.max.ms 5, batch
max 2000, exactly-once by default):
  fleet:  hl7.raw.ingest -> parser -> hl7.validated -> enricher -> hl7.enriched
          -> router -> hl7.parsed.{adt,orm,oru,dft,mdm}
  relays: hl7.raw.ingest -> relay -> hl7.validated -> relay -> hl7.enriched
          -> relay -> hl7.parsed.adt
Runs alternate between the chains (the idle one only polls), in pairs
whose order flips each time; each latency pair runs on two new brokers
(the mock broker's fetches slow down as its partitions fill):
  throughput: CHAIN_MESSAGES generated messages (all valid) produced
    unthrottled into hl7.raw.ingest; time = first record's ingest_ts until
    the chain's outputs have grown by the count (bench/benchwatch.c span);
  latency: CHAIN_LAT_MESSAGES at a steady BENCH_RATE (5,000/s); latency =
    receipt at a read_committed consumer of the outputs - ingest_ts.
Targets (issue 4): the chain's p99 at most 1.5x the relay chain's.
Writes the section "Fleet chain vs relay chain" of bench/RESULTS.md.

Environment: BIN, BENCHWATCH (as bench/stage_bench.py), CHAIN_RUNS (5),
CHAIN_MESSAGES (5000: the fleet's records are ~3x the HL7, and the dev
broker keeps ~5 MiB per partition), CHAIN_LAT_MESSAGES (15000),
CHAIN_GUARANTEE (exactly-once), BENCH_RESULTS, BENCH_NO_RESULTS=1.
"""
import datetime
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stage_bench as sb  # noqa: E402
from stage_bench import (BIN, PARSED, STAGES, Chain, Env, free_port, gen, http_get, log,  # noqa: E402
                         median, payload_bytes, wait_for)

RUNS = int(os.environ.get("CHAIN_RUNS", "5"))
MESSAGES = int(os.environ.get("CHAIN_MESSAGES", "5000"))
LAT_MESSAGES = int(os.environ.get("CHAIN_LAT_MESSAGES", "15000"))
GUARANTEE = os.environ.get("CHAIN_GUARANTEE", "exactly-once")
P99_TARGET = 1.5
COMMON = {"HL7FLOW_BATCH_MAX": "2000"}
FLEET = ["parser", "enricher", "router"]


class FleetChain(Chain):
    """A fresh dev broker with parser, enricher and router."""

    def __init__(self, guarantee):
        super().__init__(3, guarantee, {})
        self.env.close()  # the relay chain's; this one gets its own
        self.env = Env(f"bench-fleet-{sb.GUAR_SHORT[guarantee]}")

    def start(self):
        self.env.start_devbroker()
        for name in FLEET:
            spec = STAGES[name]
            port = free_port()
            self.ports.append(port)
            extra = {"HL7FLOW_GROUP_ID": f"bench-{name}", "HL7FLOW_HTTP_PORT": port,
                     "HL7FLOW_GUARANTEE": self.guarantee,
                     "HL7FLOW_TRANSACTIONAL_ID": f"bench-{name}"}
            extra.update(COMMON)
            extra.update(spec["env"])
            self.relays[name] = self.env.start(name, [os.path.join(BIN, spec["binary"])], extra)
        wait_for(lambda: all(http_get(p, "/readyz")[0] == 200 for p in self.ports), 60,
                 "fleet stages assigned")


def throughput(ch, path, fleet):
    if fleet:
        return ch.throughput_run("hl7.raw.ingest", ",".join(PARSED), path, MESSAGES,
                                 ["hl7.raw.ingest", "hl7.validated", "hl7.enriched"], PARSED)
    return ch.throughput_run("hl7.raw.ingest", ch.last, path, MESSAGES, sb.CHAIN[:4])


def latency(ch, path, fleet):
    return ch.latency_run("hl7.raw.ingest", ",".join(PARSED) if fleet else ch.last, path,
                          LAT_MESSAGES)


def fresh_chains(warm):
    """Both chains on new dev brokers, started and warmed up with 1,000
    messages each (connections, metadata, first transactions)."""
    fleet = relay = None
    try:
        fleet, relay = FleetChain(GUARANTEE), Chain(3, GUARANTEE, COMMON)
        fleet.start()
        relay.start()
        fleet.throughput_run("hl7.raw.ingest", ",".join(PARSED), warm, 1000,
                             ["hl7.raw.ingest"], PARSED)
        relay.throughput_run("hl7.raw.ingest", relay.last, warm, 1000, ["hl7.raw.ingest"])
    except BaseException:
        for ch in (fleet, relay):
            if ch is not None:
                ch.close()
        raise
    return fleet, relay


def section(res, info):
    tp = res["throughput"]
    fl = [MESSAGES / r["fleet"]["seconds"] for r in tp]
    rl = [MESSAGES / r["relay"]["seconds"] for r in tp]
    ratio = median([f / r for f, r in zip(fl, rl)])
    lat = res["latency"]
    key = lambda side, q: median([r[side][q] for r in lat])  # noqa: E731
    p99_ratio = median([r["fleet"]["p99_ms"] / r["relay"]["p99_ms"] for r in lat])
    foreign = [r[s]["foreign_cores"] for r in tp + lat for s in ("fleet", "relay")]
    cpu = {}
    for side in ("fleet", "relay"):
        per = {}
        for r in tp:
            for k, v in r[side]["cpu"].items():
                per.setdefault(k, []).append(v * 1e6 / MESSAGES)
        cpu[side] = ", ".join(f"{k} {median(v):.0f}" for k, v in per.items())
    g = sb.GUAR_SHORT[GUARANTEE]
    met = "met" if p99_ratio <= P99_TARGET else "NOT met"
    body = f"""## Fleet chain vs relay chain

Command: `make bench  # bench/run.sh -> bench/chain_bench.py` (this section alone: `BIN=bin BENCHWATCH=build/release/bench/benchwatch /usr/bin/python3 bench/chain_bench.py`)  
Date: {info['date']}  
Machine: {info['machine']}  
Other load during the runs (machine busy time minus this benchmark's processes): {sb.load_note(foreign)}.

Issue 4: the three-stage chain (parser -> enricher -> router) beside a do-nothing relay chain with the same number of hops and the same client settings, measured in the same run; target: the chain's p99 latency at most {P99_TARGET}x the relay chain's.

Setup: two dev brokers, one per chain, new for the throughput runs and again for each latency pair (after a 1,000-message warm-up of each chain; librdkafka 2.0.2's mock broker finds a fetch offset by a linear scan over the partition's message sets, so fetches slow down as earlier runs fill the partitions, see `docs/devbroker.md`), {g}, HL7FLOW_BATCH_MAX 2000, `KAFKA_FETCH_WAIT_MAX_MS=5` on every client, `HL7FLOW_EOS_MIRROR_COMMIT=true`. Fleet: the stages with their defaults (profiles enforced, file: registry, `config/facilities.dev.json`, code maps) plus a bench-only MRN hash key, writing the five typed topics; relays: hl7.raw.ingest -> hl7.validated -> hl7.enriched -> hl7.parsed.adt. {RUNS} alternating pairs per measurement. Throughput: {MESSAGES:,} messages of `hl7flow gen --seed 1 --facilities 24` ({info['bytes'] / MESSAGES:,.0f} bytes of HL7 each) produced unthrottled; time = first record's ingest_ts until the outputs grew by the count. Latency: {LAT_MESSAGES:,} messages of `--seed 2` at a steady {sb.RATE:,}/s; latency = receipt at a read_committed consumer of the outputs - ingest_ts (includes the producer's linger.ms 5).

| measurement | fleet chain | relay chain | fleet / relay | target |
|---|---:|---:|---:|---|
| throughput msgs/s | {median(fl):,.0f} | {median(rl):,.0f} | {ratio:.2f} | |
| latency p50 ms at {sb.RATE:,}/s | {key('fleet', 'p50_ms'):.1f} | {key('relay', 'p50_ms'):.1f} | {median([r['fleet']['p50_ms'] / r['relay']['p50_ms'] for r in lat]):.2f} | |
| latency p99 ms | {key('fleet', 'p99_ms'):.1f} | {key('relay', 'p99_ms'):.1f} | {p99_ratio:.2f} | <= {P99_TARGET}: {met} |
| latency p99.9 ms | {key('fleet', 'p999_ms'):.1f} | {key('relay', 'p999_ms'):.1f} | {median([r['fleet']['p999_ms'] / r['relay']['p999_ms'] for r in lat]):.2f} | |

Runs: throughput fleet {', '.join(f'{x / 1000:.1f}k' for x in fl)}; relays {', '.join(f'{x / 1000:.1f}k' for x in rl)}. Latency p99 fleet {', '.join(f"{r['fleet']['p99_ms']:.0f}" for r in lat)} ms; relays {', '.join(f"{r['relay']['p99_ms']:.0f}" for r in lat)} ms.  
CPU us per message during the throughput runs (median; producer = `hl7flow produce`): fleet {cpu['fleet']}; relays {cpu['relay']}.

Checks: in every throughput run each topic of the chain grew by exactly the run's count (nothing to the DLQ: the traffic is all valid); every latency run read exactly its count.
"""
    return {"## Fleet chain vs relay chain": body}, {"ratio": ratio, "p99_ratio": p99_ratio,
                                                      "fleet": median(fl), "relay": median(rl)}


def main():
    t0 = time.time()
    files = Env("bench-chain-inputs")
    fleet = relay = None
    res = {"throughput": [], "latency": []}
    try:
        tput = gen(files, MESSAGES, 1)
        lat = gen(files, LAT_MESSAGES, 2)
        warm = gen(files, 1000, 3)
        _, nbytes = payload_bytes(tput)
        fleet, relay = fresh_chains(warm)
        for i in range(RUNS):
            order = (True, False) if i % 2 == 0 else (False, True)
            pair = {}
            for is_fleet in order:
                pair["fleet" if is_fleet else "relay"] = throughput(fleet if is_fleet else relay,
                                                                    tput, is_fleet)
            res["throughput"].append(pair)
            log(f"chain throughput pair {i + 1}/{RUNS}: fleet "
                f"{MESSAGES / pair['fleet']['seconds']:,.0f} msgs/s, relays "
                f"{MESSAGES / pair['relay']['seconds']:,.0f} msgs/s")
        for i in range(RUNS):
            # Each latency pair on two new dev brokers: the mock broker finds
            # a fetch offset by a linear scan over the partition's message
            # sets, so its cost per fetch grows with what earlier runs left
            # behind (docs/devbroker.md).
            fleet.close()
            relay.close()
            fleet = relay = None
            fleet, relay = fresh_chains(warm)
            order = (True, False) if i % 2 == 0 else (False, True)
            pair = {}
            for is_fleet in order:
                pair["fleet" if is_fleet else "relay"] = latency(fleet if is_fleet else relay, lat,
                                                                 is_fleet)
            res["latency"].append(pair)
            log(f"chain latency pair {i + 1}/{RUNS}: fleet p50/p99 "
                f"{pair['fleet']['p50_ms']:.1f}/{pair['fleet']['p99_ms']:.1f} ms, relays "
                f"{pair['relay']['p50_ms']:.1f}/{pair['relay']['p99_ms']:.1f} ms")
    finally:
        for ch in (fleet, relay):
            if ch is not None:
                ch.close()
        files.close()
    info = {"date": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "machine": sb.machine_note(), "bytes": nbytes}
    new, summ = section(res, info)
    os.makedirs(os.path.join(sb.REPO, "build", "bench"), exist_ok=True)
    with open(os.path.join(sb.REPO, "build", "bench", "chain-bench.json"), "w") as f:
        json.dump({"info": info, "results": res, "summary": summ}, f, indent=1)
    print(f"\nfleet chain vs relay chain ({sb.GUAR_SHORT[GUARANTEE]}): throughput "
          f"{summ['fleet']:,.0f} vs {summ['relay']:,.0f} msgs/s (ratio {summ['ratio']:.2f}); "
          f"p99 ratio {summ['p99_ratio']:.2f} (target <= {P99_TARGET})")
    if os.environ.get("BENCH_NO_RESULTS") != "1":
        sb.write_results(new)
        print(f"  wrote {os.path.relpath(sb.RESULTS, sb.REPO)}")
    print(f"  took {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
