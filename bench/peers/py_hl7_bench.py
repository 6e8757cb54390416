#!/usr/bin/python3
"""py_hl7_bench.py - parse throughput of python-hl7 (hl7.parse) on one core.

Reads an MLLP-framed message file (`hl7flow gen --format mllp`), decodes each
message to str once (not timed), then parses every message with hl7.parse in
a loop for at least SECONDS per run, RUNS times. Prints one JSON line:
{"peer": "python-hl7", "version", "messages", "bytes", "msgs_per_s",
 "mb_per_s", "runs": [msgs/s...]} where the rates are the median run and
MB = 10^6 bytes of HL7 (framing excluded). Meant for Debian's /usr/bin/python3
with the python3-hl7 package. Synthetic data only.

usage: py_hl7_bench.py FILE [--seconds S] [--runs N]
"""
import argparse
import json
import os
import statistics
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mllp import read_mllp  # noqa: E402


def peer_version(mod):
    v = getattr(mod, "__version__", None)
    if v:
        return str(v)
    try:
        from importlib.metadata import version
        return version("hl7")
    except Exception:
        return "unknown"


def main():
    ap = argparse.ArgumentParser(description="python-hl7 parse throughput")
    ap.add_argument("file")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    import hl7

    msgs, total = read_mllp(args.file)
    if not msgs:
        sys.exit("py_hl7_bench: no message in " + args.file)
    for m in msgs:  # every message must parse, and into its segments
        if len(hl7.parse(m)) < 1:
            sys.exit("py_hl7_bench: a message parsed into no segment")
    rates = []
    sink = 0
    for _ in range(args.runs):
        done = 0
        t0 = time.perf_counter()
        while True:
            for m in msgs:
                sink += len(hl7.parse(m))
            done += len(msgs)
            t = time.perf_counter() - t0
            if t >= args.seconds:
                break
        rates.append(done / t)
    med = statistics.median(rates)
    avg = total / len(msgs)
    print(json.dumps({"peer": "python-hl7", "version": peer_version(hl7),
                      "messages": len(msgs), "bytes": total,
                      "msgs_per_s": round(med, 1), "mb_per_s": round(med * avg / 1e6, 3),
                      "runs": [round(r, 1) for r in rates], "sink": sink > 0}))


if __name__ == "__main__":
    main()
