-- Lead card editing: each operator's pinned properties and operators' notes on leads.
-- Times are unix milliseconds (UTC) in BIGINT.

-- position: 0 for the first pin; names are unique per operator.
CREATE TABLE operator_pins (
    operator_id BIGINT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (operator_id, position),
    UNIQUE (operator_id, name)
);

-- body is plain text, shown as text.
CREATE TABLE lead_notes (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    author_id BIGINT NOT NULL REFERENCES operators (id),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX lead_notes_lead_time ON lead_notes (lead_id, created_at);
CREATE INDEX lead_notes_author ON lead_notes (author_id);
