-- Tracking: projects and their keys, the widget's visitor ids, site sessions with their pages,
-- and per-lead per-event-name aggregates kept with every event.

-- public_key goes in the site's pages; secret_key signs user ids on the site's server.
CREATE TABLE projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    public_key TEXT NOT NULL UNIQUE,
    secret_key TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- The id the widget keeps in the site's storage, and the lead it is (re-pointed by identify).
CREATE TABLE visitors (
    project_id INTEGER NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    visitor_id TEXT NOT NULL,
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (project_id, visitor_id)
) WITHOUT ROWID;

CREATE INDEX visitors_lead ON visitors (lead_id);

-- A visit: session_key is the widget's session id. current_* is the page of the last heartbeat
-- or page view; page_views counts the rows in page_views; announced is 1 once its
-- $session_start arrived (the lead's $sessions counts it then, once).
CREATE TABLE site_sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    session_key TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    page_views INTEGER NOT NULL DEFAULT 0,
    announced INTEGER NOT NULL DEFAULT 0,
    current_url TEXT,
    current_title TEXT,
    referrer TEXT,
    utm_source TEXT,
    utm_medium TEXT,
    utm_campaign TEXT,
    utm_term TEXT,
    utm_content TEXT,
    browser TEXT,
    os TEXT,
    device TEXT,
    UNIQUE (lead_id, session_key)
);

CREATE INDEX site_sessions_lead_seen ON site_sessions (lead_id, last_seen_at);

CREATE TABLE page_views (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id INTEGER NOT NULL REFERENCES site_sessions (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    title TEXT,
    viewed_at INTEGER NOT NULL
);

CREATE INDEX page_views_session ON page_views (session_id, viewed_at);

-- How often and when each lead performed each event (EventAggregate), for the Groups tab and
-- for filters and segments ("performed X at least N times").
CREATE TABLE event_aggregates (
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    event_count INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL,
    PRIMARY KEY (lead_id, name)
) WITHOUT ROWID;

-- The count stays out of the index: counting an event rewrites no index entry.
CREATE INDEX event_aggregates_name ON event_aggregates (name);

INSERT INTO event_aggregates (lead_id, name, event_count, first_at, last_at)
SELECT lead_id, name, COUNT(*), MIN(occurred_at), MAX(occurred_at) FROM events GROUP BY lead_id, name;

-- The card's events, newest first, all or one name, keyset on (occurred_at, id).
DROP INDEX events_lead_time;
CREATE INDEX events_lead_time ON events (lead_id, occurred_at, id);
CREATE INDEX events_lead_name_time ON events (lead_id, name, occurred_at, id);

-- Visitors: leads with a recent heartbeat that are not hidden.
CREATE INDEX leads_on_site ON leads (last_heartbeat_at) WHERE hidden_at IS NULL;
