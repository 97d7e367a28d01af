-- Operator accounts: disabling an operator, one-time set-password links, and the browser each
-- session signed in from. An operator added with a link has an empty password_hash until used.

ALTER TABLE operators ADD COLUMN disabled_at BIGINT;

-- token_hash: hex SHA-256 of the link's random token; the token itself is never stored.
CREATE TABLE password_links (
    token_hash TEXT PRIMARY KEY,
    operator_id BIGINT NOT NULL REFERENCES operators (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

CREATE INDEX password_links_operator ON password_links (operator_id);

ALTER TABLE sessions ADD COLUMN user_agent TEXT NOT NULL DEFAULT '';
