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

/// Adds the shared answers and the CSRF header to every operation of `doc`.
fn complete(doc: &mut Value) {
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
