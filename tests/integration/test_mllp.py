"""hl7flow-mllp on the dev broker: HL7 over MLLP (TCP and TLS) in,
hl7.raw.ingest out, an ACK only once Kafka has the record.

- the shared corpus sent with Debian's mllp_send (python3-hl7, a client
  nobody here wrote): every HL7 message lands on hl7.raw.ingest byte for
  byte with key facility|app and DESIGN.md's headers, and every ACK is right
  (MSA-1, MSA-2 = MSH-10, sender/receiver swapped, the sender's delimiters);
- all brokers down: AE (never AA) for messages Kafka did not confirm,
  /readyz 503, and recovery (AA again, /readyz 200) once they are back;
  every AA'd message is stored;
- a client that disconnects mid-frame, an oversized frame (AR, connection
  kept), garbage between frames, a byte-at-a-time client next to a fast one,
  a message that is not HL7 (AR + ERR), enhanced mode (CA, MSH-15 NE
  suppressing the ACK), an inbound ACK (not answered), routing rules,
  the connection limit and idle timeout, many connections (hl7flow loadgen),
  many connections pipelining at once (per-connection ACK and record order);
- TLS with a required client certificate (accepted with one, refused
  without or with a foreign one) and with an optional one;
- SIGTERM drains and exits 0.
"""
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (BIN, SHARED, TestFailure, check, check_eq, free_port, header,  # noqa: E402
                     http_get, run_suite, wait_for)
from test_hl7_corpus import split_messages  # noqa: E402

MLLP = os.path.join(BIN, "hl7flow-mllp")
HL7FLOW = os.path.join(BIN, "hl7flow")
CORPUS = os.path.join(SHARED, "corpus", "hl7")
MLLP_SEND = "/usr/bin/mllp_send"
TOPIC = "hl7.raw.ingest"
SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
TP_RE = re.compile(r"^00-[0-9a-f]{32}-[0-9a-f]{16}-01$")


# ---- HL7 helpers (independent of the C code) ------------------------------

def msh(msg):
    """-> (fs, enc, fields) with fields[n] = MSH-n (1-based), or None when
    the text is not HL7 by the listener's documented rule."""
    m = msg.lstrip(b"\r\n \t")
    if len(m) < 6 or not m.startswith(b"MSH"):
        return None
    fs = m[3:4]
    if fs in (b"\r", b"\n", b"\0") or fs.isalnum():
        return None
    seg = re.split(rb"[\r\n]", m, maxsplit=1)[0]
    parts = seg.split(fs)
    enc = parts[1]
    if not 2 <= len(enc) <= 5 or any(bytes([c]).isalnum() or c in (0, fs[0]) for c in enc):
        return None
    fields = {1: fs, 2: enc}
    for i, v in enumerate(parts[2:], start=3):
        fields[i] = v
    return fs, enc, fields


def field(f, n):
    return f.get(n, b"")


def comp1(value, enc):
    return value.split(enc[:1])[0]


def frame(msg):
    return SB + msg + EB + CR


def frames_of(data):
    out, pos = [], 0
    while True:
        s = data.find(SB, pos)
        if s < 0:
            return out
        e = data.find(EB + CR, s)
        if e < 0:
            return out
        out.append(data[s + 1:e])
        pos = e + 2


def ack_fields(ack):
    """-> (msh fields dict, msa list, err segment or None)."""
    p = msh(ack)
    check(p is not None, f"ACK is HL7: {ack[:80]!r}")
    fs, enc, f = p
    segs = ack.split(b"\r")
    msa = [s for s in segs if s.startswith(b"MSA" + fs)]
    err = [s for s in segs if s.startswith(b"ERR" + fs)]
    check(len(msa) == 1, f"one MSA segment in {ack!r}")
    return f, msa[0].split(fs), (err[0] if err else None)


def check_ack(ack, msg, want_code):
    """The ACK answers msg: code, MSA-2, swapped MSH-3..6, delimiters,
    version, ACK^trigger."""
    fs, enc, f = msh(msg)
    af, msa, err = ack_fields(ack)
    check_eq(af[1], fs, "ACK MSH-1 = the sender's field separator")
    check_eq(af[2], enc, "ACK MSH-2 = the sender's encoding characters")
    check_eq(msa[1], want_code, f"MSA-1 for {field(f, 10)!r}")
    check_eq(msa[2] if len(msa) > 2 else b"", field(f, 10), "MSA-2 = the original MSH-10")
    check_eq(field(af, 5), field(f, 3), "ACK MSH-5 = original MSH-3")
    check_eq(field(af, 6), field(f, 4), "ACK MSH-6 = original MSH-4")
    if field(f, 5):
        check_eq(field(af, 3), field(f, 5), "ACK MSH-3 = original MSH-5")
    if field(f, 6):
        check_eq(field(af, 4), field(f, 6), "ACK MSH-4 = original MSH-6")
    check_eq(field(af, 12), field(f, 12) or b"2.5", "ACK MSH-12 = original version")
    check(field(af, 9).startswith(b"ACK"), f"ACK MSH-9 {field(af, 9)!r}")
    trig = field(f, 9).split(enc[:1])[1:2]
    if trig and trig[0]:
        check(field(af, 9).split(enc[:1])[1] == trig[0], f"ACK MSH-9 trigger {field(af, 9)!r}")
    check(field(af, 10) and field(af, 10) != field(f, 10), "ACK has its own MSH-10")
    if want_code in (b"AA", b"CA"):
        check(err is None, "no ERR in a positive ACK")
    return af, msa, err


def expected_code(msg):
    """What the listener answers a stored message: None = no ACK."""
    fs, enc, f = msh(msg)
    f15, f16 = comp1(field(f, 15), enc), field(f, 16)
    if comp1(field(f, 9), enc) == b"ACK":
        return None
    if not f15 and not f16:
        return b"AA"
    if f15.upper() in (b"NE", b"ER"):
        return None
    return b"CA"


# ---- a small MLLP client ---------------------------------------------------

class Client:
    def __init__(self, port, tls_ctx=None, timeout=10):
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls_ctx is not None:
            s = tls_ctx.wrap_socket(s, server_hostname="localhost")
        self.s = s
        self.buf = b""

    def send_raw(self, data):
        self.s.sendall(data)

    def recv_frame(self, timeout=10):
        self.s.settimeout(timeout)
        while True:
            e = self.buf.find(EB + CR)
            if e >= 0:
                s = self.buf.find(SB)
                out = self.buf[s + 1:e]
                self.buf = self.buf[e + 2:]
                return out
            chunk = self.s.recv(65536)
            if not chunk:
                raise TestFailure("connection closed while waiting for an ACK")
            self.buf += chunk

    def call(self, msg, timeout=10):
        self.send_raw(frame(msg))
        return self.recv_frame(timeout)

    def closed_by_peer(self, timeout=5):
        self.s.settimeout(timeout)
        try:
            return self.s.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError, OSError):
            return True

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def hl7(ctrl, app=b"EPIC", fac=b"HOSP_A", typ=b"ADT^A01^ADT_A01", extra=b"", version=b"2.5.1",
        body=b"PID|1||12345^^^HOSP_A^MR||DOE^JANE\r"):
    return (b"MSH|^~\\&|" + app + b"|" + fac + b"|HL7FLOW|HUB|20240101120000||" + typ + b"|" +
            ctrl + b"|P|" + version + extra + b"\rEVN|A01\r" + body)


# ---- listener processes ----------------------------------------------------

def start_listener(env, name, extra=None):
    port, http = free_port(), free_port()
    e = {"MLLP_LISTEN": f"127.0.0.1:{port}", "HL7FLOW_HTTP_PORT": str(http),
         "KAFKA_RECONNECT_BACKOFF_MAX_MS": "1000", "MLLP_READY_INTERVAL_MS": "300"}
    e.update(extra or {})
    p = env.start(name, [MLLP], e)
    wait_for(lambda: http_get(http, "/readyz")[0] == 200 or not p.alive(), 30, f"{name} ready")
    check(p.alive(), f"{name} is running: {p.output()[-1500:]}")
    p.port, p.http = port, http
    return p


def events(proc, name):
    return [e for e in proc.log_events() if e.get("event") == name]


def metric(proc, name):
    _, text = http_get(proc.http, "/metrics")
    for line in text.splitlines():
        if line.split(" ")[0] == name:
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def topic_records(env):
    return env.consume(TOPIC, idle_ms=1500)


def value_bytes(rec):
    return b"" if rec["value"] is None else rec["value"].encode("latin-1")


def records_by_ctrl(env):
    out = {}
    for r in topic_records(env):
        out.setdefault(header(r, "message_control_id"), []).append(r)
    return out


STATE = {}


# ---- tests -----------------------------------------------------------------

def test_corpus_with_mllp_send_lands_byte_for_byte(env):
    if not os.path.isdir(CORPUS):
        print("# corpus: skipped, ../shared/corpus/hl7 not found")
        return
    lst = start_listener(env, "mllp-corpus")
    STATE["main"] = lst
    msgs, silent = [], []
    for name in sorted(os.listdir(CORPUS)):
        if name in ("MANIFEST.tsv", "LICENSES") or name.startswith("."):
            continue
        path = os.path.join(CORPUS, name)
        if not os.path.isfile(path):
            continue
        for text in split_messages(open(path, "rb").read()):
            m = text.encode("latin-1").strip(b"\x0b\r")  # what mllp_send sends
            if not m or b"\x0c" in m:
                continue  # mllp_send splits on form feeds
            p = msh(m)
            if p is not None and expected_code(m) is None:
                # MSH-15 NE/ER (or an ACK): no accept ACK comes back, so
                # mllp_send would wait forever; sent below by our client.
                silent.append(m)
                continue
            msgs.append(m)
    check(len(msgs) > 100, f"enough corpus messages ({len(msgs)})")
    stream = os.path.join(env.dir, "corpus.mllp")
    with open(stream, "wb") as f:
        for m in msgs:
            f.write(frame(m))
    r = subprocess.run([MLLP_SEND, "-p", str(lst.port), "-f", stream, "127.0.0.1"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    check_eq(r.returncode, 0, "mllp_send exit status " + r.stderr.decode()[-500:])
    acks = frames_of(r.stdout)
    check_eq(len(acks), len(msgs), "one ACK per message")
    # The silent ones on one connection: nothing comes back for them, the
    # first frame on the wire answers the marker sent after them.
    c = Client(lst.port)
    for m in silent:
        c.send_raw(frame(m))
    marker = hl7(b"CORPUS-MARKER")
    check_ack(c.call(marker), marker, b"AA")
    c.close()
    stored_want = [m for m in silent if comp1(field(msh(m)[2], 9), msh(m)[1]) != b"ACK"]
    rejected = 0
    for m, a in zip(msgs, acks):
        if msh(m) is None:
            _, msa, err = ack_fields(a)
            check_eq(msa[1], b"AR", "not-HL7 corpus input is rejected")
            check(err is not None, "AR carries ERR")
            rejected += 1
            continue
        check_ack(a, m, expected_code(m))
        stored_want.append(m)
    stored_want.append(marker)
    recs = topic_records(env)
    got = {}
    for rec in recs:
        got.setdefault(value_bytes(rec), []).append(rec)
    for m in stored_want:
        lst_ = got.get(m)
        check(lst_, f"message {field(msh(m)[2], 10)!r} stored byte for byte")
        rec = lst_.pop()
        fs, enc, f = msh(m)
        app, fac = comp1(field(f, 3), enc), comp1(field(f, 4), enc)
        check_eq(rec["key"].encode("latin-1"), fac + b"|" + app, "key facility_id|sending_app")
        check_eq(header(rec, "source_system").encode("latin-1"), app, "source_system = MSH-3")
        check_eq(header(rec, "facility_id").encode("latin-1"), fac, "facility_id = MSH-4")
        check_eq(header(rec, "message_control_id").encode("latin-1"), field(f, 10), "control id")
        check_eq(header(rec, "message_type").encode("latin-1"), field(f, 9), "message_type = MSH-9")
        check(TS_RE.match(header(rec, "ingest_ts") or ""), f"ingest_ts {header(rec, 'ingest_ts')}")
        check(TP_RE.match(header(rec, "traceparent") or ""), "traceparent")
    extra = sum(len(v) for v in got.values())
    check_eq(extra, 0, "records that no message accounts for")
    STATE["stored"] = len(stored_want)
    print(f"# corpus: {len(msgs)} messages via mllp_send ({rejected} rejected as not HL7), "
          f"{len(silent)} with MSH-15 NE/ER via our client; {len(stored_want)} stored byte for byte")


def test_not_hl7_enhanced_mode_and_inbound_acks(env):
    lst = STATE.get("main") or start_listener(env, "mllp-main")
    STATE["main"] = lst
    c = Client(lst.port)
    # Not HL7: AR with ERR-3 code 100, nothing stored.
    a = c.call(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    _, msa, err = ack_fields(a)
    check_eq(msa[1], b"AR", "MSA-1 for non-HL7")
    check_eq(msa[2], b"", "MSA-2 empty: no control id to echo")
    check(err is not None and b"100^" in err, f"ERR with code 100: {err!r}")
    # Enhanced mode: CA when MSH-15 is AL.
    m = hl7(b"ENH-1", extra=b"|||AL|NE")
    check_ack(c.call(m), m, b"CA")
    # MSH-15 NE: no ACK, but stored; the connection keeps working.
    c.send_raw(frame(hl7(b"ENH-NE", extra=b"|||NE|AL")))
    m = hl7(b"ENH-2", extra=b"|||ER|AL")  # ER: no ACK on success either
    c.send_raw(frame(m))
    m3 = hl7(b"ENH-3")
    check_ack(c.call(m3), m3, b"AA")  # the next ACK on the wire answers ENH-3
    # An inbound ACK is neither answered nor stored.
    c.send_raw(frame(b"MSH|^~\\&|X|Y|HL7FLOW|HUB|2024||ACK^A01^ACK|IN-ACK-1|P|2.5.1\rMSA|AA|Q1\r"))
    m4 = hl7(b"ENH-4")
    check_ack(c.call(m4), m4, b"AA")
    c.close()
    by = records_by_ctrl(env)
    for ctrl in ("ENH-1", "ENH-NE", "ENH-2", "ENH-3", "ENH-4"):
        check_eq(len(by.get(ctrl, [])), 1, f"{ctrl} stored once")
    check("IN-ACK-1" not in by, "inbound ACK not stored")
    check(events(lst, "inbound_ack_ignored"), "inbound ACK logged")
    check(metric(lst, "hl7flow_mllp_acks_suppressed_total") >= 2, "suppressed ACKs counted")
    # MLLP_HONOUR_MSH15=false: the accept ACK is sent even when MSH-15 is NE.
    always = start_listener(env, "mllp-always-ack", {"MLLP_HONOUR_MSH15": "false"})
    c = Client(always.port)
    m = hl7(b"ENH-NE-2", extra=b"|||NE|NE")
    check_ack(c.call(m), m, b"CA")
    c.close()
    always.term()


def test_garbage_oversized_and_mid_frame_disconnect(env):
    lst = start_listener(env, "mllp-limits", {"MLLP_MAX_FRAME_BYTES": "4096"})
    c = Client(lst.port)
    # Garbage before a frame is skipped.
    c.send_raw(b"\r\n junk \x1c\r\n")
    m = hl7(b"LIM-1")
    check_ack(c.call(m), m, b"AA")
    # An oversized frame: AR naming the limit, MSA-2 from its MSH, not stored,
    # and the connection goes on.
    big = hl7(b"BIG-1", body=b"OBX|1|TX|||" + b"x" * 10000 + b"\r")
    a = c.call(big)
    _, msa, err = check_ack(a, big, b"AR")
    check(b"4096" in msa[3], f"MSA-3 names the limit: {msa[3]!r}")
    check(err is not None and b"207^" in err, "ERR 207")
    m = hl7(b"LIM-2")
    check_ack(c.call(m), m, b"AA")
    # Half a frame, then the client disconnects: nothing stored, logged.
    d = Client(lst.port)
    d.send_raw(SB + hl7(b"HALF-1")[:40])
    time.sleep(0.2)
    d.close()
    wait_for(lambda: events(lst, "connection_closed_mid_frame"), 10, "mid-frame log line")
    ev = events(lst, "connection_closed_mid_frame")[0]
    check_eq(ev.get("partial_bytes"), 40, "partial bytes logged")
    check_ack(c.call(hl7(b"LIM-3")), hl7(b"LIM-3"), b"AA")
    c.close()
    by = records_by_ctrl(env)
    check("BIG-1" not in by and "HALF-1" not in by, "oversized and partial frames not stored")
    for ctrl in ("LIM-1", "LIM-2", "LIM-3"):
        check_eq(len(by.get(ctrl, [])), 1, f"{ctrl} stored once")
    big_ev = events(lst, "frame_too_large")
    check(big_ev and big_ev[0].get("message_control_id") == "BIG-1" and big_ev[0].get("limit") == 4096,
          f"frame_too_large log line names the control id and limit: {big_ev}")
    check(metric(lst, "hl7flow_mllp_garbage_bytes_total") >= 10, "garbage bytes counted")
    STATE["limits"] = lst


def test_slow_client_does_not_hold_up_others(env):
    lst = STATE["limits"]
    slow = Client(lst.port)
    m = hl7(b"SLOW-1")
    data = frame(m)
    done = {}

    def trickle():
        for i in range(len(data)):
            slow.send_raw(data[i:i + 1])
            time.sleep(0.003)
        done["ack"] = slow.recv_frame(10)

    t = threading.Thread(target=trickle)
    t.start()
    fast = Client(lst.port)
    worst = 0.0
    n = 0
    while t.is_alive() and n < 200:
        mm = hl7(b"FAST-%d" % n)
        t0 = time.time()
        check_ack(fast.call(mm), mm, b"AA")
        worst = max(worst, time.time() - t0)
        n += 1
    t.join(30)
    check(n >= 10, f"fast client sent while the slow one trickled ({n})")
    check(worst < 1.0, f"fast client's slowest ACK {worst:.3f}s")
    check_ack(done.get("ack", b""), m, b"AA")
    slow.close()
    fast.close()
    print(f"# slow client: {len(data)} bytes one at a time; {n} fast ACKs meanwhile, slowest {worst*1000:.1f} ms")


def test_pipelined_frames_before_a_half_close_are_all_answered(env):
    # More frames than MLLP_MAX_INFLIGHT sent at once, then the client shuts
    # its sending side: the listener pauses reading at the in-flight limit,
    # sees the EOF, and must still store and answer every whole frame.
    lst = start_listener(env, "mllp-halfclose", {"MLLP_MAX_INFLIGHT": "4"})
    c = Client(lst.port)
    msgs = [hl7(b"HALF-%d" % i) for i in range(40)]
    c.send_raw(b"".join(frame(m) for m in msgs))
    c.s.shutdown(socket.SHUT_WR)
    for m in msgs:
        check_ack(c.recv_frame(20), m, b"AA")
    check(c.closed_by_peer(10), "the listener closes after the last ACK")
    c.close()
    got = records_by_ctrl(env)
    check(all(len(got.get(f"HALF-{i}", [])) == 1 for i in range(40)), "each pipelined frame stored once")
    check_eq(lst.term(), 0, "listener exit status")


def test_connection_limit_and_idle_timeout(env):
    lst = start_listener(env, "mllp-conns", {"MLLP_MAX_CONNECTIONS": "3", "MLLP_IDLE_TIMEOUT_MS": "800"})
    cs = [Client(lst.port) for _ in range(3)]
    for i, c in enumerate(cs):
        m = hl7(b"CONN-%d" % i)
        check_ack(c.call(m), m, b"AA")
    extra = Client(lst.port)
    check(extra.closed_by_peer(), "4th connection closed by the listener")
    ev = events(lst, "connection_refused")
    check(ev and ev[0].get("reason") == "max_connections" and ev[0].get("limit") == 3,
          f"refusal logged with the limit: {ev}")
    # Idle connections are closed after MLLP_IDLE_TIMEOUT_MS.
    check(cs[0].closed_by_peer(5), "idle connection closed")
    wait_for(lambda: len(events(lst, "connection_idle_timeout")) >= 3, 10, "idle timeout log lines")
    c = Client(lst.port)  # room again
    m = hl7(b"CONN-9")
    check_ack(c.call(m), m, b"AA")
    c.close()


def test_routing_rules_set_source_and_facility(env):
    port = free_port()
    lst = start_listener(env, "mllp-routes", {
        "MLLP_LISTEN": f"127.0.0.1:{port},127.0.0.1:0",
        "MLLP_ROUTES": f"port={port} source=EPIC_BRIDGES facility=HOSP_Z; cidr=10.0.0.0/8 source=NEVER"})
    lst.port = port
    c = Client(port)
    m = hl7(b"ROUTE-1", app=b"SENDER_APP", fac=b"SENDER_FAC")
    check_ack(c.call(m), m, b"AA")
    c.close()
    rec = records_by_ctrl(env)["ROUTE-1"][0]
    check_eq(rec["key"], "HOSP_Z|EPIC_BRIDGES", "key from the routing rule")
    check_eq(header(rec, "source_system"), "EPIC_BRIDGES", "source_system from the rule")
    check_eq(header(rec, "facility_id"), "HOSP_Z", "facility_id from the rule")
    check_eq(value_bytes(rec), m, "value byte for byte")
    # A bad rule stops the start with a located message, exit 2.
    r = env.run([MLLP], {"MLLP_ROUTES": "port=1 source=A; cidr=10.0.0.0/40 source=B",
                         "HL7FLOW_HTTP_PORT": "-1"}, check_rc=False, timeout=30)
    check_eq(r.returncode, 2, "bad routes exit status")
    check(b"rule 2" in r.stderr and b"prefix 40" in r.stderr, f"error names the rule: {r.stderr!r}")


def test_many_connections_with_loadgen(env):
    lst = STATE.get("main") or start_listener(env, "mllp-main")
    path = env.gen(3000, seed=21)
    before = env.offsets([TOPIC])[TOPIC]["end"]
    r = env.run([HL7FLOW, "loadgen", "--port", str(lst.port), "--input", path, "--connections", "200",
                 "--count", "4000"], timeout=180, check_rc=False)
    out = r.stdout.decode().strip().splitlines()[-1] if r.stdout else ""
    check_eq(r.returncode, 0, f"loadgen exit status ({out} {r.stderr.decode()[-300:]})")
    import json
    res = json.loads(out)
    check_eq(res["positive"], res["sent"], "every message got AA/CA")
    check(res["sent"] >= 4000, f"sent {res['sent']}")
    wait_for(lambda: env.offsets([TOPIC])[TOPIC]["end"] - before >= res["sent"], 30,
             "every positively acknowledged message stored")
    print(f"# many connections: 200 connections, {res['sent']} messages, "
          f"{res['msgs_per_s']:.0f} msgs/s, ACK p99 {res['p99_ms']:.1f} ms")


def test_many_pipelining_connections_keep_per_connection_order(env):
    # 48 connections at once, each pipelining 25 frames in odd-sized pieces
    # without waiting (more than MLLP_MAX_INFLIGHT, so reading pauses and
    # resumes): every connection gets its ACKs in the order it sent, each
    # frame is stored once byte for byte, and one connection's records sit
    # in send order on their partition. Sizes cross the listener's message
    # holders: small (its entry free list), over 8 KiB (an entry of its own)
    # and over 64 KiB (copied by librdkafka).
    import random
    lst = start_listener(env, "mllp-pipeline", {"MLLP_MAX_INFLIGHT": "8"})
    nconn, per = 48, 25

    def message(i, j):
        size = 70000 if (j == 0 and i % 4 == 0) else 12000 if j % 5 == 1 else 0
        obx = b"OBX|1|TX|||" + (b"R%d-%d " % (i, j)) * (size // 8) + b"\r" if size else b""
        return hl7(b"PIPE-%d-%d" % (i, j), fac=b"PFAC%d" % i,
                   body=b"PID|1||%d^^^HOSP_A^MR||DOE^JANE\r" % i + obx)

    errors = []

    def run(i):
        try:
            c = Client(lst.port, timeout=60)
            msgs = [message(i, j) for j in range(per)]
            data = b"".join(frame(m) for m in msgs)
            rnd = random.Random(i)

            def send():
                pos = 0
                while pos < len(data):
                    n = rnd.choice((1, 7, 100, 1500, 9000, 70000))
                    c.send_raw(data[pos:pos + n])
                    pos += n

            sender = threading.Thread(target=send)
            sender.start()
            for m in msgs:
                check_ack(c.recv_frame(60), m, b"AA")
            sender.join(60)
            c.close()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(f"connection {i}: {e}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(nconn)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    check(not errors, f"every connection got its ACKs in order: {errors[:3]}")
    got = records_by_ctrl(env)
    for i in range(nconn):
        recs = []
        for j in range(per):
            rs = got.get(f"PIPE-{i}-{j}", [])
            check_eq(len(rs), 1, f"PIPE-{i}-{j} stored once")
            check_eq(value_bytes(rs[0]), message(i, j), f"PIPE-{i}-{j} byte for byte")
            recs.append(rs[0])
        check(len({r["partition"] for r in recs}) == 1, f"connection {i}: one partition")
        offs = [r["offset"] for r in recs]
        check(offs == sorted(offs), f"connection {i}: records in send order")
    check_eq(metric(lst, "hl7flow_mllp_inflight"), 0.0, "nothing left in flight")
    print(f"# pipelining: {nconn} connections x {per} frames, ACK order and record order kept")


def test_client_that_reads_late_gets_every_ack_in_order(env):
    # A sender that pipelines 40,000 frames before reading anything, with a
    # tiny receive buffer: the ACKs (~10 MB) overflow the socket buffers and
    # wait in the listener's own output buffer, then go out in order as the
    # client reads. Most frames are not HL7 (answered AR, never stored, so
    # the topic stays small); every 100th is, and its AA must come at its
    # place in the sequence.
    lst = STATE.get("main") or start_listener(env, "mllp-main")
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", lst.port))
    c = Client.__new__(Client)
    c.s, c.buf = s, b""
    n = 40000
    msgs = [hl7(b"LATE-%d" % i) if i % 100 == 0 else b"NOT HL7 %d" % i for i in range(n)]
    c.send_raw(b"".join(frame(m) for m in msgs))
    for m in msgs:
        ack = c.recv_frame(30)
        if m.startswith(b"MSH"):
            check_ack(ack, m, b"AA")
        else:
            check(b"MSA|AR|" in ack, f"AR for a frame that is not HL7: {ack[:120]!r}")
    c.close()
    got = records_by_ctrl(env)
    check(all(len(got.get(f"LATE-{i}", [])) == 1 for i in range(0, n, 100)), "each HL7 frame stored once")


def test_broker_down_naks_and_recovery(env):
    lst = start_listener(env, "mllp-outage", {"MLLP_ACK_TIMEOUT_MS": "2000"})
    c = Client(lst.port)
    m = hl7(b"OUT-0")
    check_ack(c.call(m), m, b"AA")
    dport = env.devbroker_http
    import urllib.request
    urllib.request.urlopen(urllib.request.Request(
        f"http://127.0.0.1:{dport}/brokers/all/down", method="POST"), timeout=30).read()
    codes = {}
    try:
        for i in range(1, 4):
            mm = hl7(b"OUT-%d" % i)
            t0 = time.time()
            a = c.call(mm, timeout=15)
            took = time.time() - t0
            _, msa, err = check_ack(a, mm, ack_fields(a)[1][1])
            codes[i] = msa[1]
            check_eq(msa[1], b"AE", f"OUT-{i} while every broker is down")
            check(err is not None and b"207^" in err, "ERR 207 with the NAK")
            check(took < 6, f"NAK within the ACK deadline (+ slack): {took:.1f}s")
        wait_for(lambda: http_get(lst.http, "/readyz")[0] == 503, 15, "/readyz 503 while Kafka is down")
    finally:
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{dport}/brokers/all/up", method="POST"), timeout=30).read()
    wait_for(lambda: http_get(lst.http, "/readyz")[0] == 200, 30, "/readyz 200 after recovery")
    # Recovery: AA again (the producer may need a moment to reconnect).
    deadline = time.time() + 30
    ok = False
    n = 10
    while time.time() < deadline and not ok:
        mm = hl7(b"OUT-%d" % n)
        a = c.call(mm, timeout=15)
        ok = ack_fields(a)[1][1] == b"AA"
        n += 1
    check(ok, "AA again after the brokers came back")
    c.close()
    # Every AA'd message is stored; every message that got AA is OUT-0 or
    # from the recovery phase.
    by = records_by_ctrl(env)
    check("OUT-0" in by, "OUT-0 stored")
    check(("OUT-%d" % (n - 1)) in by, "the first AA'd message after recovery stored")
    check(metric(lst, 'hl7flow_mllp_naks_total{reason="timeout"}') >= 3 or
          len(events(lst, "delivery_failed")) >= 3, "NAKs counted by reason")
    check(not [e for e in lst.log_events() if e.get("event") == "kafka_fatal"], "no fatal error")
    print(f"# outage: NAK codes {sorted(set(v.decode() for v in codes.values()))}, recovered after "
          f"{n - 10} attempt(s)")


def make_certs(d):
    def run(*a):
        subprocess.run(a, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=d)
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=hl7flow test CA")
    ext = os.path.join(d, "san.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for who in ("server", "client"):
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{who}.key", "-out", f"{who}.csr",
            "-subj", f"/CN={'localhost' if who == 'server' else 'ehr-client'}")
        run("openssl", "x509", "-req", "-in", f"{who}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{who}.pem", "-days", "2", "-extfile", ext)
    # A client certificate from a CA the listener does not trust.
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rogue.key", "-out",
        "rogue.pem", "-days", "2", "-subj", "/CN=rogue")
    return {k: os.path.join(d, k) for k in os.listdir(d)}


def client_ctx(certs, cert=None):
    ctx = ssl.create_default_context(cafile=certs["ca.pem"])
    if cert:
        ctx.load_cert_chain(certs[cert + ".pem"], certs[cert + ".key"])
    return ctx


def test_tls_with_and_without_client_certificates(env):
    d = os.path.join(env.dir, "certs")
    os.makedirs(d)
    certs = make_certs(d)
    tls_env = {"MLLP_TLS_CERT": certs["server.pem"], "MLLP_TLS_KEY": certs["server.key"],
               "MLLP_TLS_CA": certs["ca.pem"]}
    port = free_port()
    req = start_listener(env, "mllp-tls-req", dict(tls_env, MLLP_LISTEN=f"tls:127.0.0.1:{port}",
                                                   MLLP_TLS_CLIENT_AUTH="require"))
    c = Client(port, client_ctx(certs, "client"))
    m = hl7(b"TLS-1")
    check_ack(c.call(m), m, b"AA")
    c.close()
    for who in (None, "rogue"):
        refused = False
        try:
            c = Client(port, client_ctx(certs, who))
            c.send_raw(frame(hl7(b"TLS-BAD")))
            refused = c.closed_by_peer()
            c.close()
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError, OSError):
            refused = True
        check(refused, f"client with {who or 'no'} certificate refused")
    wait_for(lambda: len(events(req, "tls_error")) >= 2, 10, "TLS failures logged")
    # Plain TCP to a TLS port gets nothing back.
    c = Client(port)
    c.send_raw(frame(hl7(b"TLS-PLAIN")))
    check(c.closed_by_peer(), "plain client on a TLS port is closed")
    c.close()
    port2 = free_port()
    opt = start_listener(env, "mllp-tls-opt", dict(tls_env, MLLP_LISTEN=f"tls:127.0.0.1:{port2}",
                                                   MLLP_TLS_CLIENT_AUTH="optional"))
    c = Client(port2, client_ctx(certs))
    m = hl7(b"TLS-2")
    check_ack(c.call(m), m, b"AA")
    c.close()
    by = records_by_ctrl(env)
    check_eq(value_bytes(by["TLS-1"][0]), hl7(b"TLS-1"), "TLS message stored byte for byte")
    check("TLS-2" in by, "optional-auth message stored")
    check("TLS-BAD" not in by and "TLS-PLAIN" not in by, "refused clients stored nothing")
    check(opt.alive() and req.alive(), "listeners still running")


def test_sigterm_drains_and_exits_zero(env):
    lst = start_listener(env, "mllp-drain")
    c = Client(lst.port)
    m = hl7(b"DRAIN-1")
    check_ack(c.call(m), m, b"AA")
    rc = lst.term(30)
    check_eq(rc, 0, "exit status after SIGTERM")
    check(c.closed_by_peer(), "client connection closed by the drain")
    check(events(lst, "draining") and events(lst, "mllp_stopped"), "drain logged")
    # The log carries control ids, never message content.
    out = lst.output()
    check("DOE" not in out and "12345" not in out, "no patient data in the log")


TESTS = [
    test_corpus_with_mllp_send_lands_byte_for_byte,
    test_not_hl7_enhanced_mode_and_inbound_acks,
    test_garbage_oversized_and_mid_frame_disconnect,
    test_slow_client_does_not_hold_up_others,
    test_pipelined_frames_before_a_half_close_are_all_answered,
    test_connection_limit_and_idle_timeout,
    test_routing_rules_set_source_and_facility,
    test_many_connections_with_loadgen,
    test_many_pipelining_connections_keep_per_connection_order,
    test_client_that_reads_late_gets_every_ack_in_order,
    test_tls_with_and_without_client_certificates,
    test_broker_down_naks_and_recovery,
    test_sigterm_drains_and_exits_zero,
]

if __name__ == "__main__":
    run_suite("mllp", TESTS, devbroker_http=True)
