-- Live updates for operators' pages: every message gets an id that only grows, so a page that
-- reconnects with Last-Event-ID is sent what it missed. Kept for an hour (housekeeping).
-- Instances share this table; NOTIFY live_events wakes the others' readers.
CREATE TABLE live_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE INDEX live_events_created ON live_events (created_at);
