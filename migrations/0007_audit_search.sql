-- Hand-written: indexes for the action log's filters and fulltext search (issue 6, item 5).
-- The audit table itself and its triggers are in 0000/0001 and stay untouched.

-- Fulltext over the summary, diacritics-folded ("zlutoucky" finds "Žluťoučký"). src/audit/queries.ts
-- searches with exactly this expression, so the planner can use the index.
CREATE INDEX IF NOT EXISTS audit_log_summary_search_idx ON audit_log
  USING gin (to_tsvector('posel_unaccent', coalesce(summary, '')));
--> statement-breakpoint

-- "Everything one user did" and "every row of one action", newest first, with keyset paging (id < ?).
-- The (action, id) index also serves the skip scan that lists the actions present for the filter.
CREATE INDEX IF NOT EXISTS audit_log_actor_id_idx ON audit_log (actor_id, id);
--> statement-breakpoint
CREATE INDEX IF NOT EXISTS audit_log_action_id_idx ON audit_log (action, id);
--> statement-breakpoint

-- Denied and failed rows are few among many "ok" ones: a small partial index finds them fast.
CREATE INDEX IF NOT EXISTS audit_log_not_ok_idx ON audit_log (result, id) WHERE result <> 'ok';
