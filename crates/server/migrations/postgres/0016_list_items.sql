-- A list property's items as rows (issue 16): "Interests list contains Shoes" reads the index
-- (name, item, lead_id) like an equals, instead of opening every lead's list as JSON
-- (store/sql.rs compiles `list_contains` against this table). Triggers keep it in step with
-- `lead_properties` on every write path (edits, tracking, identify, import, merge, removal), so
-- no writer has to know about it. Items are matched exactly, as before.
CREATE TABLE lead_list_items (
    lead_id BIGINT NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (lead_id, name, item)
);

CREATE INDEX lead_list_items_item ON lead_list_items (name, item, lead_id);

INSERT INTO lead_list_items (lead_id, name, item)
    SELECT p.lead_id, p.name, j.item
    FROM lead_properties p
    CROSS JOIN LATERAL jsonb_array_elements(CAST(p.json_value AS jsonb) -> 'value') AS e(element)
    CROSS JOIN LATERAL (SELECT e.element #>> '{}' AS item) j
    WHERE p.value_type = 'list' AND jsonb_typeof(e.element) = 'string'
    ON CONFLICT DO NOTHING;

CREATE FUNCTION lead_list_items_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.value_type = 'list' THEN
        DELETE FROM lead_list_items WHERE lead_id = OLD.lead_id AND name = OLD.name;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.value_type = 'list' THEN
        INSERT INTO lead_list_items (lead_id, name, item)
            SELECT NEW.lead_id, NEW.name, e.element #>> '{}'
            FROM jsonb_array_elements(CAST(NEW.json_value AS jsonb) -> 'value') AS e(element)
            WHERE jsonb_typeof(e.element) = 'string'
            ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER lead_list_items_follow AFTER INSERT OR UPDATE OR DELETE ON lead_properties
    FOR EACH ROW EXECUTE FUNCTION lead_list_items_follow();
