-- The search index's pending list is merged in short steps (256 kB) instead of one long pause (4 MB).
-- Set on the existing index: rebuilding it would take minutes on a large table.
ALTER INDEX "messages_search_idx" SET (gin_pending_list_limit = 256);
