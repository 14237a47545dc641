-- Hand-written: diacritics-folding text search, the append-only hash-chained audit log, built-in roles.

-- Search: "zlutoucky kun" must find "Žluťoučký kůň". unaccent folds, simple keeps every word (no stemming).
CREATE EXTENSION IF NOT EXISTS unaccent;
--> statement-breakpoint
CREATE TEXT SEARCH CONFIGURATION posel_unaccent (COPY = simple);
--> statement-breakpoint
ALTER TEXT SEARCH CONFIGURATION posel_unaccent
  ALTER MAPPING FOR hword, hword_part, word WITH unaccent, simple;
--> statement-breakpoint

-- Audit log ids come from a sequence, but only once the chain lock is held (see audit_log_chain).
CREATE SEQUENCE audit_log_id_seq OWNED BY audit_log.id;
--> statement-breakpoint

-- The hash of one row, given the previous row's hash. Used by the trigger and by `npm run audit:verify`.
-- Timestamps enter as integer microseconds so the text does not depend on the session's TimeZone;
-- jsonb::text is canonical (keys sorted), so the hash is stable.
CREATE FUNCTION audit_row_hash(prev text, r audit_log) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(concat_ws(chr(31),
    coalesce(prev, ''),
    r.id::text,
    (extract(epoch FROM r.at) * 1000000)::bigint::text,
    coalesce(r.actor_id::text, ''),
    coalesce(r.actor_name, ''),
    r.action,
    coalesce(r.object_type, ''),
    coalesce(r.object_id, ''),
    coalesce(r.summary, ''),
    coalesce(r.before::text, ''),
    coalesce(r.after::text, ''),
    coalesce(r.ip, ''),
    coalesce(r.request_id, ''),
    r.result), 'UTF8')), 'hex')
$$;
--> statement-breakpoint

-- Chaining needs one global order. The advisory lock (held to commit) serialises audit writers; the id is
-- drawn after the lock so id order equals chain order even when transactions commit out of start order.
-- Each statement in a plpgsql function sees rows committed before it started (READ COMMITTED).
CREATE FUNCTION audit_log_chain() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  previous text;
BEGIN
  PERFORM pg_advisory_xact_lock(726354001);
  NEW.id := nextval('audit_log_id_seq');
  NEW.at := coalesce(NEW.at, now());
  SELECT hash INTO previous FROM audit_log ORDER BY id DESC LIMIT 1;
  NEW.prev_hash := previous;
  NEW.hash := audit_row_hash(previous, NEW);
  RETURN NEW;
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_chain();
--> statement-breakpoint

CREATE FUNCTION audit_log_refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER audit_log_no_update_delete BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_refuse_change();
--> statement-breakpoint
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit_log_refuse_change();
--> statement-breakpoint

-- Built-in roles. Names stay null: the interface shows the translated default until an admin renames one.
-- The admin role holds every permission implicitly (src/auth/permissions.ts), so it needs no rows here.
INSERT INTO roles (key) VALUES ('admin'), ('manager'), ('staff'), ('viewer');
--> statement-breakpoint
INSERT INTO role_permissions (role_id, permission)
SELECT r.id, p.permission FROM roles r
JOIN (VALUES
  ('manager', 'clients.view'), ('manager', 'clients.manage'), ('manager', 'orders.view'),
  ('manager', 'orders.manage'), ('manager', 'contracts.view'), ('manager', 'contracts.manage'),
  ('manager', 'activities.view'), ('manager', 'activities.manage'), ('manager', 'lists.manage'),
  ('manager', 'import.run'), ('manager', 'messages.view'), ('manager', 'messages.create'),
  ('manager', 'messages.edit'), ('manager', 'messages.edit_generated'), ('manager', 'messages.delete'),
  ('manager', 'messages.send'), ('manager', 'messages.resend'), ('manager', 'messages.export'),
  ('manager', 'templates.manage'), ('manager', 'campaigns.run'), ('manager', 'audit.view'),
  ('staff', 'clients.view'), ('staff', 'clients.manage'), ('staff', 'orders.view'),
  ('staff', 'contracts.view'), ('staff', 'activities.view'), ('staff', 'activities.manage'),
  ('staff', 'messages.view'), ('staff', 'messages.create'), ('staff', 'messages.edit'),
  ('staff', 'messages.delete'), ('staff', 'messages.send'), ('staff', 'messages.export'),
  ('viewer', 'clients.view'), ('viewer', 'orders.view'), ('viewer', 'contracts.view'),
  ('viewer', 'activities.view'), ('viewer', 'messages.view')
) AS p(role_key, permission) ON p.role_key = r.key;
