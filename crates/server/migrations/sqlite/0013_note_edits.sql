-- Notes edited by their author: when the body was last changed (Unix milliseconds); NULL while
-- the note is as it was written. The card shows "edited" with this time.
ALTER TABLE lead_notes ADD COLUMN edited_at BIGINT;
