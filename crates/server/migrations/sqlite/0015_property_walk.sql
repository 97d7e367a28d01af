-- The Leads Database's range conditions (issue 16): a page newest first with `Last purchase
-- amount > 900` or `Signed up before ...` walks this index by lead id, newest first, reading each
-- entry's type and number on the way (the index covers the test), instead of probing every lead's
-- row in turn (store/sql.rs `push_walk_source`).
CREATE INDEX lead_properties_walk ON lead_properties (name, lead_id, value_type, number_value)
    WHERE number_value IS NOT NULL;
