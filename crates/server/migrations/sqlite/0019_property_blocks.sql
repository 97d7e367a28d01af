-- The Leads Database's range conditions (issue 16): a page newest first walks a range's rows by
-- lead id (`lead_properties_walk`, migration 0015), which passes over every newer lead outside it
-- first: `Signed up` before a date, whose matches are all old leads, read 800,000 entries at a
-- million leads (84 ms). This index holds each number row by property, block of 16,384 lead ids
-- and number, so whether a block holds a match is one seek: the walk starts at the newest block
-- that does (store/sql.rs `walk_start_block`). The block size is written here and in that query
-- alike (an expression index is used only for the same expression).
CREATE INDEX lead_properties_blocks ON lead_properties (name, (lead_id / 16384), number_value)
    WHERE number_value IS NOT NULL;
