-- The Leads Database's search (issue 16). search_text: the lead's name, email, phone (and its
-- digits) and user id, folded in Rust (lower case, accents removed; store/search.rs) and kept by
-- the store wherever those columns change. lead_search: an FTS5 trigram index over it, so a
-- fragment of 3+ characters reads its candidates from the index instead of every lead; it keeps
-- no positions (`detail=none`), the query confirms each candidate on search_text itself.
ALTER TABLE leads ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

CREATE VIRTUAL TABLE lead_search USING fts5 (
    search_text, content = 'leads', content_rowid = 'id', tokenize = 'trigram', detail = 'none'
);

-- Counts every existing lead (all with an empty text) so later deletes keep the index consistent.
INSERT INTO lead_search (lead_search) VALUES ('rebuild');

CREATE TRIGGER leads_search_insert AFTER INSERT ON leads BEGIN
    INSERT INTO lead_search (rowid, search_text) VALUES (new.id, new.search_text);
END;

CREATE TRIGGER leads_search_delete AFTER DELETE ON leads BEGIN
    INSERT INTO lead_search (lead_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
END;

CREATE TRIGGER leads_search_update AFTER UPDATE OF search_text ON leads BEGIN
    INSERT INTO lead_search (lead_search, rowid, search_text) VALUES ('delete', old.id, old.search_text);
    INSERT INTO lead_search (rowid, search_text) VALUES (new.id, new.search_text);
END;

-- The leads that existed before this migration (ids up to `upto`) get their search text from the
-- store when it next starts, newest first, a batch per transaction (the folding is Rust's).
CREATE TABLE search_backfill (upto INTEGER NOT NULL);
INSERT INTO search_backfill (upto) SELECT COALESCE(MAX(id), 0) FROM leads;
