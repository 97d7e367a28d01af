-- Foundation: operators and their sessions, leads with typed properties, tags, shared email
-- statuses and events. Times are unix milliseconds (UTC); JSON is TEXT.

CREATE TABLE operators (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator')),
    password_hash TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

-- token_hash: hex SHA-256 of the random token the cookie carries; the token itself is never stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    operator_id INTEGER NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX sessions_operator ON sessions (operator_id);

-- AUTOINCREMENT: an id is never reused, so a link to a removed card never opens another person.
-- name .. last_seen_at mirror the system properties of the same name, kept in sync by the store.
CREATE TABLE leads (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT,
    email TEXT,
    email_norm TEXT,
    phone TEXT,
    user_id TEXT,
    avatar_url TEXT,
    city TEXT,
    country TEXT,
    timezone TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    last_seen_at INTEGER,
    last_heartbeat_at INTEGER,
    last_active_at INTEGER,
    version INTEGER NOT NULL DEFAULT 1,
    hidden_at INTEGER
);

CREATE INDEX leads_email_norm ON leads (email_norm);
CREATE INDEX leads_user_id ON leads (user_id);
CREATE INDEX leads_heartbeat ON leads (last_heartbeat_at) WHERE last_heartbeat_at IS NOT NULL;

-- Every property of a lead, system ones included. json_value is the exact typed value;
-- text_value is its lower-cased text form (equals / contains / search); number_value holds
-- numbers, dates (unix ms) and true/false (1/0) for range tests.
CREATE TABLE lead_properties (
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value_type TEXT NOT NULL,
    text_value TEXT NOT NULL,
    number_value REAL,
    json_value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (lead_id, name)
) WITHOUT ROWID;

CREATE INDEX lead_properties_text ON lead_properties (name, text_value);
CREATE INDEX lead_properties_number ON lead_properties (name, number_value)
    WHERE number_value IS NOT NULL;

CREATE TABLE lead_tags (
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (lead_id, tag)
) WITHOUT ROWID;

CREATE INDEX lead_tags_tag ON lead_tags (tag, lead_id);

-- One status per normalized address, shared by every lead with that address.
CREATE TABLE email_statuses (
    email_norm TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    bounce TEXT,
    reason TEXT,
    changed_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE INDEX email_statuses_status ON email_statuses (status, email_norm);

CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    properties TEXT NOT NULL,
    occurred_at INTEGER NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('tracked', 'manual'))
);

CREATE INDEX events_lead_time ON events (lead_id, occurred_at);
