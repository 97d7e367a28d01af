-- Lead card editing: each operator's pinned properties and operators' notes on leads.

-- position: 0 for the first pin; names are unique per operator.
CREATE TABLE operator_pins (
    operator_id INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (operator_id, position),
    UNIQUE (operator_id, name)
) WITHOUT ROWID;

-- body is plain text, shown as text.
CREATE TABLE lead_notes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    author_id INTEGER NOT NULL REFERENCES operators (id),
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX lead_notes_lead_time ON lead_notes (lead_id, created_at);
CREATE INDEX lead_notes_author ON lead_notes (author_id);
