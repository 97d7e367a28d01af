-- The site's own events and those added by hand, without the automatic `$page_view` and
-- `$session_start` rows (95% of all events at 10 page views per lead). Segment conditions name
-- such events; probing this index for one lead reads a tree a twentieth the size of
-- events_lead_name_time's. The SQL compiler repeats this predicate in its queries word for word,
-- which is what lets SQLite and PostgreSQL use a partial index.
CREATE INDEX events_custom ON events (lead_id, name, occurred_at) WHERE substr(name, 1, 1) <> '$';
