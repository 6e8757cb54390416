#!/usr/bin/python3
"""Integration tests of the schema registry client and `hl7flow schemas`
against tests/doubles/apicurio_double.py, a test double of Apicurio
Registry's documented REST APIs (ccompat v7, core v2, core v3), and of the
file: mode. No Kafka broker needed.

Schemas: the project's schemas/avro/*.avsc when there are any, else the
fixtures in tests/fixtures/registry/avro (so the suite runs before the
product schemas exist and keeps running on them after).
"""
import hashlib
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, REPO, TestFailure, check, check_eq, run_suite, wait_for  # noqa: E402

import avro.compatibility as avro_compat  # noqa: E402
import avro.schema as avro_schema  # noqa: E402

HL7FLOW = os.path.join(BIN, "hl7flow")
DOUBLE = os.path.join(REPO, "tests", "doubles", "apicurio_double.py")
FIXTURES = os.path.join(REPO, "tests", "fixtures", "registry", "avro")
PROJECT = os.path.join(REPO, "schemas", "avro")
API = {"ccompat": "/apis/ccompat/v7", "apicurio-v2": "/apis/registry/v2",
       "apicurio-v3": "/apis/registry/v3"}


def schema_source():
    if os.path.isdir(PROJECT) and any(f.endswith(".avsc") for f in os.listdir(PROJECT)):
        return PROJECT
    return FIXTURES


def subject_of(name):
    stem = name[:-len(".avsc")]
    return stem if stem.endswith(("-value", "-key")) else stem + "-value"


def copy_schemas(env, tag):
    """A private copy of the schema directory (without .released/)."""
    dst = os.path.join(env.dir, tag)
    shutil.rmtree(dst, ignore_errors=True)
    os.makedirs(dst)
    src = schema_source()
    for f in sorted(os.listdir(src)):
        if f.endswith(".avsc") and not f.startswith("."):
            shutil.copy(os.path.join(src, f), dst)
    return dst


def avsc_files(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".avsc") and not f.startswith("."))


class Double:
    """One apicurio_double.py process on an OS-chosen port."""

    def __init__(self, env, name, *args):
        pf = os.path.join(env.dir, f"{name}.port")
        self.proc = env.start(name, ["/usr/bin/python3", DOUBLE, "--port-file", pf, *args])
        port = wait_for(lambda: os.path.exists(pf) and open(pf).read().strip(), 20,
                        f"{name} port file")
        self.base = f"http://127.0.0.1:{int(port)}"

    def url(self, mode):
        return f"{mode}:{self.base}{API[mode]}"

    def get(self, path):
        import urllib.request
        with urllib.request.urlopen(self.base + path, timeout=10) as r:
            body = r.read().decode()
            return json.loads(body) if body[:1] in "{[" else body

    def state(self):
        return self.get("/_double/state")

    def artifacts(self, group=None):
        return {a["artifactId"]: a for a in self.state()["artifacts"]
                if group is None or a["groupId"] == group}


def schemas(env, *args, extra_env=None, want_rc=0):
    r = env.run([HL7FLOW, "schemas", *args], extra_env=extra_env, check_rc=False)
    out, err = r.stdout.decode(), r.stderr.decode()
    if want_rc is not None and r.returncode != want_rc:
        raise TestFailure(f"hl7flow schemas {' '.join(args)} exited {r.returncode}, want "
                          f"{want_rc}\nstdout: {out[-1500:]}\nstderr: {err[-1500:]}")
    return r.returncode, out, err


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def add_required_field(path, field="visit_number"):
    s = json.load(open(path))
    s["fields"].insert(1, {"name": field, "type": "string"})
    json.dump(s, open(path, "w"), indent=2)


def add_optional_field(path, field="hl7flow_test_note"):
    s = json.load(open(path))
    s["fields"].append({"name": field, "type": ["null", "string"], "default": None})
    json.dump(s, open(path, "w"), indent=2)


# ---- registration in each mode -------------------------------------------

def register_mode(env, mode, group=None):
    dbl = Double(env, f"double-{mode}")
    d = copy_schemas(env, f"schemas-{mode}")
    files = avsc_files(d)
    extra = {"HL7FLOW_REGISTRY_GROUP": group} if group else None
    _, out, _ = schemas(env, "register", "--registry", dbl.url(mode), "--dir", d, extra_env=extra)
    lines = json_lines(out)
    check_eq([x["subject"] for x in lines], [subject_of(f) for f in files], "registered subjects")
    check(all(x["status"] == "registered" and x["compatibility"] == "FULL" for x in lines),
          f"first registration: {lines}")
    arts = dbl.artifacts(group or "default")
    check_eq(sorted(arts), sorted(subject_of(f) for f in files), f"{mode}: artifacts in the double")
    for x in lines:
        art = arts[x["subject"]]
        check_eq(art["rules"], {"COMPATIBILITY": "FULL"}, f"{mode}: rules of {x['subject']}")
        check_eq(len(art["versions"]), 1, f"{mode}: versions of {x['subject']}")
        # the wire id is the contentId, never the globalId
        check_eq(x["id"], art["versions"][0]["contentId"], f"{mode}: id of {x['subject']}")
        check(art["versions"][0]["globalId"] != x["id"], "globalId differs from contentId")
        # the double holds exactly the file's schema
        stored = dbl.get(f"/apis/registry/v2/ids/contentIds/{x['id']}")
        stored = stored if isinstance(stored, str) else json.dumps(stored)
        check_eq(json.loads(stored), json.load(open(os.path.join(d, x["file"]))),
                 f"{mode}: content of id {x['id']}")
    # idempotent
    _, out2, _ = schemas(env, "register", "--registry", dbl.url(mode), "--dir", d, extra_env=extra)
    again = json_lines(out2)
    check(all(x["status"] == "unchanged" for x in again), f"re-registration: {again}")
    check_eq([x["id"] for x in again], [x["id"] for x in lines], "ids on re-registration")
    arts = dbl.artifacts(group or "default")
    check(all(len(a["versions"]) == 1 for a in arts.values()), "no new version on re-registration")
    # lookups through the same mode serve the same ids and texts
    _, out3, _ = schemas(env, "ids", "--registry", dbl.url(mode), "--dir", d, extra_env=extra)
    check_eq({x["subject"]: x["id"] for x in json_lines(out3)},
             {x["subject"]: x["id"] for x in lines}, f"{mode}: latest ids")
    first = lines[0]
    _, text, _ = schemas(env, "fetch", "--registry", dbl.url(mode), str(first["id"]),
                         extra_env=extra)
    check_eq(json.loads(text), json.load(open(os.path.join(d, first["file"]))),
             f"{mode}: fetched schema of id {first['id']}")
    return dbl, d, lines


def test_register_ccompat(env):
    dbl, d, lines = register_mode(env, "ccompat")
    # ccompat view of the same store: latest ids and configs
    for x in lines:
        latest = dbl.get(f"/apis/ccompat/v7/subjects/{x['subject']}/versions/latest")
        check_eq(latest["id"], x["id"], f"ccompat latest id of {x['subject']}")
        cfg = dbl.get(f"/apis/ccompat/v7/config/{x['subject']}")
        check_eq(cfg, {"compatibilityLevel": "FULL"}, f"config of {x['subject']}")
    # the other two modes read the same ids from the same registry
    for mode in ("apicurio-v2", "apicurio-v3"):
        _, out, _ = schemas(env, "ids", "--registry", dbl.url(mode), "--dir", d)
        check_eq({x["subject"]: x["id"] for x in json_lines(out)},
                 {x["subject"]: x["id"] for x in lines}, f"ids through {mode}")


def test_register_apicurio_v2(env):
    register_mode(env, "apicurio-v2")


def test_register_apicurio_v3_in_a_group(env):
    dbl, _, _ = register_mode(env, "apicurio-v3", group="hl7")
    check(not dbl.artifacts("default"), "nothing registered outside group hl7")


def test_same_content_shares_content_id(env):
    dbl = Double(env, "double-shared")
    d = copy_schemas(env, "schemas-shared")
    first = avsc_files(d)[0]
    shutil.copy(os.path.join(d, first), os.path.join(d, "hl7flow.test.copy.avsc"))
    _, out, _ = schemas(env, "register", "--registry", dbl.url("apicurio-v3"), "--dir", d)
    ids = {x["subject"]: x["id"] for x in json_lines(out)}
    check_eq(ids["hl7flow.test.copy-value"], ids[subject_of(first)], "same content, same id")
    arts = dbl.artifacts()
    g1 = arts["hl7flow.test.copy-value"]["versions"][0]["globalId"]
    g2 = arts[subject_of(first)]["versions"][0]["globalId"]
    check(g1 != g2, "each registration has its own globalId")


# ---- incompatible and compatible changes ----------------------------------

def test_incompatible_change_is_refused_everywhere(env):
    d = copy_schemas(env, "schemas-evolve")
    _, out, _ = schemas(env, "release", "--dir", d)
    check(os.path.isdir(os.path.join(d, ".released")), "release created .released/")
    check_eq(avsc_files(os.path.join(d, ".released")), avsc_files(d), "released files")
    target = avsc_files(d)[0]
    subject = subject_of(target)

    doubles = {mode: Double(env, f"double-evolve-{mode}") for mode in API}
    v3_400 = Double(env, "double-evolve-v3-400", "--v3-rule-violation-status", "400")
    for mode, dbl in doubles.items():
        schemas(env, "register", "--registry", dbl.url(mode), "--dir", d)
    schemas(env, "register", "--registry", v3_400.url("apicurio-v3"), "--dir", d)

    add_required_field(os.path.join(d, target))
    # offline check: names the file, the rule, the field
    _, _, err = schemas(env, "check", "--dir", d, want_rc=1)
    check(f"{target} (subject {subject}) breaks FULL compatibility" in err, f"check message: {err}")
    check("BACKWARD (new schema reading data written with the old one)" in err, err)
    check("reader field 'visit_number' is missing in the writer and has no default" in err, err)
    # release refuses, the released copy stays
    schemas(env, "release", "--dir", d, want_rc=1)
    released = json.load(open(os.path.join(d, ".released", target)))
    check("visit_number" not in [f["name"] for f in released["fields"]], "release did not copy")
    # the registries refuse it with their documented status
    want = {"ccompat": "409 error_code 409", "apicurio-v2": "409 error_code 409",
            "apicurio-v3": ": 409 Incompatible artifact"}
    for mode, dbl in doubles.items():
        _, _, err = schemas(env, "register", "--registry", dbl.url(mode), "--dir", d, want_rc=1)
        check(f"schemas register: {subject} ({target}): registry {mode} POST" in err, err)
        check(want[mode] in err, f"{mode}: {err}")
        check_eq(len(dbl.artifacts()[subject]["versions"]), 1, f"{mode}: no version added")
        # online check against the registry's latest version
        _, _, err = schemas(env, "check", "--dir", d, "--registry", dbl.url(mode), want_rc=1)
        check("breaks FULL compatibility with the registry's latest version" in err, err)
    _, _, err = schemas(env, "register", "--registry", v3_400.url("apicurio-v3"), "--dir", d,
                        want_rc=1)
    check(": 400 Incompatible artifact" in err and "causes:" in err, f"v3 3.3+ style: {err}")

    # a compatible change (optional field with a default) is a new version
    shutil.copy(os.path.join(d, ".released", target), os.path.join(d, target))
    add_optional_field(os.path.join(d, target))
    _, out, _ = schemas(env, "check", "--dir", d)
    check("schemas check: ok:" in out, out)
    for mode, dbl in doubles.items():
        old_id = dbl.artifacts()[subject]["versions"][0]["contentId"]
        _, out, _ = schemas(env, "register", "--registry", dbl.url(mode), "--dir", d)
        line = [x for x in json_lines(out) if x["subject"] == subject][0]
        check_eq(line["status"], "registered", f"{mode}: compatible change registered")
        vs = dbl.artifacts()[subject]["versions"]
        check_eq(len(vs), 2, f"{mode}: versions after a compatible change")
        check_eq(line["id"], vs[1]["contentId"], f"{mode}: new id")
        check(line["id"] != old_id, "new content, new id")
        _, out, _ = schemas(env, "ids", "--registry", dbl.url(mode), "--dir", d)
        check_eq({x["subject"]: x["id"] for x in json_lines(out)}[subject], line["id"],
                 f"{mode}: latest id after the change")


# ---- file: mode -------------------------------------------------------------

def file_ids(env, d):
    _, out, _ = schemas(env, "ids", "--registry", f"file:{d}")
    return {x["subject"]: x["id"] for x in json_lines(out)}


def python_file_id(path):
    norm = json.dumps(json.load(open(path)), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    v = int.from_bytes(hashlib.sha256(norm.encode()).digest()[:4], "big") & 0x7FFFFFFF
    return v or 1


def test_file_mode_ids_are_deterministic(env):
    d = copy_schemas(env, "schemas-file")
    a, b = file_ids(env, d), file_ids(env, d)
    check_eq(a, b, "ids across two runs")
    check_eq(sorted(a), [subject_of(f) for f in avsc_files(d)], "subjects")
    check(all(0 < i <= 0x7FFFFFFF for i in a.values()), f"ids are positive int32: {a}")
    # the documented rule, computed independently (schemas without floats
    # or escapes normalize identically in jansson and Python)
    for f in avsc_files(d):
        text = open(os.path.join(d, f)).read()
        if "\\u" not in text:
            check_eq(a[subject_of(f)], python_file_id(os.path.join(d, f)), f"file id of {f}")
    # another path and another layout of the same JSON: same ids
    moved = os.path.join(env.dir, "elsewhere", "avro")
    os.makedirs(moved)
    for f in avsc_files(d):
        json.dump(json.load(open(os.path.join(d, f))), open(os.path.join(moved, f), "w"))
    check_eq(file_ids(env, moved), a, "ids after moving and reformatting")
    # a change of content changes the id of that subject only
    target = avsc_files(moved)[0]
    add_optional_field(os.path.join(moved, target))
    c = file_ids(env, moved)
    check(c[subject_of(target)] != a[subject_of(target)], "changed schema, new id")
    check_eq({k: v for k, v in c.items() if k != subject_of(target)},
             {k: v for k, v in a.items() if k != subject_of(target)}, "other ids unchanged")
    # the released (previous) version stays resolvable by its id
    os.makedirs(os.path.join(moved, ".released"))
    shutil.copy(os.path.join(d, target), os.path.join(moved, ".released", target))
    _, text, _ = schemas(env, "fetch", "--registry", f"file:{moved}", str(a[subject_of(target)]))
    check_eq(json.loads(text), json.load(open(os.path.join(d, target))), "released schema by id")


# ---- errors -----------------------------------------------------------------

def test_registry_errors_are_precise(env):
    dbl = Double(env, "double-errors")
    d = copy_schemas(env, "schemas-errors")
    target = avsc_files(d)[0]
    subject = subject_of(target)
    rc, _, err = schemas(env, "ids", "--registry", dbl.url("ccompat"), "--dir", d, want_rc=1)
    check(f"registry ccompat GET /subjects/{subject}/versions/latest: 404 error_code 40401 "
          f"Subject '{subject}' not found." in err, err)
    rc, _, err = schemas(env, "ids", "--registry", dbl.url("apicurio-v2"), "--dir", d, want_rc=1)
    check(f"registry apicurio-v2 GET /groups/default/artifacts/{subject}/meta: 404 error_code "
          f"404 No artifact with ID '{subject}' in group 'default' was found." in err, err)
    rc, _, err = schemas(env, "fetch", "--registry", dbl.url("apicurio-v3"), "77", want_rc=1)
    check("registry apicurio-v3 GET /ids/contentIds/77: 404" in err, err)
    # nothing listens: transient, exit 3
    from harness import free_port
    port = free_port()
    rc, _, err = schemas(env, "ids", "--registry",
                         f"ccompat:http://127.0.0.1:{port}/apis/ccompat/v7", "--dir", d, want_rc=3)
    check("Couldn't connect to server" in err, err)
    # register needs an HTTP registry; bad settings are usage errors
    schemas(env, "register", "--registry", f"file:{d}", "--dir", d, want_rc=2)
    _, _, err = schemas(env, "ids", "--registry", "http://127.0.0.1:1/", "--dir", d, want_rc=2)
    check("cannot tell the API" in err, err)
    # an invalid schema is not sent
    with open(os.path.join(d, target), "w") as f:
        f.write('{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nope"}]}')
    _, _, err = schemas(env, "register", "--registry", dbl.url("ccompat"), "--dir", d, want_rc=1)
    check(f"{target}: invalid schema, not sent" in err and "unknown type 'nope'" in err, err)
    check(subject not in dbl.artifacts(), "invalid schema not registered")


# ---- the C checker agrees with python3-avro's ----------------------------

def rec(*fields, name="R"):
    return {"type": "record", "name": name, "namespace": "t", "fields": list(fields)}


def fld(name, typ, **kw):
    return dict({"name": name, "type": typ}, **kw)


ENUM2 = {"type": "enum", "name": "E", "symbols": ["A", "B"]}
ENUM3 = {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}
EVOLUTIONS = [
    ("same", rec(fld("a", "string")), rec(fld("a", "string"))),
    ("add optional field", rec(fld("a", "string"), fld("b", ["null", "int"], default=None)),
     rec(fld("a", "string"))),
    ("add required field", rec(fld("a", "string"), fld("b", "int")), rec(fld("a", "string"))),
    ("remove field", rec(fld("a", "string")), rec(fld("a", "string"), fld("b", "int"))),
    ("remove defaulted field", rec(fld("a", "string")),
     rec(fld("a", "string"), fld("b", "int", default=0))),
    ("int to long", rec(fld("n", "long")), rec(fld("n", "int"))),
    ("long to int", rec(fld("n", "int")), rec(fld("n", "long"))),
    ("float to double", rec(fld("n", "double")), rec(fld("n", "float"))),
    ("string to bytes", rec(fld("s", "bytes")), rec(fld("s", "string"))),
    ("string to int", rec(fld("s", "int")), rec(fld("s", "string"))),
    ("make optional", rec(fld("a", ["null", "string"], default=None)), rec(fld("a", "string"))),
    ("widen union", rec(fld("a", ["null", "string", "long"], default=None)),
     rec(fld("a", ["null", "string"], default=None))),
    ("enum add symbol", rec(fld("e", ENUM3)), rec(fld("e", ENUM2))),
    ("array items int to long", rec(fld("x", {"type": "array", "items": "long"})),
     rec(fld("x", {"type": "array", "items": "int"}))),
    ("map values change", rec(fld("x", {"type": "map", "values": "int"})),
     rec(fld("x", {"type": "map", "values": "string"}))),
    ("fixed size", rec(fld("f", {"type": "fixed", "name": "F", "size": 8})),
     rec(fld("f", {"type": "fixed", "name": "F", "size": 4}))),
    ("nested record field added", rec(fld("p", rec(fld("x", "int"), fld("y", "int"), name="P"))),
     rec(fld("p", rec(fld("x", "int"), name="P")))),
    ("field renamed with alias", rec(fld("b", "string", aliases=["a"])), rec(fld("a", "string"))),
]


def python_levels(new, old):
    n, o = avro_schema.parse(json.dumps(new)), avro_schema.parse(json.dumps(old))

    def reads(r, w):
        res = avro_compat.ReaderWriterCompatibilityChecker().get_compatibility(r, w)
        return res.compatibility is avro_compat.SchemaCompatibilityType.compatible

    b, f = reads(n, o), reads(o, n)
    return {"BACKWARD": b, "FORWARD": f, "FULL": b and f}


def test_c_checker_agrees_with_python_avro(env):
    d = os.path.join(env.dir, "evolutions")
    os.makedirs(d)
    disagreements = []
    for i, (what, new, old) in enumerate(EVOLUTIONS):
        pn, po = os.path.join(d, f"{i}-new.avsc"), os.path.join(d, f"{i}-old.avsc")
        json.dump(new, open(pn, "w"))
        json.dump(old, open(po, "w"))
        want = python_levels(new, old)
        for level, ok in want.items():
            rc, out, err = schemas(env, "compat", "--level", level, pn, po, want_rc=None)
            check(rc in (0, 1), f"{what}: compat exited {rc}: {err}")
            if (rc == 0) != ok:
                disagreements.append(f"{what} {level}: C says {rc == 0}, python-avro {ok}: {out}")
            if rc == 1:
                check(out.startswith(f"incompatible ({level}): "), out)
    check(not disagreements, "; ".join(disagreements))
    # the evolutions cover both outcomes of every level
    outcomes = {(lvl, ok) for _, n, o in EVOLUTIONS for lvl, ok in python_levels(n, o).items()}
    check_eq(len(outcomes), 6, "every level seen compatible and incompatible")


def test_schema_directory_passes_check(env):
    """`schemas check` on the project's schemas (or the fixtures before
    they exist) and on every released copy: what `make test` enforces."""
    src = schema_source()
    _, out, _ = schemas(env, "check", "--dir", src)
    check(out.startswith("schemas check: ok: "), out)
    n = len(avsc_files(src))
    check(f"ok: {n} schemas valid" in out, out)
    if src == FIXTURES:
        print("# test_registry: schemas/avro has no .avsc yet; checked the fixtures", flush=True)


if __name__ == "__main__":
    run_suite("registry", [
        test_register_ccompat,
        test_register_apicurio_v2,
        test_register_apicurio_v3_in_a_group,
        test_same_content_shares_content_id,
        test_incompatible_change_is_refused_everywhere,
        test_file_mode_ids_are_deterministic,
        test_registry_errors_are_precise,
        test_c_checker_agrees_with_python_avro,
        test_schema_directory_passes_check,
    ], needs_broker=False)
