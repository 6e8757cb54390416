-- facilities.sql - the PostgreSQL form of the facility directory that the
-- enricher reads (common/src/facility_pg.c, docs/internals/facilities.md).
--
-- One row per facility, the same fields as the JSON file. The constraints
-- catch at INSERT time what the loader would refuse later (a bad row makes
-- a reload fail and the enricher keeps its previous table): NPI check
-- digit, known time zone (by PostgreSQL's own tz data; the enricher checks
-- again with ICU's), string-only attributes, distinct non-empty source
-- systems. A statement-level trigger sends one NOTIFY on channel
-- hl7flow_facility per changing statement, so every enricher reloads at
-- once; they also re-read every HL7FLOW poll interval in case a
-- notification is lost (e.g. while the connection was down).
--
-- Idempotent: safe to run on every deploy. Needs PostgreSQL 11 or later.
-- Apply with: psql "$DSN" -v ON_ERROR_STOP=1 -f scripts/sql/facilities.sql

SET client_min_messages = warning;

BEGIN;

-- CMS NPI check digit: Luhn over '80840' followed by the ten NPI digits.
CREATE OR REPLACE FUNCTION hl7flow_npi_valid(npi text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    digits text := '80840' || npi;
    total int := 0;
    d int;
BEGIN
    IF npi !~ '^[0-9]{10}$' THEN
        RETURN false;
    END IF;
    FOR k IN 0..14 LOOP  -- k = position from the right
        d := substr(digits, 15 - k, 1)::int;
        IF k % 2 = 1 THEN
            d := d * 2;
            IF d > 9 THEN d := d - 9; END IF;
        END IF;
        total := total + d;
    END LOOP;
    RETURN total % 10 = 0;
END $$;

-- True when the name looks like a tz database name (Area/Location, UTC,
-- EST5EDT...) and PostgreSQL can use it. PostgreSQL also accepts POSIX
-- strings such as 'FOO+3' that are no IANA name; the enricher's check (ICU)
-- refuses those, so this is a first line, not the last word. Declared
-- IMMUTABLE so a CHECK may use it; it depends only on the installed tz data.
CREATE OR REPLACE FUNCTION hl7flow_time_zone_valid(tz text) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
BEGIN
    IF tz !~ '^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$' THEN
        RETURN false;
    END IF;
    PERFORM now() AT TIME ZONE tz;
    RETURN true;
EXCEPTION WHEN invalid_parameter_value THEN
    RETURN false;
END $$;

-- Attributes: a JSON object whose values are all strings, keys non-empty.
CREATE OR REPLACE FUNCTION hl7flow_facility_attributes_valid(a jsonb) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT jsonb_typeof(a) = 'object'
       AND NOT EXISTS (SELECT 1 FROM jsonb_each(a) e
                       WHERE jsonb_typeof(e.value) <> 'string' OR e.key = '')
$$;

-- Source systems: no NULL, no empty string, no duplicates.
CREATE OR REPLACE FUNCTION hl7flow_facility_systems_valid(s text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT array_position(s, NULL) IS NULL
       AND array_position(s, '') IS NULL
       AND cardinality(s) = (SELECT count(DISTINCT x) FROM unnest(s) x)
       AND cardinality(s) <= 256
$$;

CREATE TABLE IF NOT EXISTS hl7flow_facility (
    facility_id    text PRIMARY KEY
                   CHECK (facility_id <> '' AND octet_length(facility_id) <= 256
                          AND facility_id !~ '[[:cntrl:]]'),
    name           text,
    organization   text,
    npi            text CHECK (npi IS NULL OR npi = '' OR hl7flow_npi_valid(npi)),
    time_zone      text CHECK (time_zone IS NULL OR time_zone = '' OR hl7flow_time_zone_valid(time_zone)),
    region         text,
    source_systems text[] NOT NULL DEFAULT '{}' CHECK (hl7flow_facility_systems_valid(source_systems)),
    attributes     jsonb NOT NULL DEFAULT '{}' CHECK (hl7flow_facility_attributes_valid(attributes)),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE hl7flow_facility IS
    'Facility metadata for the hl7flow enricher (docs/internals/facilities.md); changes NOTIFY hl7flow_facility';

CREATE OR REPLACE FUNCTION hl7flow_facility_touch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION hl7flow_facility_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    -- One notification per statement; PostgreSQL folds identical ones
    -- within a transaction, so a bulk load notifies once at COMMIT.
    PERFORM pg_notify('hl7flow_facility', '');
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS hl7flow_facility_touch ON hl7flow_facility;
CREATE TRIGGER hl7flow_facility_touch
    BEFORE UPDATE ON hl7flow_facility
    FOR EACH ROW EXECUTE FUNCTION hl7flow_facility_touch();

DROP TRIGGER IF EXISTS hl7flow_facility_notify ON hl7flow_facility;
CREATE TRIGGER hl7flow_facility_notify
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON hl7flow_facility
    FOR EACH STATEMENT EXECUTE FUNCTION hl7flow_facility_notify();

COMMIT;
