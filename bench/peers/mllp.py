"""mllp.py - reads an MLLP-framed file (0x0B msg 0x1C 0x0D) into a list of
message strings, for the peer benchmarks (bench/peers/). Shared by the Python
scripts only; medplum_bench.mjs splits the same way."""


def read_mllp(path):
    """Returns (messages as str, total bytes of the messages without framing)."""
    data = open(path, "rb").read()
    msgs = []
    total = 0
    for chunk in data.split(b"\x1c\x0d"):
        start = chunk.find(b"\x0b")
        if start < 0:
            continue  # trailing bytes after the last frame
        body = chunk[start + 1:]
        if not body:
            continue
        total += len(body)
        msgs.append(body.decode("utf-8"))
    return msgs, total
