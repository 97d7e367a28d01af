-- The Leads Database's orders (issue 20): each order's key with the id, so a page in any order is
-- an index walk from its keyset cursor, as the default (newest first, by id) is. The expressions
-- are exactly those of store/sort.rs; never seen counts as 0, no name or address as ''.
CREATE INDEX leads_by_last_seen ON leads (COALESCE(last_seen_at, 0), id);
CREATE INDEX leads_by_name ON leads (lower(COALESCE(name, '')), id);
CREATE INDEX leads_by_email ON leads (COALESCE(email_norm, ''), id);
