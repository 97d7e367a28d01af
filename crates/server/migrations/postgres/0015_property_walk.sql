-- The Leads Database's range conditions (issue 16): a page newest first with `Last purchase
-- amount > 900` or `Signed up before ...` walks this index by lead id, newest first, reading each
-- entry's number on the way, instead of probing every lead's row in turn (store/sql.rs `Walk`).
CREATE INDEX lead_properties_walk ON lead_properties (name, lead_id, number_value)
    WHERE number_value IS NOT NULL;
