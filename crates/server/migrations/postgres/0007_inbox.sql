-- Inbox: conversations with a lead by chat, email or pop-up, and their messages (operators',
-- the lead's, and system entries). Times are unix milliseconds (UTC) in BIGINT.

-- One conversation with one lead over one channel. unread: the lead's messages since an operator
-- last read the thread. last_message_*: the list's preview, written in the transaction that
-- writes the message. reply_token: the conversation's reply address (reply+<token>@<domain>);
-- first_subject: an email conversation's first subject ("Re: ..." for the next ones).
CREATE TABLE conversations (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    channel TEXT NOT NULL CHECK (channel IN ('chat', 'email', 'popup')),
    status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    assignee_id BIGINT REFERENCES operators (id) ON DELETE SET NULL,
    unread BIGINT NOT NULL DEFAULT 0,
    first_subject TEXT,
    last_message_author TEXT,
    last_message_text TEXT,
    last_message_at BIGINT,
    last_activity_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    reply_token TEXT NOT NULL UNIQUE
);

-- The list: newest activity first, all or by status, by assignee (or unassigned), keyset.
CREATE INDEX conversations_activity ON conversations (last_activity_at DESC, id DESC);
CREATE INDEX conversations_status_activity ON conversations (status, last_activity_at DESC, id DESC);
CREATE INDEX conversations_assignee_activity ON conversations (assignee_id, last_activity_at DESC, id DESC);
-- The lead's open conversation of a channel, and the card's history.
CREATE INDEX conversations_lead ON conversations (lead_id, channel, status);
-- The navigation's badge: open conversations with unread messages.
CREATE INDEX conversations_unread ON conversations (status) WHERE unread > 0;

-- author: lead | operator | system (system_json: the SystemEntry). channel and lead_id copy the
-- conversation's (the widget reads a lead's chat and pop-up messages; erasure by lead).
-- delivery: the stored part of an operator message's delivery (sent, or delivered once the
-- widget showed it); an email's follows its outbox row. emailed_copy: a chat message also mailed
-- (outbox_id is the copy). idempotency_key: the page's key (the widget's prefixed `w:`, a mailed
-- reply's `m:<Message-ID>`), NULL for system entries.
CREATE TABLE messages (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation_id BIGINT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    channel TEXT NOT NULL CHECK (channel IN ('chat', 'email', 'popup')),
    author TEXT NOT NULL CHECK (author IN ('lead', 'operator', 'system')),
    operator_id BIGINT REFERENCES operators (id) ON DELETE SET NULL,
    body TEXT NOT NULL,
    subject TEXT,
    system_json TEXT,
    delivery TEXT CHECK (delivery IN ('sent', 'delivered', 'failed')),
    emailed_copy BIGINT NOT NULL DEFAULT 0,
    outbox_id BIGINT REFERENCES outbox (id) ON DELETE SET NULL,
    idempotency_key TEXT UNIQUE,
    seen_at BIGINT,
    created_at BIGINT NOT NULL
);

CREATE INDEX messages_conversation ON messages (conversation_id, id);
CREATE INDEX messages_lead ON messages (lead_id, id);
CREATE INDEX messages_outbox ON messages (outbox_id) WHERE outbox_id IS NOT NULL;

-- A conversation's mail carries the conversation's reply address.
ALTER TABLE outbox ADD COLUMN reply_to TEXT;
