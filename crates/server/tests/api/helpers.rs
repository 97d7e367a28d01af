//! Starting a test server and talking to it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use leadcard_core::wire::{Operator, Role};
use leadcard_core::{PropertyName, PropertyValue};
use leadcard_server::auth::password::hash_password;
use leadcard_server::config::{DatabaseArgs, MailArgs};
use leadcard_server::store::{NewLead, NewOperator, Store};
use leadcard_server::{AppState, Application, Clock, Config};
use reqwest::{Client, Response};
use serde_json::{Value, json};
use sqlx::{Connection, Executor};

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    /// Keeps cookies, like a browser.
    pub client: Client,
    pub store: Store,
    pub clock: Arc<Clock>,
    /// The server's state, for running its background jobs now (the segment job).
    pub state: AppState,
    /// The test's own database, for a second server on it or for reading it directly.
    pub database_url: String,
    _dir: tempfile::TempDir,
}

pub fn default_config(database_url: String, dir: &std::path::Path) -> Config {
    Config {
        bind: "127.0.0.1:0".parse().unwrap(),
        database: DatabaseArgs { database_url },
        dist: dir.join("dist"),
        seed_demo: false,
        secure_cookies: false,
        session_idle_minutes: 30,
        session_absolute_hours: 12,
        tracking: Default::default(),
        trusted_proxy: Vec::new(),
        request_timeout_secs: 30,
        geoip_db: None,
        avatar_allow_ip: Vec::new(),
        import_max_mb: 1_024,
        test_mode: false,
        mail: MailArgs::default(),
    }
}

/// A fresh, empty database: a new PostgreSQL database on `LEADCARD_TEST_POSTGRES_URL`'s server,
/// or an SQLite file in `dir`.
pub async fn fresh_database(dir: &std::path::Path) -> String {
    match std::env::var("LEADCARD_TEST_POSTGRES_URL") {
        Ok(admin_url) if !admin_url.is_empty() => {
            static NEXT: AtomicU64 = AtomicU64::new(0);
            let name = format!(
                "t_{}_{}_{}",
                std::process::id(),
                Utc::now().timestamp_micros(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            );
            sqlx::any::install_default_drivers();
            let mut admin = sqlx::AnyConnection::connect(&admin_url).await.expect("PostgreSQL for tests");
            admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
            admin.close().await.unwrap();
            let (server, _) = admin_url.rsplit_once('/').expect("a postgres:// URL with a database");
            format!("{server}/{name}")
        }
        _ => format!("sqlite://{}/test.db", dir.display()),
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(customize: impl FnOnce(&mut Config)) -> TestApp {
    leadcard_server::avatar::install_tls_provider();
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(dir.path()).await;
    let mut config = default_config(database_url.clone(), dir.path());
    customize(&mut config);
    let database_url = config.database.database_url.clone();
    let app = Application::build(config).await.expect("the server starts");
    let base = format!("http://127.0.0.1:{}", app.port());
    let store = app.store();
    let clock = app.clock();
    let state = app.state();
    tokio::spawn(app.run_until_stopped());
    TestApp { base, client: new_client(), store, clock, state, database_url, _dir: dir }
}

impl TestApp {
    /// A second server instance on the same database, as behind a load balancer.
    pub async fn twin(&self) -> TestApp {
        spawn_another_on(self, |_| {}).await
    }
}

pub fn new_client() -> Client {
    leadcard_server::avatar::install_tls_provider();
    Client::builder().cookie_store(true).build().unwrap()
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn add_operator(&self, email: &str) -> Operator {
        self.add_operator_with_role(email, Role::Operator).await
    }

    pub async fn add_operator_with_role(&self, email: &str, role: Role) -> Operator {
        let password_hash = tokio::task::spawn_blocking(|| hash_password(PASSWORD)).await.unwrap().unwrap();
        let new = NewOperator { email: email.to_owned(), name: "Test Operator".to_owned(), role, password_hash };
        self.store.create_operator(&new, self.clock.now()).await.unwrap()
    }

    pub async fn sign_in_with(&self, client: &Client, email: &str, password: &str) -> Response {
        client
            .post(self.url("/api/v1/session"))
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .unwrap()
    }

    /// Adds an operator and signs `self.client` in as them.
    pub async fn signed_in(&self) -> Operator {
        let operator = self.add_operator("anna@leadcard.test").await;
        let response = self.sign_in_with(&self.client, "anna@leadcard.test", PASSWORD).await;
        assert_eq!(response.status(), 200);
        operator
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "GET {path}");
        response.json().await.unwrap()
    }

    /// `GET` asking for `language` (`Accept-Language`), as the console does for its page's.
    pub async fn get_in(&self, language: &str, path: &str) -> Response {
        self.client.get(self.url(path)).header("accept-language", language).send().await.unwrap()
    }

    /// `GET /api/v1/leads` with these query parameters.
    pub async fn leads(&self, query: &[(&str, &str)]) -> Response {
        self.client.get(self.url("/api/v1/leads")).query(query).send().await.unwrap()
    }

    /// Every lead `GET /api/v1/leads` lists for these query parameters, page by page (`limit`
    /// leads a page) along its cursors, in the list's order.
    pub async fn all_lead_ids(&self, query: &[(&str, &str)], limit: u32) -> Vec<i64> {
        let limit = limit.to_string();
        let (mut found, mut after) = (Vec::new(), None::<String>);
        loop {
            let mut params = query.to_vec();
            params.push(("limit", &limit));
            if let Some(after) = &after {
                params.push(("after", after));
            }
            let response = self.leads(&params).await;
            assert_eq!(response.status(), 200, "{params:?}");
            let page: Value = response.json().await.unwrap();
            found.extend(ids(&page));
            match page["next"].as_str() {
                Some(next) => after = Some(next.to_owned()),
                None => return found,
            }
        }
    }

    /// Every lead that passes all of `conditions`, newest first, walked in pages of 200.
    pub async fn all_ids_where(&self, conditions: Value) -> Vec<i64> {
        self.all_lead_ids(&[("filter", &serde_json::json!({ "all": conditions }).to_string())], 200).await
    }

    /// `GET /api/v1/leads/count` with these query parameters: the `{count, exact}` answered.
    pub async fn lead_count(&self, query: &[(&str, &str)]) -> Value {
        let response = self.client.get(self.url("/api/v1/leads/count")).query(query).send().await.unwrap();
        assert_eq!(response.status(), 200, "count {query:?}");
        response.json().await.unwrap()
    }

    /// The ids of every lead matching a filter (JSON), newest first.
    pub async fn ids_matching(&self, filter: Value) -> Vec<i64> {
        let filter = filter.to_string();
        let response = self.leads(&[("filter", &filter), ("limit", "200")]).await;
        assert_eq!(response.status(), 200, "filter {filter}");
        ids(&response.json().await.unwrap())
    }

    pub async fn add_lead(&self, properties: &[(&str, PropertyValue)], tags: &[&str]) -> i64 {
        self.store.create_lead(&lead(self.clock.now(), properties, tags)).await.unwrap()
    }
}

pub fn lead(created_at: DateTime<Utc>, properties: &[(&str, PropertyValue)], tags: &[&str]) -> NewLead {
    NewLead {
        created_at,
        properties: properties
            .iter()
            .map(|(name, value)| (PropertyName::parse(name).unwrap(), value.clone()))
            .collect(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        last_heartbeat: None,
        last_active: None,
        events: Vec::new(),
    }
}

pub fn text(s: &str) -> PropertyValue {
    PropertyValue::Text(s.to_owned())
}

/// The ids of a `LeadPage`'s items.
pub fn ids(page: &Value) -> Vec<i64> {
    page["items"].as_array().unwrap().iter().map(|item| item["id"].as_i64().unwrap()).collect()
}

/// The `leadcard_session` value a response sets.
pub fn session_token(response: &Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("leadcard_session="))
        .map(|rest| rest.split(';').next().unwrap_or_default().to_owned())
}

/// The status and `error` object of an error answer. Every error carries the request's id, the
/// same as its `X-Request-Id` header: checked here, then left out so errors compare by content.
pub async fn error_of(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let id = response.headers().get("x-request-id").map(|v| v.to_str().unwrap().to_owned());
    let body: Value = response.json().await.expect("a JSON error body");
    let mut error = body["error"].clone();
    let carried = error.as_object_mut().and_then(|e| e.remove("request_id"));
    assert_eq!(carried.as_ref().and_then(Value::as_str), id.as_deref(), "the error's request_id is X-Request-Id");
    assert!(id.is_some(), "an error answer without X-Request-Id");
    (status, error)
}

impl TestApp {
    /// Adds an operator with this email and returns a new client signed in as them.
    pub async fn operator_client(&self, email: &str) -> (Operator, Client) {
        let operator = self.add_operator(email).await;
        let client = new_client();
        assert_eq!(self.sign_in_with(&client, email, PASSWORD).await.status(), 200);
        (operator, client)
    }

    /// `PATCH /api/v1/leads/{id}/properties` from `client`, with `If-Match: "<version>"` when given.
    pub async fn patch_with(&self, client: &Client, id: i64, operations: Value, if_match: Option<i64>) -> Response {
        let mut request = client
            .patch(self.url(&format!("/api/v1/leads/{id}/properties")))
            .json(&json!({ "operations": operations }));
        if let Some(version) = if_match {
            request = request.header("if-match", format!("\"{version}\""));
        }
        request.send().await.unwrap()
    }

    /// [`TestApp::patch_with`] from `self.client`.
    pub async fn patch(&self, id: i64, operations: Value, if_match: Option<i64>) -> Response {
        self.patch_with(&self.client, id, operations, if_match).await
    }

    /// The card of a lead as JSON.
    pub async fn card(&self, id: i64) -> Value {
        self.get_json(&format!("/api/v1/leads/{id}")).await
    }
}

/// A card's property value (`{"type", "value"}`), or null when absent.
pub fn property(card: &Value, name: &str) -> Value {
    card["properties"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == name)
        .map_or(Value::Null, |p| p["value"].clone())
}

/// The version a response's ETag names.
pub fn etag_version(response: &Response) -> i64 {
    let etag = response.headers()["etag"].to_str().unwrap();
    etag.trim_matches('"').parse().unwrap()
}

/// An open `text/event-stream` response, read event by event.
pub struct Events {
    response: Response,
    buffer: String,
}

#[derive(Debug, PartialEq)]
pub struct Received {
    pub id: Option<i64>,
    pub name: Option<String>,
    pub data: String,
}

impl Received {
    /// The `LiveMessage`'s event (`{"kind", ...}`).
    pub fn event(&self) -> Value {
        let message: Value = serde_json::from_str(&self.data).unwrap();
        assert_eq!(message["id"].as_i64(), self.id);
        message["event"].clone()
    }
}

impl Events {
    /// Reads an already open stream response.
    pub fn of(response: Response) -> Events {
        Events { response, buffer: String::new() }
    }

    pub async fn open(app: &TestApp, last_event_id: Option<i64>) -> Events {
        let mut request = app.client.get(app.url("/api/v1/stream"));
        if let Some(id) = last_event_id {
            request = request.header("last-event-id", id.to_string());
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "text/event-stream");
        Events { response, buffer: String::new() }
    }

    /// The next event (keep-alive comments skipped); panics after 5 s without one.
    pub async fn next(&mut self) -> Received {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let mut event = Received { id: None, name: None, data: String::new() };
                let mut any = false;
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("id:") {
                        event.id = Some(v.trim().parse().unwrap());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("event:") {
                        event.name = Some(v.trim().to_owned());
                        any = true;
                    } else if let Some(v) = line.strip_prefix("data:") {
                        event.data.push_str(v.trim_start());
                        any = true;
                    }
                }
                if any {
                    return event;
                }
                continue;
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), self.response.chunk())
                .await
                .expect("no event within 5 s")
                .unwrap()
                .expect("the stream ended");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }

    /// The next event whose `kind` is `kind`, skipping others.
    pub async fn next_of(&mut self, kind: &str) -> Value {
        loop {
            let event = self.next().await.event();
            if event["kind"] == kind {
                return event;
            }
        }
    }

    /// Asserts nothing arrives within `wait`.
    pub async fn silent_for(&mut self, wait: std::time::Duration) {
        if let Ok(chunk) = tokio::time::timeout(wait, self.response.chunk()).await {
            let chunk = chunk.unwrap().unwrap_or_default();
            let text = String::from_utf8_lossy(&chunk);
            assert!(text.trim().is_empty() || text.starts_with(':'), "unexpected event: {text}");
        }
    }
}
impl TestApp {
    /// Adds an admin and signs `self.client` in as them.
    pub async fn signed_in_admin(&self) -> Operator {
        let operator = self.add_operator_with_role("ada@leadcard.test", Role::Admin).await;
        let response = self.sign_in_with(&self.client, "ada@leadcard.test", PASSWORD).await;
        assert_eq!(response.status(), 200);
        operator
    }

    /// `POST` with a JSON body from `self.client`.
    pub async fn post_json(&self, path: &str, body: &Value) -> Response {
        self.client.post(self.url(path)).json(body).send().await.unwrap()
    }

    /// `POST` without a body, with the header the app sends.
    pub async fn post_empty(&self, path: &str) -> Response {
        self.client.post(self.url(path)).header("x-requested-with", "leadcard").send().await.unwrap()
    }

    /// A direct connection to the test's database.
    pub async fn db(&self) -> sqlx::AnyConnection {
        sqlx::any::install_default_drivers();
        sqlx::AnyConnection::connect(&self.database_url).await.unwrap()
    }

    /// `SELECT COUNT(*) ...` on the test's database.
    pub async fn count(&self, sql: &str) -> i64 {
        let mut db = self.db().await;
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned())).fetch_one(&mut db).await.unwrap()
    }

    /// The live events stored so far, as JSON.
    pub async fn live_events(&self) -> Vec<Value> {
        let rows = self.store.live_events(0, i64::MAX, 100_000).await.unwrap();
        rows.iter().map(|row| serde_json::from_str(&row.payload).unwrap()).collect()
    }
}

/// A second server on `app`'s database, with its own clock.
pub async fn spawn_another_on(app: &TestApp, customize: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = default_config(app.database_url.clone(), dir.path());
    customize(&mut config);
    let database_url = config.database.database_url.clone();
    let server = Application::build(config).await.expect("the second server starts");
    let base = format!("http://127.0.0.1:{}", server.port());
    let (store, clock, state) = (server.store(), server.clock(), server.state());
    tokio::spawn(server.run_until_stopped());
    TestApp { base, client: new_client(), store, clock, state, database_url, _dir: dir }
}
