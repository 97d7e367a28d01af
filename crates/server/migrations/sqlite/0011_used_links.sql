-- Confirmation links in mails work once: a link's token (its SHA-256, hex) is recorded when it
-- is used, until the link would have expired anyway (unix milliseconds). A second use, or a
-- scanner replaying the link, changes nothing.
CREATE TABLE used_links (
    token_hash TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX used_links_expiry ON used_links (expires_at);
