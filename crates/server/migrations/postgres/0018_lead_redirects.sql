-- Merging two cards (issue 21): the merged card's id keeps answering with the card it went into,
-- so an old link opens the kept card. merged_id is no lead any more (its row is gone; ids are never
-- reused); into_lead_id is, and a later merge of the kept card moves its redirects on. Removing the
-- kept card removes them. merged_by: the operator who merged (NULL for the site's identify).
CREATE TABLE lead_redirects (
    merged_id BIGINT PRIMARY KEY,
    into_lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    merged_by BIGINT REFERENCES operators (id) ON DELETE SET NULL,
    merged_at BIGINT NOT NULL
);

CREATE INDEX lead_redirects_into ON lead_redirects (into_lead_id);
