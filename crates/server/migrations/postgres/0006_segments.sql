-- Segments: saved filters, each lead's current memberships (to tell entering from staying) and
-- the card's timeline of entries and exits with their reasons.

-- Event conditions count one name per lead, optionally within a window: (lead_id, name,
-- occurred_at) serves the count for one lead (the card, a probe per lead in lists);
-- (name, occurred_at, lead_id) serves the set of leads per name and window, and the job that
-- finds events leaving a window.
-- (lead_id, name, occurred_at) is served by 0005's events_lead_name_time.
-- PostgreSQL's secondary indexes point into the heap: with lead_id in the key, the set of leads
-- with a property value is read from the index alone (an exact segment count at 1M leads walks
-- 115,000 of them: 2.1 s through the heap, 0.28 s index-only). SQLite's indexes on WITHOUT ROWID
-- tables hold the primary key already.
DROP INDEX lead_properties_text;
CREATE INDEX lead_properties_text ON lead_properties (name, text_value, lead_id);
CREATE INDEX events_name_time_lead ON events (name, occurred_at, lead_id);

-- name_key: the name lower-cased (in Rust), unique. filter: the Filter as JSON.
-- window_checked_at: up to when the window job has looked for exits (unix ms).
-- rebuild_needed: 1 while members must be recomputed after a change of definition.
CREATE TABLE segments (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    filter TEXT NOT NULL,
    created_by BIGINT REFERENCES operators (id) ON DELETE SET NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    window_checked_at BIGINT NOT NULL,
    rebuild_needed BIGINT NOT NULL DEFAULT 1,
    rebuild_silent BIGINT NOT NULL DEFAULT 1
);

CREATE TABLE segment_members (
    segment_id BIGINT NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    since BIGINT NOT NULL,
    PRIMARY KEY (segment_id, lead_id)
);

CREATE INDEX segment_members_lead ON segment_members (lead_id, segment_id);

CREATE TABLE segment_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    segment_id BIGINT REFERENCES segments (id) ON DELETE SET NULL,
    segment_name TEXT NOT NULL,
    entered BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL
);

CREATE INDEX segment_history_lead ON segment_history (lead_id, id);
CREATE INDEX segment_history_segment ON segment_history (segment_id);
