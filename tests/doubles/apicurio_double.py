#!/usr/bin/python3
"""apicurio_double.py - a TEST DOUBLE of Apicurio Registry's REST APIs, for
hl7flow's tests only. It is not Apicurio and not a registry to run.

It follows Apicurio's documented REST API (see ../shared/docs/API-NOTES.md
section 1: paths, JSON shapes, status codes, id semantics) closely enough to
exercise hl7flow's registry client in its three HTTP modes, all served by one
process over one shared store:

  /apis/ccompat/v7   Confluent-compatible subset:
      POST /subjects/{s}/versions          register     -> {"id": contentId}
      POST /subjects/{s}                   lookup       -> {"subject","id","version","schema"}
      GET  /subjects/{s}/versions/latest   (and /versions/{n})
      GET  /subjects, GET /subjects/{s}/versions
      GET  /schemas/ids/{id}               -> {"schema"}
      PUT/GET /config/{s}                  {"compatibility":L} / {"compatibilityLevel":L}
      POST /compatibility/subjects/{s}/versions/latest -> {"is_compatible": bool}
  /apis/registry/v2  core v2:
      POST /groups/{g}/artifacts           raw schema; X-Registry-ArtifactId,
                                           X-Registry-ArtifactType; ?ifExists=FAIL|UPDATE|
                                           RETURN|RETURN_OR_UPDATE
      POST /groups/{g}/artifacts/{a}/versions
      GET  /groups/{g}/artifacts/{a}       latest content
      GET/POST /groups/{g}/artifacts/{a}/meta  (POST: find version by content)
      GET  /groups/{g}/artifacts/{a}/versions/{v}[/meta]
      GET/POST /groups/{g}/artifacts/{a}/rules; GET/PUT/DELETE .../rules/{type}
      GET  /ids/contentIds/{id}, /ids/globalIds/{id}
  /apis/registry/v3  core v3:
      POST /groups/{g}/artifacts           JSON CreateArtifact; ?ifExists=FAIL|
                                           CREATE_VERSION|FIND_OR_CREATE_VERSION
      POST /groups/{g}/artifacts/{a}/versions   JSON CreateVersion
      GET  /groups/{g}/artifacts/{a}       ArtifactMetaData (no ids)
      GET  /groups/{g}/artifacts/{a}/versions/{v|branch=latest}[/content]
      GET/POST /groups/{g}/artifacts/{a}/rules ({"ruleType","config"}); GET/PUT/DELETE .../rules/{type}
      GET  /ids/contentIds/{id}, /ids/globalIds/{id}
  /_double/state     (double only) the whole store as JSON, for assertions
  /_double/requests  (double only) the requests seen: [[method, path], ...]

Ids: every new version gets a new globalId; contentId is per distinct content
(canonical JSON), shared across artifacts, as Apicurio does. The ccompat id is
the contentId (Apicurio's default, non-legacy id mode; --legacy-ids serves
globalIds instead). globalIds start at --global-id-start (default 1001) so a
client that mixes up the two kinds gets visibly wrong ids.

Rules: a COMPATIBILITY rule on an artifact is enforced when a new version is
added (against the latest version; *_TRANSITIVE against all). The decision is
made by python3-avro's own checker (avro.compatibility, Debian's
python3-avro), independent of hl7flow's C checker. Incompatible -> 409 with a
RuleViolationError (ccompat: {"error_code":409,...}); v3 answers 409 too, or
400 with --v3-rule-violation-status 400 as Apicurio 3.3+ does. Without a rule
nothing is checked on registration (as Apicurio). A schema python3-avro
cannot parse -> 422 (ccompat 42201) / 400 (v2) / 422 (v3).

Usage: apicurio_double.py [--port 0] [--port-file PATH] [--legacy-ids]
         [--v3-rule-violation-status 409|400] [--global-id-start N]
Listens on 127.0.0.1 only; prints "apicurio-double listening on 127.0.0.1:PORT"
and writes PORT to --port-file once ready. Stops on SIGTERM/SIGINT.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import avro.compatibility as avro_compat
import avro.schema as avro_schema

LEVELS = ("NONE", "BACKWARD", "BACKWARD_TRANSITIVE", "FORWARD", "FORWARD_TRANSITIVE", "FULL",
          "FULL_TRANSITIVE")
CC_TYPE = "application/vnd.schemaregistry.v1+json"


class HttpError(Exception):
    def __init__(self, status, body):
        super().__init__(status)
        self.status = status
        self.body = body


def now_iso():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def canonical(text):
    """Canonical form used to compare contents: key-sorted compact JSON."""
    try:
        return json.dumps(json.loads(text), sort_keys=True, separators=(",", ":"))
    except ValueError:
        return text


class Store:
    """Artifacts, versions, contents and rules, shared by the three APIs."""

    def __init__(self, global_start, legacy_ids):
        self.lock = threading.Lock()
        self.contents = {}      # contentId -> text
        self.by_canon = {}      # canonical text -> contentId
        self.artifacts = {}     # (group, artifactId) -> artifact dict
        self.next_content = 1
        self.next_global = global_start
        self.legacy_ids = legacy_ids
        self.requests = []

    # ---- contents and versions --------------------------------------
    def content_id(self, text):
        c = canonical(text)
        if c not in self.by_canon:
            self.by_canon[c] = self.next_content
            self.contents[self.next_content] = text
            self.next_content += 1
        return self.by_canon[c]

    def find_version(self, art, text):
        c = canonical(text)
        for v in art["versions"]:
            if canonical(self.contents[v["contentId"]]) == c:
                return v
        return None

    def global_lookup(self, gid):
        for art in self.artifacts.values():
            for v in art["versions"]:
                if v["globalId"] == gid:
                    return art, v
        return None, None

    def check_rules(self, art, text):
        """Raises ValueError(list of causes) when a rule rejects @text."""
        level = art["rules"].get("COMPATIBILITY", "NONE")
        if level == "NONE" or not art["versions"]:
            return
        new = avro_schema.parse(text)
        against = art["versions"] if level.endswith("_TRANSITIVE") else art["versions"][-1:]
        causes = []
        for v in against:
            old = avro_schema.parse(self.contents[v["contentId"]])
            checks = []
            if level.startswith(("BACKWARD", "FULL")):
                checks.append(("BACKWARD", new, old))
            if level.startswith(("FORWARD", "FULL")):
                checks.append(("FORWARD", old, new))
            for name, reader, writer in checks:
                res = avro_compat.ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
                if res.compatibility is not avro_compat.SchemaCompatibilityType.compatible:
                    for msg in sorted(res.messages):
                        causes.append({"description": f"{name}: {msg}",
                                       "context": ",".join(sorted(res.locations))})
        if causes:
            raise ValueError(causes)

    def add_version(self, group, aid, text, version=None):
        """Adds a version (rules enforced); returns (artifact, version)."""
        art = self.artifacts.get((group, aid))
        created = art is None
        if created:
            art = {"groupId": group, "artifactId": aid, "type": "AVRO", "versions": [],
                   "rules": {}, "createdOn": now_iso()}
        self.check_rules(art, text)
        v = {"version": version or str(len(art["versions"]) + 1), "globalId": self.next_global,
             "contentId": self.content_id(text), "createdOn": now_iso(), "state": "ENABLED"}
        self.next_global += 1
        art["versions"].append(v)
        art["modifiedOn"] = v["createdOn"]
        if created:
            self.artifacts[(group, aid)] = art
        return art, v

    def state(self):
        out = {"contents": {str(k): v for k, v in self.contents.items()}, "artifacts": []}
        for (g, a), art in sorted(self.artifacts.items()):
            out["artifacts"].append({"groupId": g, "artifactId": a, "rules": art["rules"],
                                     "versions": art["versions"]})
        return out


def valid_avro(text):
    try:
        avro_schema.parse(text)
        return None
    except Exception as e:  # noqa: BLE001 - any parse failure is "invalid"
        return str(e) or e.__class__.__name__


class Handler(BaseHTTPRequestHandler):
    server_version = "apicurio-double/1"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet; /_double/requests has the log
        pass

    # ---- plumbing ----------------------------------------------------
    def body_text(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode("utf-8") if n else ""

    def send(self, status, body=None, ctype="application/json"):
        data = b""
        if body is not None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def dispatch(self, method):
        store = self.server.store
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        query = dict(urllib.parse.parse_qsl(url.query))
        body = self.body_text() if method in ("POST", "PUT") else ""
        with store.lock:
            store.requests.append([method, self.path])
            try:
                if path.startswith("/apis/ccompat/v7/"):
                    status, out, ctype = self.ccompat(store, method, path[len("/apis/ccompat/v7"):], body)
                elif path.startswith("/apis/registry/v2/"):
                    status, out, ctype = self.v2(store, method, path[len("/apis/registry/v2"):], query, body)
                elif path.startswith("/apis/registry/v3/"):
                    status, out, ctype = self.v3(store, method, path[len("/apis/registry/v3"):], query, body)
                elif path == "/_double/state" and method == "GET":
                    status, out, ctype = 200, store.state(), "application/json"
                elif path == "/_double/requests" and method == "GET":
                    status, out, ctype = 200, store.requests, "application/json"
                else:
                    status, out, ctype = 404, {"error_code": 404, "message": f"no route {path}"}, "application/json"
            except HttpError as e:
                status, out, ctype = e.status, e.body, "application/json"
            except Exception as e:  # noqa: BLE001 - a double bug must be visible
                status, out, ctype = 500, {"error_code": 500, "message": f"double error: {e!r}"}, "application/json"
        self.send(status, out, ctype)

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    # ---- ccompat v7 --------------------------------------------------
    @staticmethod
    def cc_err(status, code, message):
        return HttpError(status, {"error_code": code, "message": message})

    def cc_subject(self, store, s):
        art = store.artifacts.get(("default", s))
        if art is None or not art["versions"]:
            raise self.cc_err(404, 40401, f"Subject '{s}' not found.")
        return art

    def cc_schema_id(self, store, v):
        return v["globalId"] if store.legacy_ids else v["contentId"]

    def cc_version_body(self, store, s, art, v):
        return {"subject": s, "id": self.cc_schema_id(store, v),
                "version": art["versions"].index(v) + 1,
                "schema": store.contents[v["contentId"]]}

    def cc_parse_body(self, body):
        try:
            req = json.loads(body)
            schema = req["schema"]
        except (ValueError, KeyError, TypeError):
            raise self.cc_err(422, 42201, "Invalid schema: the body needs a \"schema\" string")
        if req.get("schemaType", "AVRO") != "AVRO":
            raise self.cc_err(422, 42201, "this double only knows AVRO")
        return schema

    def ccompat(self, store, method, p, body):
        seg = [urllib.parse.unquote(x) for x in p.strip("/").split("/")]
        ct = CC_TYPE
        if seg == ["subjects"] and method == "GET":
            return 200, sorted(a for (g, a) in store.artifacts if g == "default"), ct
        if len(seg) >= 2 and seg[0] == "subjects":
            s = seg[1]
            if len(seg) == 2 and method == "POST":  # lookup
                schema = self.cc_parse_body(body)
                art = self.cc_subject(store, s)
                v = store.find_version(art, schema)
                if v is None:
                    raise self.cc_err(404, 40403, "Schema not found")
                return 200, self.cc_version_body(store, s, art, v), ct
            if len(seg) == 3 and seg[2] == "versions" and method == "POST":  # register
                schema = self.cc_parse_body(body)
                bad = valid_avro(schema)
                if bad:
                    raise self.cc_err(422, 42201, f"Invalid schema: {bad}")
                art = store.artifacts.get(("default", s))
                if art is not None:
                    v = store.find_version(art, schema)
                    if v is not None:
                        return 200, {"id": self.cc_schema_id(store, v)}, ct
                try:
                    art, v = store.add_version("default", s, schema)
                except ValueError as e:
                    causes = e.args[0]
                    raise self.cc_err(409, 409, (
                        f"Schema being registered is incompatible with an earlier schema for "
                        f"subject \"{s}\", details: "
                        + "; ".join(c["description"] for c in causes)))
                return 200, {"id": self.cc_schema_id(store, v)}, ct
            if len(seg) == 3 and seg[2] == "versions" and method == "GET":
                art = self.cc_subject(store, s)
                return 200, list(range(1, len(art["versions"]) + 1)), ct
            if len(seg) == 4 and seg[2] == "versions" and method == "GET":
                art = self.cc_subject(store, s)
                if seg[3] == "latest":
                    v = art["versions"][-1]
                else:
                    try:
                        v = art["versions"][int(seg[3]) - 1]
                    except (ValueError, IndexError):
                        raise self.cc_err(404, 40402, f"Version {seg[3]} not found.")
                return 200, self.cc_version_body(store, s, art, v), ct
        if len(seg) == 3 and seg[:2] == ["schemas", "ids"] and method == "GET":
            try:
                want = int(seg[2])
            except ValueError:
                raise self.cc_err(404, 40403, "Schema not found")
            if store.legacy_ids:
                art, v = store.global_lookup(want)
                text = store.contents[v["contentId"]] if v else None
            else:
                text = store.contents.get(want)
            if text is None:
                raise self.cc_err(404, 40403, f"Schema {want} not found")
            return 200, {"schema": text}, ct
        if len(seg) == 2 and seg[0] == "config":
            s = seg[1]
            art = store.artifacts.get(("default", s))
            if method == "PUT":
                try:
                    level = json.loads(body)["compatibility"]
                except (ValueError, KeyError, TypeError):
                    raise self.cc_err(422, 42203, "Invalid compatibility level")
                if level not in LEVELS:
                    raise self.cc_err(422, 42203, f"Invalid compatibility level {level}")
                if art is None:
                    raise self.cc_err(404, 40401, f"Subject '{s}' not found.")
                art["rules"]["COMPATIBILITY"] = level
                return 200, {"compatibility": level, "normalize": False}, ct
            if method == "GET":
                if art is None:
                    raise self.cc_err(404, 40401, f"Subject '{s}' not found.")
                if "COMPATIBILITY" not in art["rules"]:
                    raise self.cc_err(404, 40408, f"Subject '{s}' does not have subject-level compatibility configured")
                return 200, {"compatibilityLevel": art["rules"]["COMPATIBILITY"]}, ct
        if (len(seg) == 5 and seg[:2] == ["compatibility", "subjects"] and seg[3] == "versions"
                and method == "POST"):
            schema = self.cc_parse_body(body)
            art = self.cc_subject(store, seg[2])
            probe = dict(art, rules={"COMPATIBILITY": art["rules"].get("COMPATIBILITY", "BACKWARD")})
            try:
                store.check_rules(probe, schema)
                return 200, {"is_compatible": True}, ct
            except ValueError:
                return 200, {"is_compatible": False}, ct
        raise self.cc_err(404, 404, f"no ccompat route {method} {p}")

    # ---- core v2 ------------------------------------------------------
    @staticmethod
    def v2_err(status, name, message, causes=None):
        body = {"error_code": status, "message": message, "name": name}
        if causes is not None:
            body["causes"] = causes
            body["detail"] = message
        return HttpError(status, body)

    @staticmethod
    def v2_meta(art, v, artifact_level):
        m = {"groupId": art["groupId"], "id": art["artifactId"], "version": v["version"],
             "type": "AVRO", "globalId": v["globalId"], "contentId": v["contentId"],
             "state": v["state"], "createdOn": v["createdOn"], "labels": [], "properties": {}}
        if artifact_level:
            m["modifiedOn"] = art["modifiedOn"]
        return m

    def v2_art(self, store, g, a):
        art = store.artifacts.get((g, a))
        if art is None:
            raise self.v2_err(404, "ArtifactNotFoundException",
                              f"No artifact with ID '{a}' in group '{g}' was found.")
        return art

    def v2_add(self, store, g, a, text):
        bad = valid_avro(text)
        if bad:
            raise self.v2_err(400, "InvalidArtifactException", f"Syntax violation for Avro artifact: {bad}")
        try:
            return store.add_version(g, a, text)
        except ValueError as e:
            causes = e.args[0]
            raise self.v2_err(409, "RuleViolationException",
                              f"Incompatible artifact: {a} [AVRO], num of incompatible diffs: "
                              f"{{{len(causes)}}}", causes)

    def ids_route(self, store, seg, err):
        if seg[1] == "contentIds":
            text = store.contents.get(int(seg[2])) if seg[2].isdigit() else None
            if text is None:
                raise err(404, "ContentNotFoundException", f"No content with id '{seg[2]}' was found.")
            return 200, text, "application/json"
        if seg[1] == "globalIds":
            art, v = store.global_lookup(int(seg[2])) if seg[2].isdigit() else (None, None)
            if v is None:
                raise err(404, "ArtifactNotFoundException", f"No artifact with ID '{seg[2]}' was found.")
            return 200, store.contents[v["contentId"]], "application/json"
        raise err(404, "NotFoundException", "no such id kind")

    def rules_route(self, store, art, seg, method, body, key, err):
        """seg = ['rules'] or ['rules', TYPE] (after the artifact path)."""
        if len(seg) == 1 and method == "GET":
            return 200, sorted(art["rules"]), "application/json"
        if len(seg) == 1 and method == "POST":
            try:
                req = json.loads(body)
                rtype, config = req[key], req["config"]
            except (ValueError, KeyError, TypeError):
                raise err(400, "BadRequestException", f"a rule needs \"{key}\" and \"config\"")
            if rtype != "COMPATIBILITY" or config not in LEVELS:
                raise err(400, "BadRequestException", f"unsupported rule {rtype}={config}")
            if rtype in art["rules"]:
                raise err(409, "RuleAlreadyExistsException", f"A rule named '{rtype}' already exists.")
            art["rules"][rtype] = config
            return 204, None, "application/json"
        if len(seg) == 2:
            rtype = seg[1]
            if method == "GET":
                if rtype not in art["rules"]:
                    raise err(404, "RuleNotFoundException", f"No rule named '{rtype}' was found.")
                return 200, {key: rtype, "config": art["rules"][rtype]}, "application/json"
            if method == "PUT":
                try:
                    config = json.loads(body)["config"]
                except (ValueError, KeyError, TypeError):
                    raise err(400, "BadRequestException", "a rule needs \"config\"")
                if config not in LEVELS:
                    raise err(400, "BadRequestException", f"unsupported level {config}")
                if rtype not in art["rules"]:
                    raise err(404, "RuleNotFoundException", f"No rule named '{rtype}' was found.")
                art["rules"][rtype] = config
                return 200, {key: rtype, "config": config}, "application/json"
            if method == "DELETE":
                art["rules"].pop(rtype, None)
                return 204, None, "application/json"
        raise err(405, "MethodNotAllowedException", f"{method} not allowed on rules")

    def v2(self, store, method, p, query, body):
        seg = [urllib.parse.unquote(x) for x in p.strip("/").split("/")]
        if len(seg) == 3 and seg[0] == "ids" and method == "GET":
            return self.ids_route(store, seg, self.v2_err)
        if len(seg) >= 3 and seg[0] == "groups" and seg[2] == "artifacts":
            g = seg[1]
            if len(seg) == 3 and method == "POST":
                aid = self.headers.get("X-Registry-ArtifactId")
                atype = self.headers.get("X-Registry-ArtifactType", "AVRO")
                if not aid:
                    raise self.v2_err(400, "BadRequestException", "this double needs X-Registry-ArtifactId")
                if atype != "AVRO":
                    raise self.v2_err(400, "BadRequestException", "this double only knows AVRO")
                if_exists = query.get("ifExists", "FAIL")
                art = store.artifacts.get((g, aid))
                if art is not None:
                    if if_exists == "FAIL":
                        raise self.v2_err(409, "ArtifactAlreadyExistsException",
                                          f"An artifact with ID '{aid}' in group '{g}' already exists.")
                    if if_exists == "RETURN":
                        return 200, self.v2_meta(art, art["versions"][-1], True), "application/json"
                    if if_exists == "RETURN_OR_UPDATE":
                        v = store.find_version(art, body)
                        if v is not None:
                            return 200, self.v2_meta(art, v, True), "application/json"
                art, v = self.v2_add(store, g, aid, body)
                return 200, self.v2_meta(art, v, True), "application/json"
            if len(seg) >= 4:
                a = seg[3]
                rest = seg[4:]
                art = self.v2_art(store, g, a)
                if not rest and method == "GET":
                    return 200, store.contents[art["versions"][-1]["contentId"]], "application/json"
                if rest == ["meta"] and method == "GET":
                    return 200, self.v2_meta(art, art["versions"][-1], True), "application/json"
                if rest == ["meta"] and method == "POST":
                    v = store.find_version(art, body)
                    if v is None:
                        raise self.v2_err(404, "VersionNotFoundException", "No version with that content was found.")
                    return 200, self.v2_meta(art, v, False), "application/json"
                if rest == ["versions"] and method == "POST":
                    art, v = self.v2_add(store, g, a, body)
                    return 200, self.v2_meta(art, v, False), "application/json"
                if rest == ["versions"] and method == "GET":
                    return 200, {"count": len(art["versions"]),
                                 "versions": [self.v2_meta(art, v, False) for v in art["versions"]]}, "application/json"
                if len(rest) >= 2 and rest[0] == "versions" and method == "GET":
                    vs = [v for v in art["versions"] if v["version"] == rest[1]]
                    if rest[1] == "latest":
                        vs = art["versions"][-1:]
                    if not vs:
                        raise self.v2_err(404, "VersionNotFoundException", f"No version '{rest[1]}' found.")
                    if rest[2:] == ["meta"]:
                        return 200, self.v2_meta(art, vs[0], False), "application/json"
                    if not rest[2:]:
                        return 200, store.contents[vs[0]["contentId"]], "application/json"
                if rest and rest[0] == "rules":
                    return self.rules_route(store, art, rest, method, body, "type", self.v2_err)
        raise self.v2_err(404, "NotFoundException", f"no v2 route {method} {p}")

    # ---- core v3 ------------------------------------------------------
    @staticmethod
    def v3_err(status, name, title, causes=None):
        body = {"status": status, "title": title, "detail": title, "name": name}
        if causes is not None:
            body["causes"] = causes
        return HttpError(status, body)

    @staticmethod
    def v3_version_meta(art, v):
        return {"groupId": art["groupId"], "artifactId": art["artifactId"], "version": v["version"],
                "artifactType": "AVRO", "globalId": v["globalId"], "contentId": v["contentId"],
                "state": v["state"], "createdOn": v["createdOn"], "labels": {}}

    @staticmethod
    def v3_artifact_meta(art):
        return {"groupId": art["groupId"], "artifactId": art["artifactId"], "artifactType": "AVRO",
                "createdOn": art["createdOn"], "modifiedOn": art["modifiedOn"], "labels": {}}

    def v3_add(self, store, g, a, content, version=None):
        ctype = content.get("contentType", "application/json")
        text = content.get("content")
        if not isinstance(text, str) or ctype != "application/json":
            raise self.v3_err(400, "BadRequestException", "content.content must be a string of type application/json")
        bad = valid_avro(text)
        if bad:
            raise self.v3_err(422, "InvalidArtifactException", f"Syntax violation for Avro artifact: {bad}")
        try:
            return store.add_version(g, a, text, version)
        except ValueError as e:
            causes = e.args[0]
            raise self.v3_err(self.server.v3_rule_status, "RuleViolationException",
                              f"Incompatible artifact: {a} [AVRO], num of incompatible diffs: "
                              f"{{{len(causes)}}}", causes)

    def v3_json(self, body):
        try:
            return json.loads(body)
        except ValueError:
            raise self.v3_err(400, "BadRequestException", "the body is not JSON")

    def v3(self, store, method, p, query, body):
        seg = [urllib.parse.unquote(x) for x in p.strip("/").split("/")]
        if len(seg) == 3 and seg[0] == "ids" and method == "GET":
            return self.ids_route(store, seg, self.v3_err)
        if len(seg) >= 3 and seg[0] == "groups" and seg[2] == "artifacts":
            g = seg[1]
            if len(seg) == 3 and method == "POST":
                req = self.v3_json(body)
                aid = req.get("artifactId")
                if not aid:
                    raise self.v3_err(400, "BadRequestException", "this double needs artifactId")
                if req.get("artifactType", "AVRO") != "AVRO":
                    raise self.v3_err(400, "BadRequestException", "this double only knows AVRO")
                first = req.get("firstVersion") or {}
                content = first.get("content") or {}
                if_exists = query.get("ifExists", "FAIL")
                art = store.artifacts.get((g, aid))
                if art is not None:
                    if if_exists == "FAIL":
                        raise self.v3_err(409, "ArtifactAlreadyExistsException",
                                          f"An artifact with ID '{aid}' in group '{g}' already exists.")
                    if if_exists == "FIND_OR_CREATE_VERSION":
                        v = store.find_version(art, content.get("content", ""))
                        if v is not None:
                            return 200, {"artifact": self.v3_artifact_meta(art),
                                         "version": self.v3_version_meta(art, v)}, "application/json"
                art, v = self.v3_add(store, g, aid, content, first.get("version"))
                return 200, {"artifact": self.v3_artifact_meta(art),
                             "version": self.v3_version_meta(art, v)}, "application/json"
            if len(seg) >= 4:
                a = seg[3]
                rest = seg[4:]
                art = store.artifacts.get((g, a))
                if art is None:
                    raise self.v3_err(404, "ArtifactNotFoundException",
                                      f"No artifact with ID '{a}' in group '{g}' was found.")
                if not rest and method == "GET":
                    return 200, self.v3_artifact_meta(art), "application/json"
                if rest == ["versions"] and method == "POST":
                    req = self.v3_json(body)
                    art, v = self.v3_add(store, g, a, req.get("content") or {}, req.get("version"))
                    return 200, self.v3_version_meta(art, v), "application/json"
                if len(rest) >= 2 and rest[0] == "versions" and method == "GET":
                    expr = rest[1]
                    if expr == "branch=latest":
                        vs = art["versions"][-1:]
                    else:
                        vs = [v for v in art["versions"] if v["version"] == expr]
                    if not vs:
                        raise self.v3_err(404, "VersionNotFoundException", f"No version '{expr}' found.")
                    if rest[2:] == ["content"]:
                        return 200, store.contents[vs[0]["contentId"]], "application/json"
                    if not rest[2:]:
                        return 200, self.v3_version_meta(art, vs[0]), "application/json"
                if rest and rest[0] == "rules":
                    return self.rules_route(store, art, rest, method, body, "ruleType", self.v3_err)
        raise self.v3_err(404, "NotFoundException", f"no v3 route {method} {p}")


def main():
    ap = argparse.ArgumentParser(description="Test double of Apicurio Registry's REST APIs")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--legacy-ids", action="store_true",
                    help="ccompat ids are globalIds (Apicurio's legacy id mode)")
    ap.add_argument("--v3-rule-violation-status", type=int, choices=(400, 409), default=409,
                    help="409 as Apicurio 3.0-3.2, 400 as 3.3+")
    ap.add_argument("--global-id-start", type=int, default=1001)
    args = ap.parse_args()

    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.store = Store(args.global_id_start, args.legacy_ids)
    srv.v3_rule_status = args.v3_rule_violation_status
    port = srv.server_address[1]

    def stop(_sig, _frm):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.rename(tmp, args.port_file)
    print(f"apicurio-double listening on 127.0.0.1:{port}", flush=True)
    srv.serve_forever()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
