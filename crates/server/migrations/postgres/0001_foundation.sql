-- Foundation: operators and their sessions, leads with typed properties, tags, shared email
-- statuses and events. Times are unix milliseconds (UTC) in BIGINT; JSON is TEXT (the portable
-- store reads it through sqlx's Any driver).

CREATE TABLE operators (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'operator')),
    password_hash TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- token_hash: hex SHA-256 of the random token the cookie carries; the token itself is never stored.
CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    operator_id BIGINT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX sessions_operator ON sessions (operator_id);

-- name .. last_seen_at mirror the system properties of the same name, kept in sync by the store.
CREATE TABLE leads (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name TEXT,
    email TEXT,
    email_norm TEXT,
    phone TEXT,
    user_id TEXT,
    avatar_url TEXT,
    city TEXT,
    country TEXT,
    timezone TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    last_seen_at BIGINT,
    last_heartbeat_at BIGINT,
    last_active_at BIGINT,
    version BIGINT NOT NULL DEFAULT 1,
    hidden_at BIGINT
);

CREATE INDEX leads_email_norm ON leads (email_norm);
CREATE INDEX leads_user_id ON leads (user_id);
-- Partial: only leads that ever sent a heartbeat, a small share of a large base.
CREATE INDEX leads_heartbeat ON leads (last_heartbeat_at) WHERE last_heartbeat_at IS NOT NULL;

-- Every property of a lead, system ones included. json_value is the exact typed value;
-- text_value is its lower-cased text form (equals / contains / search); number_value holds
-- numbers, dates (unix ms) and true/false (1/0) for range tests. Typed columns with B-tree
-- indexes serve the filter's equality and range tests on both databases.
CREATE TABLE lead_properties (
    lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    value_type TEXT NOT NULL,
    text_value TEXT NOT NULL,
    number_value DOUBLE PRECISION,
    json_value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (lead_id, name)
);

CREATE INDEX lead_properties_text ON lead_properties (name, text_value);
CREATE INDEX lead_properties_number ON lead_properties (name, number_value)
    WHERE number_value IS NOT NULL;

CREATE TABLE lead_tags (
    lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (lead_id, tag)
);

CREATE INDEX lead_tags_tag ON lead_tags (tag, lead_id);

-- One status per normalized address, shared by every lead with that address.
CREATE TABLE email_statuses (
    email_norm TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    bounce TEXT,
    reason TEXT,
    changed_at BIGINT NOT NULL
);

CREATE INDEX email_statuses_status ON email_statuses (status, email_norm);

CREATE TABLE events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    properties TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('tracked', 'manual'))
);

CREATE INDEX events_lead_time ON events (lead_id, occurred_at);
