-- The Leads Database's search (issue 16). search_text: the lead's name, email, phone (and its
-- digits) and user id, folded in Rust (lower case, accents removed; store/search.rs) and kept by
-- the store wherever those columns change. A pg_trgm GIN index answers `LIKE '%fragment%'` from
-- the fragment's trigrams instead of reading every lead. pg_trgm is a trusted extension (a
-- database owner may create it).
CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE leads ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

CREATE INDEX leads_search_trgm ON leads USING gin (search_text gin_trgm_ops);

-- The leads that existed before this migration (ids up to `upto`) get their search text from the
-- store when it next starts, newest first, a batch per transaction (the folding is Rust's).
CREATE TABLE search_backfill (upto BIGINT NOT NULL);
INSERT INTO search_backfill (upto) SELECT COALESCE(MAX(id), 0) FROM leads;
