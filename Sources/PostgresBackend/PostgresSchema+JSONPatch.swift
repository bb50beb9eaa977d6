extension PostgresSchema {
    /// RFC 6902 in PL/pgSQL (migration 7), replacing the first version's functions under the same
    /// names: `apply_patch(doc, ops)` applies every operation or raises an error (SQLSTATE 22023)
    /// naming the operation and the pointer; it never returns a half-applied or NULL document.
    /// `current_state` uses it unchanged.
    var rfc6902Functions: String {
        """
        CREATE OR REPLACE FUNCTION \(name).pointer_path(pointer text) RETURNS text[]
        LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE
            tokens text[];
        BEGIN
            IF pointer IS NULL THEN
                RAISE EXCEPTION 'missing JSON Pointer' USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF pointer = '' THEN RETURN '{}'; END IF;
            IF left(pointer, 1) <> '/' THEN
                RAISE EXCEPTION 'JSON Pointer "%" does not start with /', pointer
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            IF pointer ~ '~([^01]|$)' THEN
                RAISE EXCEPTION 'JSON Pointer "%" has a ~ not followed by 0 or 1', pointer
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            SELECT coalesce(array_agg(replace(replace(token, '~1', '/'), '~0', '~') ORDER BY position), '{}')
            INTO tokens FROM unnest((string_to_array(pointer, '/'))[2:]) WITH ORDINALITY AS t (token, position);
            RETURN tokens;
        END $$;

        -- The array index a token names: digits without a leading zero, below `length` (up to
        -- and including it, or '-', where `to_add`).
        CREATE OR REPLACE FUNCTION \(name).pointer_index(token text, length integer, to_add boolean)
        RETURNS integer LANGUAGE plpgsql IMMUTABLE AS $$
        BEGIN
            IF to_add AND token = '-' THEN RETURN length; END IF;
            IF token !~ '^(0|[1-9][0-9]{0,9})$' OR token::bigint > length OR (token::bigint = length AND NOT to_add)
            THEN
                RAISE EXCEPTION 'no array index "%" in an array of %', token, length
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            RETURN token::integer;
        END $$;

        -- The member or element `token` names in `container`; an error if there is none.
        CREATE OR REPLACE FUNCTION \(name).pointer_child(container jsonb, token text) RETURNS jsonb
        LANGUAGE plpgsql IMMUTABLE AS $$
        BEGIN
            CASE jsonb_typeof(container)
                WHEN 'object' THEN
                    IF NOT container ? token THEN
                        RAISE EXCEPTION 'object has no member "%"', token USING ERRCODE = 'invalid_parameter_value';
                    END IF;
                    RETURN container -> token;
                WHEN 'array' THEN
                    RETURN container -> \(name).pointer_index(token, jsonb_array_length(container), false);
                ELSE
                    RAISE EXCEPTION 'cannot look up "%" in a %', token, jsonb_typeof(container)
                        USING ERRCODE = 'invalid_parameter_value';
            END CASE;
        END $$;

        CREATE OR REPLACE FUNCTION \(name).pointer_get(doc jsonb, path text[]) RETURNS jsonb
        LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE
            token text;
        BEGIN
            FOREACH token IN ARRAY path LOOP
                doc := \(name).pointer_child(doc, token);
            END LOOP;
            RETURN doc;
        END $$;

        -- `doc` with the value at `path` added, replaced or removed (`change`), each as RFC 6902
        -- says: add inserts into an array and sets an object's member, replace and remove need
        -- the target to exist. Rebuilds only the containers on the path.
        CREATE OR REPLACE FUNCTION \(name).pointer_change(doc jsonb, path text[], change text, value jsonb)
        RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE
            token text;
            position integer;
        BEGIN
            IF cardinality(path) = 0 THEN
                IF change = 'remove' THEN
                    RAISE EXCEPTION 'cannot remove the whole document' USING ERRCODE = 'invalid_parameter_value';
                END IF;
                RETURN value;
            END IF;
            token := path[1];
            IF cardinality(path) > 1 THEN
                IF jsonb_typeof(doc) = 'array' THEN
                    token := \(name).pointer_index(token, jsonb_array_length(doc), false)::text;
                END IF;
                RETURN jsonb_set(
                    doc, ARRAY[token], \(name).pointer_change(\(name).pointer_child(doc, token), path[2:], change, value));
            END IF;
            CASE jsonb_typeof(doc)
                WHEN 'object' THEN
                    IF change <> 'add' AND NOT doc ? token THEN
                        RAISE EXCEPTION 'object has no member "%"', token USING ERRCODE = 'invalid_parameter_value';
                    END IF;
                    IF change = 'remove' THEN RETURN doc - token; END IF;
                    RETURN jsonb_set(doc, ARRAY[token], value, true);
                WHEN 'array' THEN
                    position := \(name).pointer_index(token, jsonb_array_length(doc), change = 'add');
                    IF change = 'remove' THEN RETURN doc - position; END IF;
                    IF change = 'replace' THEN RETURN jsonb_set(doc, ARRAY[position::text], value); END IF;
                    IF position = jsonb_array_length(doc) THEN RETURN doc || jsonb_build_array(value); END IF;
                    RETURN jsonb_insert(doc, ARRAY[position::text], value);
                ELSE
                    RAISE EXCEPTION 'cannot % "%" in a %', change, token, jsonb_typeof(doc)
                        USING ERRCODE = 'invalid_parameter_value';
            END CASE;
        END $$;

        -- Kept for compatibility with the first migration's callers: an RFC 6902 add.
        CREATE OR REPLACE FUNCTION \(name).pointer_add(doc jsonb, path text[], value jsonb) RETURNS jsonb
        LANGUAGE sql IMMUTABLE AS $$ SELECT \(name).pointer_change(doc, path, 'add', value) $$;

        CREATE OR REPLACE FUNCTION \(name).apply_patch(doc jsonb, ops jsonb) RETURNS jsonb
        LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE
            op jsonb;
            number bigint;
            path text[];
            source text[];
            moved jsonb;
        BEGIN
            IF jsonb_typeof(ops) IS DISTINCT FROM 'array' THEN
                RAISE EXCEPTION 'a JSON Patch is an array of operations, not %', coalesce(jsonb_typeof(ops), 'NULL')
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            -- One exception block for the whole patch (each block is a subtransaction): the
            -- error names the operation it stopped at.
            BEGIN
                FOR op, number IN SELECT value, ordinality - 1 FROM jsonb_array_elements(ops) WITH ORDINALITY LOOP
                    IF jsonb_typeof(op) IS DISTINCT FROM 'object' THEN
                        RAISE EXCEPTION 'not an object' USING ERRCODE = 'invalid_parameter_value';
                    END IF;
                    IF jsonb_typeof(op->'path') IS DISTINCT FROM 'string' THEN
                        RAISE EXCEPTION 'no "path" string' USING ERRCODE = 'invalid_parameter_value';
                    END IF;
                    path := \(name).pointer_path(op->>'path');
                    IF op->>'op' IN ('add', 'replace', 'test') AND NOT op ? 'value' THEN
                        RAISE EXCEPTION 'no "value"' USING ERRCODE = 'invalid_parameter_value';
                    END IF;
                    IF op->>'op' IN ('move', 'copy') THEN
                        IF jsonb_typeof(op->'from') IS DISTINCT FROM 'string' THEN
                            RAISE EXCEPTION 'no "from" string' USING ERRCODE = 'invalid_parameter_value';
                        END IF;
                        source := \(name).pointer_path(op->>'from');
                    END IF;
                    CASE op->>'op'
                        WHEN 'add', 'replace', 'remove' THEN
                            doc := \(name).pointer_change(doc, path, op->>'op', op->'value');
                        WHEN 'move' THEN
                            IF source = path THEN
                                PERFORM \(name).pointer_get(doc, source);
                            ELSIF cardinality(path) > cardinality(source) AND path[1:cardinality(source)] = source THEN
                                RAISE EXCEPTION 'cannot move "%" into its own descendant', op->>'from'
                                    USING ERRCODE = 'invalid_parameter_value';
                            ELSE
                                moved := \(name).pointer_get(doc, source);
                                doc := \(name).pointer_change(
                                    \(name).pointer_change(doc, source, 'remove', NULL), path, 'add', moved);
                            END IF;
                        WHEN 'copy' THEN
                            doc := \(name).pointer_change(doc, path, 'add', \(name).pointer_get(doc, source));
                        WHEN 'test' THEN
                            IF \(name).pointer_get(doc, path) <> op->'value' THEN
                                RAISE EXCEPTION 'test failed: the value differs' USING ERRCODE = 'invalid_parameter_value';
                            END IF;
                        ELSE
                            RAISE EXCEPTION 'unknown op %', coalesce(op->'op', 'null'::jsonb)
                                USING ERRCODE = 'invalid_parameter_value';
                    END CASE;
                END LOOP;
            EXCEPTION WHEN invalid_parameter_value THEN
                RAISE EXCEPTION 'JSON Patch operation % (path "%"): %', number, op->>'path', SQLERRM
                    USING ERRCODE = 'invalid_parameter_value';
            END;
            RETURN doc;
        END $$;
        """
    }
}
