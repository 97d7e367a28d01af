-- Mail: what the status machine remembers per address, project settings, campaigns and the
-- outbox the delivery workers send from. Times are unix milliseconds (UTC).

-- soft_bounces: in a row since the last delivery; cool_down_until: no mail before it;
-- confirmed: 1 once the address confirmed through Double Opt-In.
ALTER TABLE email_statuses ADD COLUMN soft_bounces INTEGER NOT NULL DEFAULT 0;
ALTER TABLE email_statuses ADD COLUMN cool_down_until INTEGER;
ALTER TABLE email_statuses ADD COLUMN confirmed INTEGER NOT NULL DEFAULT 0;

-- Project settings as key/value text: double_opt_in, soft_bounce_cool_down_hours,
-- soft_bounces_to_hard, and secret_key (generated at first start when not configured).
CREATE TABLE project_settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE campaigns (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    filter TEXT NOT NULL,
    created_by INTEGER REFERENCES operators (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    recipients INTEGER NOT NULL
);

-- One row per mail. A mail for a lead goes with the lead (ON DELETE CASCADE); removing a lead
-- also deletes any row for its address that no other lead shares. status 'sending' means a
-- worker (locked_by) has it until locked_until; after that it is due again, so a worker that
-- died loses nothing. headers: JSON object of the extra headers the sent mail carried.
CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    lead_id INTEGER REFERENCES leads (id) ON DELETE CASCADE,
    email_norm TEXT NOT NULL,
    to_address TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('campaign', 'triggered', 'chat_reply_copy', 'confirmation_request')),
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    headers TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'failed', 'dropped')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    sent_at INTEGER,
    campaign_id INTEGER REFERENCES campaigns (id) ON DELETE CASCADE,
    locked_by TEXT,
    locked_until INTEGER,
    UNIQUE (campaign_id, email_norm)
);

CREATE INDEX outbox_queued ON outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX outbox_sending ON outbox (locked_until) WHERE status = 'sending';
CREATE INDEX outbox_status ON outbox (status, id);
CREATE INDEX outbox_lead ON outbox (lead_id);
CREATE INDEX outbox_email ON outbox (email_norm);
