#!/usr/bin/env python3
"""A small HTTP double of OpenSearch for the sink's tests.

Follows OpenSearch's documented APIs as far as the sink uses them
(docs.opensearch.org, api-reference/document-apis/bulk and
im-plugin/index-templates; summarized in API-NOTES.md section 3):

- PUT/GET /_index_template/<name>: stores templates (index_patterns,
  template.mappings);
- POST /_bulk and /<index>/_bulk: NDJSON (Content-Type application/x-ndjson,
  every line ending in \\n, no chunked bodies), `index`, `create` and
  `delete` actions; answers {"took","errors","items":[{"<action>":
  {"_index","_id","_version","result","status"} or {...,"status","error":
  {"type","reason"}}}]} in request order. Documents are stored by
  (_index, _id); `index` on an existing id overwrites it ("updated",
  _version + 1). A template with "dynamic":"strict" whose pattern matches
  the index refuses unmapped top-level fields with 400
  strict_dynamic_mapping_exception, and a `date` field that is not an ISO
  date with 400 mapper_parsing_exception, as OpenSearch would.
- Basic auth when started with --auth user:pass (401 otherwise).

Knobs (POST /_double/config with a JSON object, merged; or flags):
  fail_ids_containing: [substr...]  items whose _id contains one -> 400
                                    mapper_parsing_exception
  item_429: N                       the next N items -> 429
                                    rejected_execution_exception
  request_429: N / request_503: N   the next N _bulk requests -> whole-request
                                    429 / 503
Inspection: GET /_double/docs -> {"<index>": {"<id>": {"version", "source"}}},
GET /_double/stats -> counters (requests, items, item_429, request_429,
request_503, rejected, unauthorized, templates).
"""
import argparse
import base64
import fnmatch
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
DOCS = {}          # index -> id -> {"version", "source"}
TEMPLATES = {}     # name -> body
CONFIG = {"fail_ids_containing": [], "item_429": 0, "request_429": 0, "request_503": 0}
STATS = {"requests": 0, "bulk_requests": 0, "items": 0, "item_429": 0, "request_429": 0,
         "request_503": 0, "rejected": 0, "unauthorized": 0, "templates": 0, "created": 0,
         "updated": 0}
AUTH = None
ISO = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def mapping_for(index):
    best = None
    for body in TEMPLATES.values():
        if any(fnmatch.fnmatchcase(index, p) for p in body.get("index_patterns", [])):
            if best is None or body.get("priority", 0) > best.get("priority", 0):
                best = body
    return (best or {}).get("template", {}).get("mappings")


def check_source(index, src):
    """None, or (status, type, reason) as OpenSearch's mapper would refuse."""
    m = mapping_for(index)
    if not m:
        return None
    props = m.get("properties", {})
    for k, v in src.items():
        if k not in props:
            if m.get("dynamic") == "strict":
                return (400, "strict_dynamic_mapping_exception",
                        f"mapping set to strict, dynamic introduction of [{k}] within [_doc] is not allowed")
            continue
        if props[k].get("type") == "date" and not (isinstance(v, str) and ISO.match(v)):
            return (400, "mapper_parsing_exception", f"failed to parse field [{k}] of type [date]")
    return None


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, typ, reason):
        self.reply(status, {"error": {"root_cause": [{"type": typ, "reason": reason}], "type": typ,
                                      "reason": reason}, "status": status})

    def body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return None
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def authorized(self):
        if self.path.startswith("/_double/") or AUTH is None:
            return True
        h = self.headers.get("Authorization") or ""
        if h.startswith("Basic ") and base64.b64decode(h[6:]).decode("utf-8", "replace") == AUTH:
            return True
        with LOCK:
            STATS["unauthorized"] += 1
        self.error(401, "security_exception", "missing authentication credentials for REST request")
        return False

    def do_GET(self):
        with LOCK:
            STATS["requests"] += 1
        if not self.authorized():
            return
        path = self.path.split("?")[0]
        with LOCK:
            if path == "/_double/docs":
                return self.reply(200, DOCS)
            if path == "/_double/stats":
                return self.reply(200, STATS)
            if path.startswith("/_index_template/"):
                name = path.split("/", 2)[2]
                if name in TEMPLATES:
                    return self.reply(200, {"index_templates": [{"name": name,
                                                                 "index_template": TEMPLATES[name]}]})
                return self.error(404, "resource_not_found_exception", f"index template matching [{name}] not found")
            if path == "/":
                return self.reply(200, {"version": {"distribution": "opensearch", "number": "2.x-double"}})
        self.error(404, "not_found", "no handler")

    def do_PUT(self):
        with LOCK:
            STATS["requests"] += 1
        body = self.body()
        if not self.authorized():
            return
        path = self.path.split("?")[0]
        if path.startswith("/_index_template/"):
            try:
                t = json.loads(body)
                assert isinstance(t.get("index_patterns"), list)
            except Exception:  # noqa: BLE001
                return self.error(400, "parse_exception", "bad template")
            with LOCK:
                TEMPLATES[path.split("/", 2)[2]] = t
                STATS["templates"] += 1
            return self.reply(200, {"acknowledged": True})
        self.error(404, "not_found", "no handler")

    def do_POST(self):
        with LOCK:
            STATS["requests"] += 1
        body = self.body()
        if not self.authorized():
            return
        path = self.path.split("?")[0]
        if path == "/_double/config":
            with LOCK:
                CONFIG.update(json.loads(body or b"{}"))
            return self.reply(200, CONFIG)
        if path == "/_double/reset":
            with LOCK:
                DOCS.clear()
                for k in STATS:
                    STATS[k] = 0
            return self.reply(200, {})
        m = re.match(r"^/(?:([^/_][^/]*)/)?_bulk$", path)
        if not m:
            return self.error(404, "not_found", "no handler")
        return self.bulk(m.group(1), body)

    def bulk(self, default_index, body):
        with LOCK:
            STATS["bulk_requests"] += 1
            if CONFIG["request_429"] > 0:
                CONFIG["request_429"] -= 1
                STATS["request_429"] += 1
                return self.error(429, "rejected_execution_exception",
                                  "rejected execution of coordinating operation")
            if CONFIG["request_503"] > 0:
                CONFIG["request_503"] -= 1
                STATS["request_503"] += 1
                return self.error(503, "unavailable_shards_exception", "primary shard is not active")
        if body is None:
            return self.error(400, "illegal_argument_exception", "chunked bodies are not accepted by this double")
        if "ndjson" not in (self.headers.get("Content-Type") or ""):
            return self.error(406, "not_acceptable", "Content-Type must be application/x-ndjson")
        if not body.endswith(b"\n"):
            return self.error(400, "illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]")
        lines = body.split(b"\n")[:-1]
        items, errors, i = [], False, 0
        while i < len(lines):
            try:
                action = json.loads(lines[i])
                (op, meta), = action.items()
            except Exception:  # noqa: BLE001
                return self.error(400, "illegal_argument_exception", f"Malformed action/metadata line [{i + 1}]")
            i += 1
            src = None
            if op in ("index", "create", "update"):
                if i >= len(lines):
                    return self.error(400, "illegal_argument_exception", "source line missing")
                try:
                    src = json.loads(lines[i])
                except Exception:  # noqa: BLE001
                    src = None
                i += 1
            index = meta.get("_index") or default_index
            did = meta.get("_id")
            items.append({op: self.item(op, index, did, src)})
            errors = errors or "error" in items[-1][op]
        self.reply(200, {"took": 1, "errors": errors, "items": items})

    def item(self, op, index, did, src):
        with LOCK:
            STATS["items"] += 1
            base = {"_index": index, "_id": did}
            if did is None or len(did.encode()) > 512:
                STATS["rejected"] += 1
                return dict(base, status=400, error={"type": "illegal_argument_exception",
                                                     "reason": "id is too long or missing"})
            if CONFIG["item_429"] > 0:
                CONFIG["item_429"] -= 1
                STATS["item_429"] += 1
                return dict(base, status=429, error={"type": "rejected_execution_exception",
                                                     "reason": "rejected execution of primary operation"})
            if any(s in did for s in CONFIG["fail_ids_containing"]):
                STATS["rejected"] += 1
                return dict(base, status=400, error={"type": "mapper_parsing_exception",
                                                     "reason": f"failed to parse, document source: {json.dumps(src)[:200]}"})
            if op == "delete":
                gone = DOCS.get(index, {}).pop(did, None)
                return dict(base, status=200 if gone else 404, result="deleted" if gone else "not_found")
            if not isinstance(src, dict):
                STATS["rejected"] += 1
                return dict(base, status=400, error={"type": "mapper_parsing_exception",
                                                     "reason": "failed to parse"})
            bad = check_source(index, src)
            if bad:
                STATS["rejected"] += 1
                return dict(base, status=bad[0], error={"type": bad[1], "reason": bad[2]})
            docs = DOCS.setdefault(index, {})
            old = docs.get(did)
            if old and op == "create":
                return dict(base, status=409, error={"type": "version_conflict_engine_exception",
                                                     "reason": f"[{did}]: version conflict, document already exists"})
            ver = old["version"] + 1 if old else 1
            docs[did] = {"version": ver, "source": src}
            STATS["updated" if old else "created"] += 1
            return dict(base, _version=ver, result="updated" if old else "created",
                        status=200 if old else 201)


def main():
    global AUTH
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--auth", help="user:password required as HTTP Basic")
    a = ap.parse_args()
    AUTH = a.auth
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
    srv.daemon_threads = True
    if a.port_file:
        with open(a.port_file + ".tmp", "w") as f:
            f.write(str(srv.server_address[1]))
        import os
        os.rename(a.port_file + ".tmp", a.port_file)
    print(f"opensearch double on {srv.server_address[1]}", file=sys.stderr, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
