-- Live updates for operators' pages: every message gets an id that only grows, so a page that
-- reconnects with Last-Event-ID is sent what it missed. Kept for an hour (housekeeping).
CREATE TABLE live_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    payload TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE INDEX live_events_created ON live_events (created_at);
