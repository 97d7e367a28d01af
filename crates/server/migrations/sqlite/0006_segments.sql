-- Segments: saved filters, each lead's current memberships (to tell entering from staying) and
-- the card's timeline of entries and exits with their reasons.

-- Event conditions count one name per lead, optionally within a window: (lead_id, name,
-- occurred_at) serves the count for one lead (the card, a probe per lead in lists);
-- (name, occurred_at, lead_id) serves the set of leads per name and window, and the job that
-- finds events leaving a window.
-- (lead_id, name, occurred_at) is served by 0005's events_lead_name_time.
CREATE INDEX events_name_time_lead ON events (name, occurred_at, lead_id);

-- name_key: the name lower-cased (in Rust), unique. filter: the Filter as JSON.
-- window_checked_at: up to when the window job has looked for exits (unix ms).
-- rebuild_needed: 1 while members must be recomputed after a change of definition.
CREATE TABLE segments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    filter TEXT NOT NULL,
    created_by INTEGER REFERENCES operators (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    window_checked_at INTEGER NOT NULL,
    rebuild_needed INTEGER NOT NULL DEFAULT 1,
    rebuild_silent INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE segment_members (
    segment_id INTEGER NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    since INTEGER NOT NULL,
    PRIMARY KEY (segment_id, lead_id)
) WITHOUT ROWID;

CREATE INDEX segment_members_lead ON segment_members (lead_id, segment_id);

CREATE TABLE segment_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    segment_id INTEGER REFERENCES segments (id) ON DELETE SET NULL,
    segment_name TEXT NOT NULL,
    entered BOOLEAN NOT NULL,
    reason TEXT NOT NULL,
    at INTEGER NOT NULL
);

CREATE INDEX segment_history_lead ON segment_history (lead_id, id);
CREATE INDEX segment_history_segment ON segment_history (segment_id);
