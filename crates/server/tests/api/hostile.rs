//! Hostile text on every route of the OpenAPI document: NUL, other control characters, 4-byte
//! UTF-8 and 1 MB strings in every path and query parameter and in every string of a valid body.
//! Never a 5xx; a 422 names its field; a NUL is always a 422 naming exactly where it was (the rule
//! of `leadcard_core::text`); and with `LEADCARD_TEST_POSTGRES_URL` set, SQLite and PostgreSQL
//! give the same answers, request for request. Routes come from the document, so a new route is
//! covered as soon as it is documented (one with a JSON body fails here until `valid_body` has one).

use leadcard_core::PropertyValue;
use leadcard_server::tracking::user_hash;
use reqwest::{Method, Response};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, spawn_app_with, text};

const WEBHOOK_SECRET: &str = "hostile-hook-secret";

/// Text no field may hold.
const NUL: &str = "a\u{0}b";

/// What goes into URLs; a 1 MB URL is refused by the HTTP layer before the API sees it.
fn url_values() -> Vec<(&'static str, String)> {
    vec![
        ("NUL", NUL.to_owned()),
        ("control characters", "a\u{1}\u{7}\u{1b}[31m\u{7f}\u{85}\u{9b}\r\n\tb".to_owned()),
        ("4-byte UTF-8", "😀𝄞\u{10FFFF}".to_owned()),
    ]
}

fn body_values() -> Vec<(&'static str, String)> {
    let mut values = url_values();
    values.push(("1 MB", "x".repeat(1 << 20)));
    values
}

/// One server and the rows the routes' parameters point at.
struct Target {
    app: TestApp,
    _dir: tempfile::TempDir,
    key: String,
    secret: String,
    operator: i64,
    lead: i64,
    /// A second lead, merged into `lead` by the merge route's documented call.
    spare: i64,
    note: i64,
    segment: i64,
    conversation: i64,
    /// The reply address of an email conversation with the lead, for the inbound-email webhook.
    reply_to: String,
}

async fn target(postgres: bool) -> Target {
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}/hostile.db", dir.path().display());
    let app = spawn_app_with(|config| {
        if !postgres {
            config.database.database_url = sqlite;
        }
        config.mail.webhook_secret = Some(WEBHOOK_SECRET.to_owned());
        // Thousands of calls in seconds: the per-project rate must not decide any answer.
        config.tracking.track_rate = 1_000_000;
    })
    .await;
    let operator = app.signed_in_admin().await.id;
    let project = app.store.ensure_project(app.clock.now()).await.unwrap();
    let lead = app
        .add_lead(&[("$email", text("lena@example.com")), ("plan", PropertyValue::Text("pro".into()))], &["vip"])
        .await;
    let spare = app.add_lead(&[("plan", PropertyValue::Text("team".into()))], &[]).await;
    let created = |response: Response| async move {
        let status = response.status();
        let body = response.json::<Value>().await.unwrap();
        assert!(status.is_success(), "fixture: {status} {body}");
        body
    };
    let note = created(app.post_json(&format!("/api/v1/leads/{lead}/notes"), &json!({"body": "called"})).await).await;
    let segment = created(
        app.post_json(
            "/api/v1/segments",
            &json!({"name": "Fixture", "filter": {"all": [{"kind": "tag", "tag": "vip"}]}}),
        )
        .await,
    )
    .await;
    let sent = created(
        app.post_json(
            &format!("/api/v1/leads/{lead}/messages"),
            &json!({"channel": "chat", "body": "hello", "idempotency_key": "fixture-chat"}),
        )
        .await,
    )
    .await;
    let mailed = json!({"channel": "email", "subject": "Hi", "body": "hello", "idempotency_key": "fixture-mail"});
    created(app.post_json(&format!("/api/v1/leads/{lead}/messages"), &mailed).await).await;
    let token: String = sqlx::query_scalar("SELECT reply_token FROM conversations WHERE channel = 'email'")
        .fetch_one(&mut app.db().await)
        .await
        .unwrap();
    Target {
        reply_to: format!("reply+{token}@leadcard.test"),
        key: project.public_key,
        secret: project.secret_key,
        operator,
        lead,
        spare,
        note: note["id"].as_i64().unwrap(),
        segment: segment["id"].as_i64().unwrap(),
        conversation: sent["conversation"]["id"].as_i64().unwrap(),
        app,
        _dir: dir,
    }
}

/// A body each JSON-taking route accepts; `{n}` becomes a number new for each request (names and
/// idempotency keys that must not repeat).
fn valid_body(t: &Target, method: &Method, path: &str) -> Option<Value> {
    let hash = user_hash(&t.secret, "u-1");
    let add = json!({"op": "set", "name": "plan", "value": {"type": "text", "value": "team"}});
    let body = match (method.as_str(), path) {
        ("POST", "/api/v1/session") => json!({"email": "ada@leadcard.test", "password": PASSWORD}),
        ("PATCH", "/api/v1/leads/{id}/properties") => json!({"operations": [add]}),
        ("POST", "/api/v1/leads") => json!({
            "properties": [{"name": "$name", "value": {"type": "text", "value": "Hand {n}"}},
                {"name": "$user_id", "value": {"type": "text", "value": "hand-{n}"}}],
            "tags": ["t{n}"],
        }),
        ("POST", "/api/v1/leads/{id}/tags") => json!({"tag": "t{n}"}),
        ("POST", "/api/v1/leads/{id}/notes") | ("PATCH", "/api/v1/leads/{id}/notes/{note_id}") => {
            json!({"body": "note {n}"})
        }
        ("PUT", "/api/v1/pins") => json!({"names": ["plan", "$city"]}),
        ("POST", "/api/v1/segments") | ("PUT", "/api/v1/segments/{id}") => {
            json!({"name": "S{n}", "filter": {"all": [{"kind": "property", "name": "plan", "op": "equals", "value": "pro"}]}})
        }
        ("POST", "/api/v1/segments/count") => {
            json!({"filter": {"all": [{"kind": "property", "name": "plan", "op": "equals", "value": "pro"}]}})
        }
        ("POST", "/api/v1/leads/{id}/events") => {
            json!({"name": "Called {n}", "properties": {"topic": {"type": "text", "value": "billing"}}})
        }
        ("PUT", "/api/v1/settings/email") => {
            json!({"double_opt_in": false, "soft_bounce_cool_down_hours": 24, "soft_bounces_to_hard": 3})
        }
        ("POST", "/api/v1/campaigns") => json!({"subject": "News {n}", "body": "Hello"}),
        ("POST", "/api/v1/conversations/{id}/messages") => {
            json!({"body": "reply {n}", "idempotency_key": "key-{n}-conv"})
        }
        ("POST", "/api/v1/leads/{id}/messages") => {
            json!({"channel": "email", "subject": "Hi", "body": "mail {n}", "idempotency_key": "key-{n}-lead"})
        }
        ("POST", "/api/v1/conversations/{id}/assign") => json!({"operator_id": t.operator}),
        ("POST", "/api/v1/track/events") => json!({
            "visitor_id": "v-{n}", "session_id": "s-{n}",
            "events": [{"name": "Added to cart", "properties": {"sku": "A-1", "tags": ["a", "b"]}}],
        }),
        ("POST", "/api/v1/track/heartbeat") => json!({
            "visitor_id": "v-{n}", "session_id": "s-{n}", "url": "https://shop.example/p", "title": "Shop", "active": true,
        }),
        ("POST", "/api/v1/track/identify") => json!({
            "visitor_id": "v-{n}", "user_id": "u-1", "user_hash": hash,
            "properties": [{"op": "set", "name": "$email", "value": {"type": "text", "value": "u{n}@example.com"}}],
        }),
        ("POST", "/api/v1/track/messages") => {
            json!({"visitor_id": "v-chat", "body": "hi {n}", "idempotency_key": "key-{n}-widget"})
        }
        ("POST", "/api/v1/track/messages/seen") => json!({"visitor_id": "v-chat", "message_ids": []}),
        ("POST", "/api/v1/webhooks/inbound-email") => json!({
            "from": "lena@example.com", "to": t.reply_to, "subject": "Re: hi",
            "text": "thanks {n}", "message_id": "<m{n}@example.com>",
        }),
        ("POST", "/api/v1/webhooks/email") => {
            json!({"address": "lena@example.com", "status_code": "4.2.2", "smtp_code": 452, "reason": "mailbox full"})
        }
        ("DELETE", "/api/v1/leads/{id}") => json!({"confirm": "lena@example.com"}),
        ("POST", "/api/v1/imports/{id}/run") => json!({
            "mapping": [{"to": "property", "name": "$email", "ty": "text"}, {"to": "property", "name": "plan {n}", "ty": "text"}],
            "on_match": "update", "dry_run": true,
        }),
        ("POST", "/api/v1/leads/{id}/merge") => json!({"other": t.spare, "take": ["plan"]}),
        ("POST", "/api/v1/leads/bulk") => json!({
            "selection": {"q": "lena", "filter": {"all": [{"kind": "tag", "tag": "vip"}]}},
            "action": {"kind": "add_tag", "tag": "t{n}"},
        }),
        ("POST", "/api/v1/leads/bulk/count") => json!({"selection": {"q": "lena"}}),
        ("POST", "/api/v1/operator-accounts") => {
            json!({"email": "op{n}@example.com", "name": "Operator {n}", "role": "operator"})
        }
        // Never `disabled`: the id may be the test's own operator (the last admin stays anyway).
        ("PATCH", "/api/v1/operator-accounts/{id}") => json!({"role": "admin"}),
        ("POST", "/api/v1/password-links/use") => {
            json!({"token": "not-a-link-token-{n}", "password": "a long enough passphrase {n}"})
        }
        // A wrong current password: the test's own session and password stay as they are.
        ("PATCH", "/api/v1/account") => json!({"language": "ru"}),
        ("PUT", "/api/v1/account/password") => {
            json!({"current_password": "not the password {n}", "new_password": "a long enough passphrase {n}"})
        }
        _ => return None,
    };
    Some(body)
}

/// What one request answered, as compared between databases.
#[derive(Debug, PartialEq)]
struct Answer {
    case: String,
    status: u16,
    code: Option<String>,
    field: Option<String>,
}

struct Operation {
    method: Method,
    path: String,
    path_params: Vec<String>,
    query_params: Vec<(String, bool)>,
    takes_json: bool,
    if_match: bool,
    /// Required headers with a fixed value (`X-Requested-With: leadcard`).
    fixed_headers: Vec<(String, String)>,
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Ok(method) = method.to_uppercase().parse::<Method>() else { continue };
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let of = |place: &'static str| params.iter().filter(move |p| p["in"] == place);
            let if_match = of("header").any(|p| p["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case("if-match")))
                || (method == Method::PATCH && path.ends_with("/properties"));
            ops.push(Operation {
                path_params: of("path").map(|p| p["name"].as_str().unwrap().to_owned()).collect(),
                query_params: of("query")
                    .map(|p| (p["name"].as_str().unwrap().to_owned(), p["required"] == true))
                    .collect(),
                takes_json: op["requestBody"]["content"]["application/json"].is_object(),
                fixed_headers: of("header")
                    .filter(|p| p["required"] == true)
                    .filter_map(|p| Some((p["name"].as_str()?.to_owned(), p["schema"]["enum"][0].as_str()?.to_owned())))
                    .collect(),
                if_match,
                method,
                path: path.clone(),
            });
        }
    }
    // Removals, then signing out, last: every other route still finds what it points at.
    ops.sort_by_key(|op| (op.method == Method::DELETE, op.path == "/api/v1/session"));
    ops
}

/// Every string (and object key) of `value`, by its field path as the API names it.
fn string_leaves(value: &Value, path: &str, out: &mut Vec<String>) {
    match value {
        Value::String(_) => out.push(path.to_owned()),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_leaves(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (key, item) in map {
                let inner = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
                string_leaves(item, &inner, out);
            }
        }
        _ => {}
    }
}

/// `value` with the string at `path` replaced by `with`.
fn replaced(value: &Value, path: &str, with: &str) -> Value {
    let mut value = value.clone();
    let mut at = &mut value;
    for part in path.split('.') {
        let (key, indexes) = part.split_once('[').map_or((part, ""), |(k, rest)| (k, rest));
        if !key.is_empty() {
            at = &mut at[key];
        }
        for index in indexes.split('[').filter(|i| !i.is_empty()) {
            at = &mut at[index.trim_end_matches(']').parse::<usize>().unwrap()];
        }
    }
    *at = Value::String(with.to_owned());
    value
}

fn numbered(value: &Value, n: u64) -> Value {
    match value {
        Value::String(s) => Value::String(s.replace("{n}", &n.to_string())),
        Value::Array(items) => Value::Array(items.iter().map(|v| numbered(v, n)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), numbered(v, n))).collect()),
        other => other.clone(),
    }
}

fn encoded(segment: &str) -> String {
    url::form_urlencoded::byte_serialize(segment.as_bytes()).collect::<String>().replace('+', "%20")
}

impl Target {
    fn path_value(&self, path: &str, param: &str) -> String {
        match param {
            "note_id" => self.note.to_string(),
            "tag" => "vip".to_owned(),
            "token" => "not-a-token".to_owned(),
            _ if path.starts_with("/api/v1/segments/") => self.segment.to_string(),
            _ if path.starts_with("/api/v1/conversations/") => self.conversation.to_string(),
            _ => self.lead.to_string(),
        }
    }

    /// A required query parameter's valid value (only the widget's `visitor_id` is required).
    fn query_value(&self, _name: &str) -> String {
        "v-chat".to_owned()
    }

    async fn send(
        &self,
        op: &Operation,
        path_values: &[(String, String)],
        query: &[(String, String)],
        body: Option<&Value>,
    ) -> Response {
        let mut url = op.path.clone();
        for (name, value) in path_values {
            url = url.replace(&format!("{{{name}}}"), &encoded(value));
        }
        let mut request = self.app.client.request(op.method.clone(), self.app.url(&url)).query(query);
        if op.path.starts_with("/api/v1/track/") {
            request = request.header("x-leadcard-key", &self.key);
        }
        if op.path.starts_with("/api/v1/webhooks/") {
            request = request.header("x-leadcard-webhook-secret", WEBHOOK_SECRET);
        }
        for (name, value) in &op.fixed_headers {
            request = request.header(name, value);
        }
        if op.if_match {
            let card = self.app.get(&format!("/api/v1/leads/{}", self.lead)).await;
            request = request.header("if-match", card.headers()["etag"].clone());
        }
        if let Some(body) = body {
            request = request.json(body);
        } else if op.path == "/api/v1/imports" {
            // The upload's body is the CSV file itself.
            request = request.header("content-type", "text/csv").body("Email,Plan\r\nlena@example.com,pro\r\n");
        }
        request.send().await.unwrap()
    }
}

async fn answer(case: String, response: Response) -> Answer {
    let status = response.status().as_u16();
    let json = response.headers().get("content-type").is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let error = if status >= 400 && json { response.json::<Value>().await.ok() } else { None };
    let text = |key: &str| error.as_ref().and_then(|e| e["error"][key].as_str()).map(str::to_owned);
    Answer { status, code: text("code"), field: text("field"), case }
}

/// Sends every hostile value to every text place of every documented route of `t`.
async fn run(t: &Target) -> Vec<Answer> {
    let doc = t.app.get_json("/api/v1/openapi.json").await;
    let mut answers = Vec::new();
    let mut n = 0;
    for op in operations(&doc) {
        let label = format!("{} {}", op.method, op.path);
        let base_path: Vec<(String, String)> =
            op.path_params.iter().map(|p| (p.clone(), t.path_value(&op.path, p))).collect();
        let base_query: Vec<(String, String)> = op
            .query_params
            .iter()
            .filter(|(_, required)| *required)
            .map(|(q, _)| (q.clone(), t.query_value(q)))
            .collect();
        let body = if op.takes_json {
            let body = valid_body(t, &op.method, &op.path);
            Some(body.unwrap_or_else(|| panic!("{label} takes a JSON body: give it a valid one in valid_body")))
        } else {
            None
        };
        let mut next_body = || {
            n += 1;
            body.as_ref().map(|b| numbered(b, n))
        };

        if op.method != Method::DELETE {
            let response = t.send(&op, &base_path, &base_query, next_body().as_ref()).await;
            let a = answer(format!("{label}: as documented"), response).await;
            // The body given is accepted (a mail link's token cannot be made here: 400 is its answer).
            let accepted = a.status < 400
                || [404, 409].contains(&a.status)
                || !op.path.starts_with("/api/v1/")
                // The current password is deliberately wrong (see valid_body): refused by name.
                || (op.path == "/api/v1/account/password" && a.field.as_deref() == Some("current_password"))
                // Nor can a set-password link's token be made here.
                || (op.path == "/api/v1/password-links/use" && a.field.as_deref() == Some("token"));
            assert!(accepted && a.status < 500, "{a:?}");
            answers.push(a);
        }
        for (i, (param, _)) in base_path.iter().enumerate() {
            for (kind, value) in url_values() {
                let mut path = base_path.clone();
                path[i].1 = value;
                let response = t.send(&op, &path, &base_query, next_body().as_ref()).await;
                answers.push(checked(answer(format!("{label}: {kind} in path {param}"), response).await, kind, param));
            }
        }
        for (param, _) in &op.query_params {
            for (kind, value) in url_values() {
                let mut query: Vec<_> = base_query.iter().filter(|(q, _)| q != param).cloned().collect();
                query.push((param.clone(), value));
                let response = t.send(&op, &base_path, &query, next_body().as_ref()).await;
                answers.push(checked(answer(format!("{label}: {kind} in query {param}"), response).await, kind, param));
            }
        }
        if let Some(body) = &body {
            let mut leaves = Vec::new();
            string_leaves(body, "", &mut leaves);
            for leaf in leaves {
                for (kind, value) in body_values() {
                    let sent = replaced(&next_body().unwrap(), &leaf, &value);
                    let response = t.send(&op, &base_path, &base_query, Some(&sent)).await;
                    answers.push(checked(
                        answer(format!("{label}: {kind} in body {leaf}"), response).await,
                        kind,
                        &leaf,
                    ));
                }
            }
        }
    }
    answers
}

/// Never a server error; a 422 names its field; a NUL is refused naming `place`.
fn checked(a: Answer, kind: &str, place: &str) -> Answer {
    assert!(a.status < 500, "{a:?}");
    if a.status == 422 {
        assert!(a.field.as_deref().is_some_and(|f| !f.is_empty()), "a 422 names its field: {a:?}");
    }
    if kind == "NUL" {
        assert_eq!((a.status, a.field.as_deref()), (422, Some(place)), "{a:?}");
    }
    a
}

#[tokio::test]
async fn hostile_text_on_every_route_is_refused_by_name_or_kept_alike_on_both_databases() {
    let sqlite = target(false).await;
    let on_sqlite = run(&sqlite).await;
    assert!(on_sqlite.len() > 500, "{} requests: the document lost its routes?", on_sqlite.len());
    let postgres = std::env::var("LEADCARD_TEST_POSTGRES_URL").is_ok_and(|url| !url.is_empty());
    if postgres {
        let on_postgres = run(&target(true).await).await;
        for (s, p) in on_sqlite.iter().zip(&on_postgres) {
            assert_eq!(s, p, "SQLite and PostgreSQL answer alike");
        }
        assert_eq!(on_sqlite.len(), on_postgres.len());
    }
}

/// The cases of issue 17, one by one, as a reader would try them.
#[tokio::test]
async fn the_reported_nul_cases_are_422_naming_the_field() {
    let app = spawn_app_with(|_| {}).await;
    let nul_sign_in =
        app.client.post(app.url("/api/v1/session")).json(&json!({"email": NUL, "password": "x"})).send().await.unwrap();
    assert_eq!(field_of(nul_sign_in).await, (422, "email".to_owned()));
    app.signed_in().await;
    let lead = app.add_lead(&[], &[]).await;
    let email = json!([{"op": "set", "name": "$email", "value": {"type": "text", "value": "a\u{0}b@example.com"}}]);
    let card = app.get(&format!("/api/v1/leads/{lead}")).await;
    let version = crate::helpers::etag_version(&card);
    assert_eq!(field_of(app.patch(lead, email, Some(version)).await).await, (422, "operations[0].value.value".into()));
    assert_eq!(field_of(app.leads(&[("q", NUL)]).await).await, (422, "q".to_owned()));
    let filter = json!({"all": [{"kind": "property", "name": "plan", "op": "is", "value": NUL}]}).to_string();
    assert_eq!(field_of(app.leads(&[("filter", &filter)]).await).await, (422, "filter.all[0].value".to_owned()));
    let event = app.post_json(&format!("/api/v1/leads/{lead}/events"), &json!({"name": NUL})).await;
    assert_eq!(field_of(event).await, (422, "name".to_owned()));
    // Control characters in a name are refused by the name's own rule, on both databases.
    let event = app.post_json(&format!("/api/v1/leads/{lead}/events"), &json!({"name": "a\u{1}b"})).await;
    assert_eq!(field_of(event).await, (422, "name".to_owned()));
    // Nothing was stored by any of them.
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM events WHERE lead_id = {lead}")).await, 0);
}

/// Headers need no rule of their own: the HTTP parser refuses control characters in them, so a
/// NUL in the user agent the tracking API stores never reaches it.
#[tokio::test]
async fn a_nul_in_a_header_is_refused_by_the_http_layer() {
    use std::io::{Read, Write};
    let app = spawn_app_with(|_| {}).await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        let mut stream = std::net::TcpStream::connect(&address).unwrap();
        let request = format!(
            "POST /api/v1/track/events HTTP/1.1\r\nHost: {address}\r\nUser-Agent: a\0b\r\n\
             Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).unwrap();
        answer
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
}

async fn field_of(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    (status, body["error"]["field"].as_str().unwrap_or_default().to_owned())
}
