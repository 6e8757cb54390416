#!/usr/bin/python3
"""Integration tests of the facility directory (common/src/facility_*.c)
through `hl7flow facilities check|show|watch`, against files and the real
PostgreSQL the harness starts (scripts/pg.sh) with scripts/sql/facilities.sql
applied.

What they prove: the shipped dev data loads; a file rewrite, an atomic
rename and a Kubernetes ConfigMap symlink swap each reload, and a broken
file keeps the old table; the SQL table gives the same facilities as the
file; INSERT/UPDATE/DELETE reload through NOTIFY within a second even with a
60 s poll interval; a row the loader refuses keeps the old table; with
PostgreSQL stopped every retry fails and the table is kept, and after a
restart the watcher reconnects, LISTENs again and reloads on the next change.
No Kafka broker needed.
"""
import calendar
import json
import os
import shutil
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import BIN, REPO, TestFailure, check, check_eq, run_suite, wait_for  # noqa: E402

HL7FLOW = os.path.join(BIN, "hl7flow")
DEV = os.path.join(REPO, "config", "facilities.dev.json")
DDL = os.path.join(REPO, "scripts", "sql", "facilities.sql")
PG_SH = os.path.join(REPO, "scripts", "pg.sh")


def dsn(env):
    with open(os.path.join(env.pg_dir, "dsn")) as f:
        return f.read().strip()


def psql(env, sql, check_rc=True):
    r = subprocess.run(["psql", dsn(env), "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    if check_rc and r.returncode != 0:
        raise TestFailure(f"psql {sql[:80]!r}: {r.stderr.decode()}")
    return r


def facilities(env, *args, want_rc=0):
    r = env.run([HL7FLOW, "facilities", *args], check_rc=False, timeout=60)
    if want_rc is not None and r.returncode != want_rc:
        raise TestFailure(f"hl7flow facilities {' '.join(args)} exited {r.returncode}, want {want_rc}: "
                          f"{r.stderr.decode()[-1500:]}")
    return r.stdout.decode(), r.stderr.decode()


def sql_literal(s):
    return "NULL" if s is None else "'" + s.replace("'", "''") + "'"


def insert_sql(f):
    systems = "ARRAY[" + ",".join(sql_literal(s) for s in f.get("source_systems", [])) + "]::text[]"
    attrs = sql_literal(json.dumps(f.get("attributes", {}), ensure_ascii=False))
    cols = ["facility_id", "name", "organization", "npi", "time_zone", "region"]
    vals = [sql_literal(f.get(c)) for c in cols]
    return (f"INSERT INTO hl7flow_facility ({', '.join(cols)}, source_systems, attributes) "
            f"VALUES ({', '.join(vals)}, {systems}, {attrs}::jsonb)")


def apply_schema(env):
    r = subprocess.run(["psql", dsn(env), "-v", "ON_ERROR_STOP=1", "-q", "-f", DDL],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    check_eq(r.returncode, 0, f"apply facilities.sql: {r.stderr.decode()}")


def load_dev_into_pg(env):
    apply_schema(env)
    psql(env, "TRUNCATE hl7flow_facility")
    doc = json.load(open(DEV))
    psql(env, "BEGIN; " + "; ".join(insert_sql(f) for f in doc["facilities"]) + "; COMMIT")
    return len(doc["facilities"])


class Watch:
    """One `hl7flow facilities watch` process and its JSON log lines."""

    def __init__(self, env, name, source, *args):
        self.proc = env.start(name, [HL7FLOW, "facilities", "watch", source, *args])
        self.seen = 0
        self.wait("facilities_loaded", 30)

    def events(self):
        return [e for e in self.proc.log_events() if "event" in e]

    def wait(self, event, timeout):
        """The next line with @event after the ones already returned."""
        def find():
            evs = self.events()
            for i in range(self.seen, len(evs)):
                if evs[i]["event"] == event:
                    self.seen = i + 1
                    return evs[i]
            if not self.proc.alive():
                raise TestFailure(f"watch exited: {self.proc.output()[-1500:]}")
            return None
        return wait_for(find, timeout, f"{event} from {self.proc.name}", interval=0.02)

    def none_since(self, event):
        return [e for e in self.events()[self.seen:] if e["event"] == event] == []

    def stop(self):
        rc = self.proc.term()
        check_eq(rc, 0, f"{self.proc.name} exit status after SIGTERM")
        check(self.events()[-1]["event"] == "facilities_watch_stopped", "last line says stopped")


def event_age(ev, since):
    """Seconds from @since (time.time()) to the event's own timestamp."""
    ts = ev["ts"]  # 2026-01-02T03:04:05.678Z
    t = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    return t + float("0" + ts[19:-1]) - since


# ---- files -----------------------------------------------------------------

def test_check_dev_data_and_errors(env):
    out, _ = facilities(env, "check", DEV)
    summary = json.loads(out)
    check_eq(summary["facilities"], 26, "dev facilities")
    check_eq((summary["kind"], summary["with_time_zone"], summary["with_npi"]), ("file", 26, 25),
             "dev summary")
    out, _ = facilities(env, "show", DEV, "HOSP_P", "HOSP_K")
    shown = [json.loads(x) for x in out.splitlines()]
    check_eq([f["facility_id"] for f in shown], ["HOSP_P", "HOSP_K"], "show order")
    check_eq(shown[0]["name"], "Franklin General Hospital", "HOSP_P name (as hl7flow gen names it)")
    check_eq(shown[1]["npi"], None, "the non-US facility has no NPI")

    bad = os.path.join(env.dir, "bad.json")
    doc = json.load(open(DEV))
    doc["facilities"][3]["time_zone"] = "America/Springfield"
    json.dump(doc, open(bad, "w"))
    _, err = facilities(env, "check", bad, want_rc=1)
    check("facilities[3] (HOSP_D): time_zone: \"America/Springfield\": unknown time zone" in err, err)
    _, err = facilities(env, "check", "postgresql://u:hunter2@127.0.0.1:1/x", want_rc=2)
    check("password" in err and "hunter2" not in err, err)
    _, err = facilities(env, "check", "host=127.0.0.1 port=1 dbname=x", "--timeout-s", "3", want_rc=1)
    check("postgres host=127.0.0.1 port=1 dbname=x: cannot connect" in err, err)


def test_file_watch_reloads_and_keeps_the_table_on_errors(env):
    path = os.path.join(env.dir, "facilities.json")
    shutil.copy(DEV, path)
    w = Watch(env, "watch-file", path, "--poll-ms", "200")
    doc = json.load(open(DEV))

    # atomic replace (new inode) with one more facility
    doc["facilities"].append({"facility_id": "HOSP_NEW", "time_zone": "America/Chicago"})
    with open(path + ".tmp", "w") as f:
        json.dump(doc, f)
    os.rename(path + ".tmp", path)
    check_eq(w.wait("facilities_reloaded", 10)["facilities"], 27, "count after adding one")

    # half-written file: failed reload, the 27 stay
    with open(path, "w") as f:
        f.write(json.dumps(doc)[:100])
    ev = w.wait("facilities_reload_failed", 10)
    check_eq(ev["facilities"], 27, "table kept after a broken file")
    check(path in ev["error"] and "line 1" in ev["error"], ev["error"])

    # fixed in place with a change: reload
    doc["facilities"] = doc["facilities"][:10]
    with open(path, "w") as f:
        json.dump(doc, f)
    check_eq(w.wait("facilities_reloaded", 10)["facilities"], 10, "count after the fix")
    w.stop()


def test_configmap_symlink_swap_reloads(env):
    # The layout kubelet gives a ConfigMap volume: KEY -> ..data/KEY,
    # ..data -> ..<timestamp>; an update renames a new ..data over the old.
    cm = os.path.join(env.dir, "cm")
    os.makedirs(os.path.join(cm, "..v1"))
    os.makedirs(os.path.join(cm, "..v2"))
    doc = json.load(open(DEV))
    json.dump(doc, open(os.path.join(cm, "..v1", "facilities.json"), "w"))
    doc["facilities"][0]["name"] = "Springfield General Hospital (renamed)"
    json.dump(doc, open(os.path.join(cm, "..v2", "facilities.json"), "w"))
    os.symlink("..v1", os.path.join(cm, "..data"))
    os.symlink("..data/facilities.json", os.path.join(cm, "facilities.json"))
    src = "file:" + os.path.join(cm, "facilities.json")
    w = Watch(env, "watch-cm", src, "--poll-ms", "200")
    time.sleep(0.5)
    check(w.none_since("facilities_reloaded"), "no reload without a change")
    os.symlink("..v2", os.path.join(cm, "..data_tmp"))
    os.rename(os.path.join(cm, "..data_tmp"), os.path.join(cm, "..data"))
    check_eq(w.wait("facilities_reloaded", 10)["facilities"], 26, "count after the swap")
    w.stop()
    out, _ = facilities(env, "show", src, "HOSP_A")
    check_eq(json.loads(out)["name"], "Springfield General Hospital (renamed)", "new content")


# ---- PostgreSQL ------------------------------------------------------------

def test_sql_schema_is_idempotent_and_guards_rows(env):
    apply_schema(env)
    apply_schema(env)
    psql(env, "TRUNCATE hl7flow_facility")
    refused = {
        "bad NPI": "INSERT INTO hl7flow_facility (facility_id, npi) VALUES ('X', '1234567890')",
        "unknown zone": "INSERT INTO hl7flow_facility (facility_id, time_zone) VALUES ('X', 'Mars/Base')",
        "number attribute": "INSERT INTO hl7flow_facility (facility_id, attributes) VALUES ('X', '{\"beds\": 5}')",
        "array attributes": "INSERT INTO hl7flow_facility (facility_id, attributes) VALUES ('X', '[]')",
        "repeated system": "INSERT INTO hl7flow_facility (facility_id, source_systems) VALUES ('X', '{A,A}')",
        "empty id": "INSERT INTO hl7flow_facility (facility_id) VALUES ('')",
    }
    for what, sql in refused.items():
        r = psql(env, sql, check_rc=False)
        check(r.returncode != 0 and b"violates check constraint" in r.stderr, f"{what}: {r.stderr!r}")
    psql(env, "INSERT INTO hl7flow_facility (facility_id, npi, time_zone) VALUES ('OK', '1234567893', 'UTC')")
    check_eq(psql(env, "SELECT count(*) FROM hl7flow_facility").stdout.decode().strip(), "1", "rows")


def test_postgres_gives_the_same_facilities_as_the_file(env):
    n = load_dev_into_pg(env)
    out, _ = facilities(env, "check", dsn(env))
    summary = json.loads(out)
    check_eq((summary["kind"], summary["facilities"]), ("postgres", n), "PostgreSQL summary")
    check("password" not in summary["source"], summary["source"])
    from_pg, _ = facilities(env, "show", dsn(env))
    from_file, _ = facilities(env, "show", DEV)
    key = lambda line: json.loads(line)["facility_id"]  # noqa: E731 - the table orders by id
    check_eq(sorted(from_pg.splitlines(), key=key), sorted(from_file.splitlines(), key=key),
             "facilities from PostgreSQL vs the file")
    _, err = facilities(env, "check", dsn(env), "--table", "no_such_table", want_rc=1)
    check("table no_such_table" in err and "does not exist" in err, err)


def test_notify_reloads_within_a_second(env):
    n = load_dev_into_pg(env)
    w = Watch(env, "watch-pg", dsn(env), "--poll-ms", "60000")
    changes = [
        ("UPDATE hl7flow_facility SET region = 'us-north' WHERE facility_id = 'HOSP_A'", n),
        ("INSERT INTO hl7flow_facility (facility_id, name) VALUES ('HOSP_ZZ', 'Added')", n + 1),
        ("DELETE FROM hl7flow_facility WHERE facility_id IN ('HOSP_ZZ', 'HOSP_Y')", n - 1),
    ]
    for sql, want in changes:
        psql(env, sql)
        done = time.time()
        ev = w.wait("facilities_reloaded", 10)
        check_eq(ev["facilities"], want, f"count after {sql[:30]}")
        age = event_age(ev, done)
        check(age < 1.0, f"reload {age:.2f}s after {sql[:30]} (want < 1 s)")

    # a bare NOTIFY without a change re-reads but reloads nothing
    psql(env, "NOTIFY hl7flow_facility")
    time.sleep(1.0)
    check(w.none_since("facilities_reloaded") and w.none_since("facilities_reload_failed"),
          "no reload for an unchanged table")

    # a row the loader refuses (PostgreSQL takes the POSIX zone, ICU does not):
    # failed reload naming the row, the old table stays
    psql(env, "INSERT INTO hl7flow_facility (facility_id, time_zone) VALUES ('HOSP_BAD', 'FOO+3')")
    ev = w.wait("facilities_reload_failed", 5)
    check("(HOSP_BAD): time_zone" in ev["error"], ev["error"])
    check_eq(ev["facilities"], n - 1, "table kept after a refused row")
    psql(env, "UPDATE hl7flow_facility SET time_zone = 'America/Denver' WHERE facility_id = 'HOSP_BAD'")
    check_eq(w.wait("facilities_reloaded", 5)["facilities"], n, "count after the fix")
    w.stop()


def test_postgres_outage_keeps_the_table_and_recovers(env):
    n = load_dev_into_pg(env)
    w = Watch(env, "watch-outage", dsn(env), "--poll-ms", "60000")
    subprocess.run([PG_SH, "pause", env.pg_dir], check=True, timeout=60)
    try:
        first = w.wait("facilities_reload_failed", 10)
        second = w.wait("facilities_reload_failed", 10)  # retried with backoff
        for ev in (first, second):
            check_eq(ev["facilities"], n, "table kept while PostgreSQL is down")
            check("postgres host=127.0.0.1" in ev["error"], ev["error"])
        _, err = facilities(env, "check", dsn(env), "--timeout-s", "3", want_rc=1)
        check("cannot connect" in err, err)
    finally:
        subprocess.run([PG_SH, "resume", env.pg_dir], check=True, timeout=60)
    check_eq(w.wait("facilities_recovered", 30)["facilities"], n, "recovered with the same table")
    # LISTEN is back on the new connection: a change reloads at once
    psql(env, "UPDATE hl7flow_facility SET name = 'After outage' WHERE facility_id = 'HOSP_C'")
    done = time.time()
    ev = w.wait("facilities_reloaded", 10)
    check(event_age(ev, done) < 1.0, "reload after the outage came through NOTIFY")
    w.stop()


if __name__ == "__main__":
    run_suite("facilities", [
        test_check_dev_data_and_errors,
        test_file_watch_reloads_and_keeps_the_table_on_errors,
        test_configmap_symlink_swap_reloads,
        test_sql_schema_is_idempotent_and_guards_rows,
        test_postgres_gives_the_same_facilities_as_the_file,
        test_notify_reloads_within_a_second,
        test_postgres_outage_keeps_the_table_and_recovers,
    ], needs_broker=False, needs_postgres=True)
