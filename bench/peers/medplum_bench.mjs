// medplum_bench.mjs - parse throughput of @medplum/core's Hl7Message.parse on
// one core (Node), the peer of py_hl7_bench.py.
//
// Reads an MLLP-framed message file (`hl7flow gen --format mllp`), decodes
// each message to a string once (not timed), warms the JIT with one pass,
// then parses every message with Hl7Message.parse in a loop for at least
// SECONDS per run, RUNS times. Prints one JSON line: {"peer": "@medplum/core",
// "version", "messages", "bytes", "msgs_per_s", "mb_per_s", "runs"} where the
// rates are the median run and MB = 10^6 bytes of HL7 (framing excluded).
// Synthetic data only.
//
// usage: node medplum_bench.mjs FILE [--seconds S] [--runs N]
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Hl7Message } from '@medplum/core';

function usage(msg) {
  process.stderr.write(`medplum_bench: ${msg}\nusage: node medplum_bench.mjs FILE [--seconds S] [--runs N]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let file = null;
let seconds = 2.0;
let runs = 5;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--seconds') seconds = Number(args[++i]);
  else if (args[i] === '--runs') runs = parseInt(args[++i], 10);
  else if (file === null) file = args[i];
  else usage(`unexpected argument '${args[i]}'`);
}
if (file === null || !(seconds > 0) || !(runs > 0)) usage('bad arguments');

// MLLP: 0x0B message 0x1C 0x0D
const data = readFileSync(file);
const msgs = [];
let total = 0;
for (let pos = 0; ; ) {
  const start = data.indexOf(0x0b, pos);
  if (start < 0) break;
  const end = data.indexOf(0x1c, start + 1);
  if (end < 0) break;
  if (end > start + 1) {
    total += end - start - 1;
    msgs.push(data.toString('utf8', start + 1, end));
  }
  pos = end + 1;
}
if (msgs.length === 0) usage(`no message in ${file}`);

let sink = 0;
for (const m of msgs) { // every message must parse, into its segments; also the warm-up
  const parsed = Hl7Message.parse(m);
  if (parsed.segments.length < 1) usage('a message parsed into no segment');
  sink += parsed.segments.length;
}
const rates = [];
for (let r = 0; r < runs; r++) {
  let done = 0;
  const t0 = process.hrtime.bigint();
  let t;
  for (;;) {
    for (const m of msgs) sink += Hl7Message.parse(m).segments.length;
    done += msgs.length;
    t = Number(process.hrtime.bigint() - t0) / 1e9;
    if (t >= seconds) break;
  }
  rates.push(done / t);
}
const sorted = [...rates].sort((a, b) => a - b);
const med = sorted.length % 2 ? sorted[(sorted.length - 1) / 2]
  : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
const require = createRequire(import.meta.url);
let version = 'unknown';
try {
  version = require('@medplum/core/package.json').version;
} catch {
  try {
    const pkgUrl = new URL('./node_modules/@medplum/core/package.json', import.meta.url);
    version = JSON.parse(readFileSync(pkgUrl, 'utf8')).version;
  } catch { /* keep unknown */ }
}
const avg = total / msgs.length;
console.log(JSON.stringify({
  peer: '@medplum/core', version, node: process.version, messages: msgs.length, bytes: total,
  msgs_per_s: Math.round(med * 10) / 10, mb_per_s: Math.round(med * avg / 1e3) / 1e3,
  runs: rates.map((x) => Math.round(x * 10) / 10), sink: sink > 0,
}));
