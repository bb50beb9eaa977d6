/// patchsync's tables in one schema, created and upgraded by numbered migrations.
///
/// Several instances may start at once: each takes a transaction-level advisory lock before
/// reading which migrations are applied, so exactly one applies each migration.
struct PostgresSchema {
    let name: String

    /// The unique index that lets each `(client, id)` be logged once per document.
    var actionOnceIndex: String { "events_action_once" }

    /// Channel of `NOTIFY`s for committed events: payload `VERSION:DOCUMENT`.
    var eventsChannel: String { name + "_events" }
    /// Channel of `NOTIFY`s for rows inserted into the inbox.
    var inboxChannel: String { name + "_inbox" }

    func migrate(_ connection: PostgresConnection) throws(PostgresError) {
        try connection.executeScript(
            """
            BEGIN;
            SELECT pg_advisory_xact_lock(hashtext('patchsync migrations ' || '\(name)'));
            CREATE SCHEMA IF NOT EXISTS \(name);
            CREATE TABLE IF NOT EXISTS \(name).migrations (
                version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
            COMMIT;
            """)
        for (index, migration) in migrations.enumerated() {
            let version = index + 1
            try connection.executeScript("BEGIN")
            do throws(PostgresError) {
                try connection.execute("SELECT pg_advisory_xact_lock(hashtext('patchsync migrations ' || $1))", [name])
                let applied = try connection.execute("SELECT 1 FROM \(name).migrations WHERE version = $1", ["\(version)"])
                if applied.rows.isEmpty {
                    try connection.executeScript(migration)
                    try connection.execute("INSERT INTO \(name).migrations (version) VALUES ($1)", ["\(version)"])
                }
                try connection.executeScript("COMMIT")
            } catch {
                try? connection.executeScript("ROLLBACK")
                throw error
            }
        }
    }

    /// `apply_patch(doc, ops)` (RFC 6902 in SQL) and `current_state(document)`: the exact state
    /// at the latest version, `documents.state` plus the events after `state_version`.
    private var jsonPatchFunctions: String {
        """
        CREATE FUNCTION \(name).pointer_path(pointer text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
            SELECT coalesce(array_agg(replace(replace(part, '~1', '/'), '~0', '~') ORDER BY position), '{}')
            FROM unnest((string_to_array(pointer, '/'))[2:]) WITH ORDINALITY AS parts (part, position)
        $$;
        CREATE FUNCTION \(name).pointer_add(doc jsonb, path text[], value jsonb) RETURNS jsonb
        LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE
            parent jsonb;
            last text;
        BEGIN
            IF cardinality(path) = 0 THEN RETURN value; END IF;
            parent := doc #> path[1:cardinality(path) - 1];
            last := path[cardinality(path)];
            IF jsonb_typeof(parent) <> 'array' THEN RETURN jsonb_set(doc, path, value, true); END IF;
            IF last = '-' OR last::int = jsonb_array_length(parent) THEN
                RETURN jsonb_set(doc, path[1:cardinality(path) - 1], parent || jsonb_build_array(value));
            END IF;
            RETURN jsonb_insert(doc, path, value);
        END $$;
        CREATE FUNCTION \(name).apply_patch(doc jsonb, ops jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE
            op jsonb;
            path text[];
            source text[];
        BEGIN
            FOR op IN SELECT value FROM jsonb_array_elements(ops) LOOP
                path := \(name).pointer_path(op->>'path');
                source := \(name).pointer_path(op->>'from');
                CASE op->>'op'
                    WHEN 'add' THEN doc := \(name).pointer_add(doc, path, op->'value');
                    WHEN 'remove' THEN doc := doc #- path;
                    WHEN 'replace' THEN
                        doc := CASE WHEN cardinality(path) = 0 THEN op->'value' ELSE jsonb_set(doc, path, op->'value') END;
                    WHEN 'move' THEN doc := \(name).pointer_add(doc #- source, path, doc #> source);
                    WHEN 'copy' THEN doc := \(name).pointer_add(doc, path, doc #> source);
                    ELSE NULL;  -- test: the engine checked it when the event was made
                END CASE;
            END LOOP;
            RETURN doc;
        END $$;
        CREATE FUNCTION \(name).current_state(document_name text) RETURNS jsonb LANGUAGE plpgsql STABLE AS $$
        DECLARE
            result jsonb;
            base bigint;
            event record;
        BEGIN
            SELECT state, state_version INTO result, base FROM \(name).documents WHERE name = document_name;
            IF NOT FOUND THEN RETURN NULL; END IF;
            FOR event IN
                SELECT ops FROM \(name).events WHERE document = document_name AND version > base ORDER BY version
            LOOP
                result := \(name).apply_patch(result, event.ops);
            END LOOP;
            RETURN result;
        END $$;
        """
    }

    /// Each entry runs once, in order, inside a transaction. Append only; never edit a shipped one.
    private var migrations: [String] {
        [
            """
            CREATE TABLE \(name).documents (
                name text PRIMARY KEY,
                version bigint NOT NULL CHECK (version >= 0),
                state jsonb NOT NULL,
                state_version bigint NOT NULL CHECK (state_version <= version),
                updated_at timestamptz NOT NULL DEFAULT now()
            );
            CREATE TABLE \(name).events (
                document text NOT NULL REFERENCES \(name).documents (name),
                version bigint NOT NULL CHECK (version > 0),
                time timestamptz NOT NULL,
                action jsonb NOT NULL,
                ops jsonb NOT NULL,
                PRIMARY KEY (document, version)
            );
            CREATE TABLE \(name).snapshots (
                document text NOT NULL REFERENCES \(name).documents (name),
                version bigint NOT NULL,
                state jsonb NOT NULL,
                PRIMARY KEY (document, version)
            );
            CREATE FUNCTION \(name).refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'patchsync events are immutable: % refused', TG_OP
                    USING ERRCODE = 'restrict_violation';
            END $$;
            CREATE TRIGGER events_are_immutable BEFORE UPDATE OR DELETE ON \(name).events
                FOR EACH ROW EXECUTE FUNCTION \(name).refuse_event_change();
            CREATE TRIGGER events_are_not_truncated BEFORE TRUNCATE ON \(name).events
                FOR EACH STATEMENT EXECUTE FUNCTION \(name).refuse_event_change();
            CREATE TABLE \(name).inbox (
                id bigserial PRIMARY KEY,
                document text NOT NULL CHECK (document ~ '^[A-Za-z0-9_-]{1,64}$'),
                action jsonb NOT NULL,
                submitted_at timestamptz NOT NULL DEFAULT now(),
                applied_at timestamptz,
                version bigint,
                error_code text,
                error_message text
            );
            CREATE INDEX inbox_pending ON \(name).inbox (id) WHERE applied_at IS NULL;
            CREATE FUNCTION \(name).announce_inbox_row() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('\(inboxChannel)', NEW.id::text);
                RETURN NULL;
            END $$;
            CREATE TRIGGER inbox_row_announced AFTER INSERT ON \(name).inbox
                FOR EACH ROW EXECUTE FUNCTION \(name).announce_inbox_row();
            \(jsonPatchFunctions)
            """,
            // What the exactly-once rule and history need of each event (protocol work, issue 13);
            // null in events written before it.
            """
            ALTER TABLE \(name).events
                ADD COLUMN schema integer CHECK (schema >= 1),
                ADD COLUMN client text,
                ADD COLUMN action_id jsonb,
                ADD COLUMN digest text,
                ADD COLUMN session_name text;
            """,
            // Exactly-once across instances: two instances that apply one resent action at the
            // same moment cannot both log it, whatever each one remembers. Events an earlier
            // release logged twice that way stay (the table is immutable) and must not stop the
            // migration: the index then covers only the events after the last of them (older
            // resends are still found by reading the table first).
            """
            DO $migration$
            DECLARE
                cutoff timestamptz;
            BEGIN
                SELECT max(time) INTO cutoff FROM (
                    SELECT time, count(*) OVER (PARTITION BY document, client, action_id) AS copies
                    FROM \(name).events WHERE client IS NOT NULL AND action_id IS NOT NULL
                ) AS logged WHERE copies > 1;
                EXECUTE format(
                    'CREATE UNIQUE INDEX \(actionOnceIndex) ON \(name).events (document, client, action_id) '
                    'WHERE client IS NOT NULL AND action_id IS NOT NULL%s',
                    CASE WHEN cutoff IS NULL THEN '' ELSE format(' AND time > %L::timestamptz', cutoff) END);
            END $migration$;
            """,
            // documents.state compressed with lz4 rather than pglz: the rewrite holds the row, and
            // so the commits waiting for it, about 3 ms less for 10,000 rows. Where the server
            // lacks lz4 (before 14, or built without it) pglz stays.
            """
            DO $migration$
            BEGIN
                IF current_setting('server_version_num')::integer >= 140000 THEN
                    EXECUTE 'ALTER TABLE \(name).documents ALTER COLUMN state SET COMPRESSION lz4';
                END IF;
            EXCEPTION WHEN feature_not_supported THEN
                NULL;
            END $migration$;
            """,
            // Declared document types (issue 21): the model each event and document was written
            // as; null for the engine's own model (the Todo list), as every row before this one.
            """
            ALTER TABLE \(name).events ADD COLUMN model text;
            ALTER TABLE \(name).documents ADD COLUMN model text;
            """,
            // Who made each change (issue 22): the `sub` of the signed token, null before and for
            // static tokens. An inbox row may name its author for the event it becomes.
            """
            ALTER TABLE \(name).events ADD COLUMN IF NOT EXISTS author text;
            ALTER TABLE \(name).inbox ADD COLUMN IF NOT EXISTS author text;
            """,
            // apply_patch as RFC 6902 says: the first one did nothing when adding to a top-level
            // array (jsonb_set on the empty path returns the document unchanged), and took a
            // missing member or a bad index for a no-op instead of an error.
            rfc6902Functions,
            // The inbox under a bulk INSERT (issue 19): one notification per document and
            // statement instead of one per row, and a lease (`claimed_by` until `claimed_until`)
            // that a sweep takes before handing rows over, so that each row is worked on by one
            // instance while others skip it, and a document's rows by one instance at a time
            // (two interleaving on one document would each decode its state again for every
            // row, after the other's commit). The applying transaction still claims the row
            // (`FOR UPDATE SKIP LOCKED`, `applied_at IS NULL`): a lease that ran out costs work,
            // never a second application.
            """
            ALTER TABLE \(name).inbox ADD COLUMN claimed_by bigint, ADD COLUMN claimed_until timestamptz;
            CREATE INDEX inbox_claims ON \(name).inbox (document, claimed_until) WHERE applied_at IS NULL;
            DROP TRIGGER inbox_row_announced ON \(name).inbox;
            DROP FUNCTION \(name).announce_inbox_row();
            CREATE FUNCTION \(name).announce_inbox_rows() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM pg_notify('\(inboxChannel)', document) FROM (SELECT DISTINCT document FROM new_rows) AS added;
                RETURN NULL;
            END $$;
            CREATE TRIGGER inbox_rows_announced AFTER INSERT ON \(name).inbox
                REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION \(name).announce_inbox_rows();
            """,
            // A document's inbox stays with one instance during a storm (issue 19): between two
            // of its batches every row it held is applied, and another instance sweeping in that
            // moment took the next batch, so two instances alternated on one document. The
            // listener's sweep now also respects the live leases of applied rows (see
            // `PostgresListener.sweepInbox`), which this index serves.
            """
            CREATE INDEX inbox_leases ON \(name).inbox (document, claimed_until) WHERE claimed_until IS NOT NULL;
            """,
        ]
    }

    /// Inserts the events of `$2`, a JSON array of `DocumentEvent.jsonValue` objects (log lines
    /// too: their `format` is not kept), for document `$1`.
    var insertEvents: String {
        """
        INSERT INTO \(name).events (
            document, version, time, action, ops, schema, client, action_id, digest, session_name, model, author)
        SELECT $1, (e->>'version')::bigint, to_timestamp((e->>'time')::bigint / 1000.0), e->'action', e->'ops',
            (e->>'schema')::integer, e->>'client', e->'id', e->>'digest', e->>'name', e->>'model', e->>'author'
        FROM jsonb_array_elements($2::jsonb) AS e
        """
    }

    /// One statement that commits a batch (a statement is a transaction of its own): `moving`
    /// inserts or updates the document's row (`$1` name, `$3` new version, `$4` state or null);
    /// only if it did, the events of `$2` are inserted (as `insertEvents`) and `$6` is NOTIFYed
    /// on channel `$5`. One row if the document moved, none if not. With `baseState`, also the
    /// snapshot of version 0 from that parameter (`$7`, a declared type's first commit).
    func writeEvents(moving: String, baseState: String? = nil) -> String {
        let base = baseState.map { parameter in
            """
            based AS (INSERT INTO \(name).snapshots (document, version, state)
                SELECT $1, 0, \(parameter)::jsonb WHERE EXISTS (SELECT FROM moved)),
            """
        }
        return """
            WITH moved AS (\(moving) RETURNING 1),
            \(base ?? "")logged AS (\(insertEvents) WHERE EXISTS (SELECT FROM moved))
            SELECT pg_notify($5, $6) FROM moved
            """
    }

    /// Each event of `events` as the JSON object `DocumentEvent(json:)` reads; members that are
    /// null in the row are left out.
    var eventObject: String {
        """
        jsonb_build_object('version', version, 'time', (extract(epoch FROM time) * 1000)::bigint, 'action', action,
            'ops', ops)
        || jsonb_strip_nulls(jsonb_build_object(
            'schema', schema, 'client', client, 'id', action_id, 'digest', digest, 'name', session_name,
            'model', model, 'author', author))
        """
    }
}
