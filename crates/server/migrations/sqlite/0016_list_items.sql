-- A list property's items as rows (issue 16): "Interests list contains Shoes" reads the index
-- (name, item, lead_id) like an equals, instead of opening every lead's list with json_each
-- (store/sql.rs compiles `list_contains` against this table). Triggers keep it in step with
-- `lead_properties` on every write path (edits, tracking, identify, import, merge, removal), so
-- no writer has to know about it. Items are matched exactly, as before. A list may hold an item
-- twice (append): the triggers insert DISTINCT items, since inside a trigger fired by an upsert
-- SQLite applies the outer statement's conflict policy, not the trigger's OR IGNORE.
CREATE TABLE lead_list_items (
    lead_id INTEGER NOT NULL REFERENCES leads (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    item TEXT NOT NULL,
    PRIMARY KEY (lead_id, name, item)
) WITHOUT ROWID;

CREATE INDEX lead_list_items_item ON lead_list_items (name, item, lead_id);

INSERT OR IGNORE INTO lead_list_items (lead_id, name, item)
    SELECT p.lead_id, p.name, j.value
    FROM lead_properties p, json_each(p.json_value, '$.value') j
    WHERE p.value_type = 'list' AND j.type = 'text';

CREATE TRIGGER lead_list_items_insert AFTER INSERT ON lead_properties
WHEN NEW.value_type = 'list'
BEGIN
    INSERT OR IGNORE INTO lead_list_items (lead_id, name, item)
        SELECT DISTINCT NEW.lead_id, NEW.name, j.value FROM json_each(NEW.json_value, '$.value') j
        WHERE j.type = 'text';
END;

CREATE TRIGGER lead_list_items_update AFTER UPDATE ON lead_properties
WHEN OLD.value_type = 'list' OR NEW.value_type = 'list'
BEGIN
    DELETE FROM lead_list_items WHERE lead_id = OLD.lead_id AND name = OLD.name;
    INSERT OR IGNORE INTO lead_list_items (lead_id, name, item)
        SELECT DISTINCT NEW.lead_id, NEW.name, j.value FROM json_each(NEW.json_value, '$.value') j
        WHERE NEW.value_type = 'list' AND j.type = 'text';
END;

CREATE TRIGGER lead_list_items_delete AFTER DELETE ON lead_properties
WHEN OLD.value_type = 'list'
BEGIN
    DELETE FROM lead_list_items WHERE lead_id = OLD.lead_id AND name = OLD.name;
END;
