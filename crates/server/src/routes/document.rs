//! The answers every route shares, written into the OpenAPI document once from each operation's
//! shape instead of on every route: a session route may answer 401 and, when it changes state,
//! 403; a JSON body may be refused with 400, 413, 415 or 422; query parameters with 400 or 422;
//! a path parameter names nothing (404) or holds a NUL (422). Routes keep their own answers;
//! only missing ones are added, so a new route is described right without repeating the block.

use serde_json::{Map, Value, json};

const ERROR_BODY: &str = "#/components/schemas/ErrorBody";

/// The document as served: utoipa's, completed by [`complete`].
pub fn render(doc: &utoipa::openapi::OpenApi) -> Result<String, serde_json::Error> {
    let mut value = serde_json::to_value(doc)?;
    complete(&mut value);
    serde_json::to_string(&value)
}

/// The NUL rule (`leadcard_core::text`) as a schema pattern.
const NO_NUL: &str = "^[^\\u0000]*$";

/// Any JSON value without a NUL in any string or key: what an object's undeclared properties may
/// hold (they are read by nothing, but a NUL anywhere refuses the whole body).
const JSON_WITHOUT_NUL: &str = "JsonWithoutNul";

/// Adds the shared answers and the CSRF header to every operation of `doc`, and the NUL rule to
/// every string that has no pattern, format or list of values of its own and to every object's
/// undeclared properties.
fn complete(doc: &mut Value) {
    refuse_nul(doc);
    if let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) {
        let any = json!({"$ref": format!("#/components/schemas/{JSON_WITHOUT_NUL}")});
        schemas.insert(
            JSON_WITHOUT_NUL.to_owned(),
            json!({"anyOf": [
                {"type": ["null", "boolean", "number"]},
                {"type": "string", "pattern": NO_NUL},
                {"type": "array", "items": any},
                {"type": "object", "propertyNames": {"pattern": NO_NUL}, "additionalProperties": any},
            ]}),
        );
    }
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, operation) in item.iter_mut() {
            if let Some(operation) = operation.as_object_mut() {
                complete_operation(method, operation);
            }
        }
    }
}

fn refuse_nul(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let is_string = match map.get("type") {
                Some(Value::String(t)) => t == "string",
                Some(Value::Array(types)) => types.iter().any(|t| t == "string"),
                _ => false,
            };
            if is_string && !["pattern", "format", "enum", "const"].iter().any(|k| map.contains_key(*k)) {
                map.insert("pattern".to_owned(), Value::String(NO_NUL.to_owned()));
            }
            if map.get("type").is_some_and(|t| t == "object") && !map.contains_key("additionalProperties") {
                let any = json!({"$ref": format!("#/components/schemas/{JSON_WITHOUT_NUL}")});
                map.insert("additionalProperties".to_owned(), any);
                map.entry("propertyNames").or_insert_with(|| json!({"pattern": NO_NUL}));
            }
            map.values_mut().for_each(refuse_nul);
        }
        Value::Array(items) => items.iter_mut().for_each(refuse_nul),
        _ => {}
    }
}

fn complete_operation(method: &str, op: &mut Map<String, Value>) {
    let in_params = |place: &str| {
        op.get("parameters").and_then(Value::as_array).is_some_and(|ps| ps.iter().any(|p| p["in"] == place))
    };
    let (path_params, query_params) = (in_params("path"), in_params("query"));
    let takes_json = op.get("requestBody").is_some_and(|b| b["content"]["application/json"].is_object());
    let session = op
        .get("security")
        .and_then(Value::as_array)
        .is_some_and(|reqs| reqs.iter().any(|r| r.get("session").is_some()));
    let changes_state = ["post", "put", "patch", "delete"].contains(&method);

    let mut add = |status: u16, description: &str| {
        let responses = op.entry("responses").or_insert_with(|| json!({}));
        if let Some(responses) = responses.as_object_mut() {
            responses.entry(status.to_string()).or_insert_with(|| {
                json!({
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": ERROR_BODY}}},
                })
            });
        }
    };
    if session {
        add(401, "`unauthenticated`: no live session");
    }
    if session && changes_state {
        add(403, "`csrf`: neither a JSON body nor `X-Requested-With: leadcard`");
    }
    if takes_json {
        add(400, "`invalid_json`: the body is not JSON");
        add(413, "`payload_too_large`");
        add(415, "`unsupported_media_type`: the body is not `application/json`");
    }
    if query_params {
        add(400, "`invalid_query`: the query string does not parse");
    }
    if path_params {
        add(404, "`not_found`: nothing has this id");
    }
    if takes_json || query_params || path_params {
        add(422, "`invalid`, naming the field: a value out of its rules, or text holding NUL (U+0000)");
    }
    if session && changes_state && !takes_json {
        let header = json!({
            "name": "X-Requested-With", "in": "header", "required": true,
            "description": "`leadcard`: proves the request comes from the console's own code (CSRF)",
            "schema": {"type": "string", "enum": ["leadcard"]},
        });
        let params = op.entry("parameters").or_insert_with(|| json!([]));
        if let Some(params) = params.as_array_mut() {
            params.push(header);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_answers_are_added_from_the_operation_shape_and_own_ones_kept() {
        let mut doc = json!({"paths": {"/leads/{id}/hide": {"post": {
            "parameters": [{"name": "id", "in": "path", "required": true}],
            "security": [{"session": []}],
            "responses": {"200": {"description": "ok"}, "404": {"description": "own"}},
        }}}});
        complete(&mut doc);
        let op = &doc["paths"]["/leads/{id}/hide"]["post"];
        let mut statuses: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
        statuses.sort();
        assert_eq!(statuses, ["200", "401", "403", "404", "422"]);
        assert_eq!(op["responses"]["404"]["description"], "own");
        assert_eq!(op["parameters"][1]["name"], "X-Requested-With");
    }

    #[test]
    fn strings_without_rules_of_their_own_refuse_nul() {
        let mut doc = json!({"components": {"schemas": {"S": {"properties": {
            "free": {"type": ["string", "null"]},
            "at": {"type": "string", "format": "date-time"},
            "id": {"type": "string", "pattern": "^[a-z]+$"},
        }}}}});
        complete(&mut doc);
        let properties = &doc["components"]["schemas"]["S"]["properties"];
        assert_eq!(properties["free"]["pattern"], NO_NUL);
        assert!(properties["at"].get("pattern").is_none());
        assert_eq!(properties["id"]["pattern"], "^[a-z]+$");
    }

    #[test]
    fn a_json_body_may_be_refused_by_its_type_and_shape() {
        let mut doc = json!({"paths": {"/session": {"post": {
            "requestBody": {"content": {"application/json": {}}},
            "responses": {"200": {"description": "ok"}},
        }}}});
        complete(&mut doc);
        let mut statuses: Vec<String> =
            doc["paths"]["/session"]["post"]["responses"].as_object().unwrap().keys().cloned().collect();
        statuses.sort();
        assert_eq!(statuses, ["200", "400", "413", "415", "422"]);
        assert!(doc["paths"]["/session"]["post"].get("parameters").is_none());
    }
}
