//! Segments: CRUD, bad conditions, the live count, the card's segments, and entries into and
//! exits from segments with their reasons (an edit, a tag, a segment edit, a window passing).

use chrono::Duration;
use leadcard_core::PropertyValue;
use leadcard_server::segments::{rebuild_pending, run_job};
use leadcard_server::store::{EventSource, NewEvent};
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_of, ids, lead, spawn_app, text};

async fn post(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.client.post(app.url(path)).json(&body).send().await.unwrap()
}

async fn put(app: &TestApp, path: &str, body: Value) -> reqwest::Response {
    app.client.put(app.url(path)).json(&body).send().await.unwrap()
}

async fn create(app: &TestApp, name: &str, filter: Value) -> i64 {
    let response = post(app, "/api/v1/segments", json!({ "name": name, "filter": filter })).await;
    assert_eq!(response.status(), 201, "create {name}");
    let id = response.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    // The background fill may still run: finish it here so the test is deterministic.
    rebuild_pending(&app.state).await.unwrap();
    id
}

fn germany() -> Value {
    json!({"all": [{"kind": "property", "name": "$country", "op": "equals", "value": "Germany"}]})
}

/// Stores an event as the tracking work does (its own route comes with issue 4).
async fn insert_event(app: &TestApp, lead_id: i64, name: &str, at: chrono::DateTime<chrono::Utc>) {
    use sqlx::Connection;
    let mut conn = sqlx::AnyConnection::connect(&app.database_url).await.unwrap();
    sqlx::query(
        "INSERT INTO events (lead_id, name, properties, occurred_at, source) VALUES ($1, $2, '{}', $3, 'manual')",
    )
    .bind(lead_id)
    .bind(name.to_owned())
    .bind(at.timestamp_millis())
    .execute(&mut conn)
    .await
    .unwrap();
    conn.close().await.unwrap();
}

async fn history(app: &TestApp, id: i64) -> Vec<Value> {
    app.get_json(&format!("/api/v1/leads/{id}/segment-history")).await.as_array().unwrap().clone()
}

async fn segment_names(app: &TestApp, id: i64) -> Vec<String> {
    let segments = app.get_json(&format!("/api/v1/leads/{id}/segments")).await;
    segments.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn segments_are_created_listed_read_renamed_and_deleted() {
    let app = spawn_app().await;
    let operator = app.signed_in().await;
    let response = post(&app, "/api/v1/segments", json!({ "name": "  Germans ", "filter": germany() })).await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "Germans");
    assert_eq!(created["filter"], germany());
    assert_eq!(created["created_by"], operator.id);
    assert_eq!(created["members_ready"], false, "a new segment's members are filled in the background");
    let id = created["id"].as_i64().unwrap();
    post(&app, "/api/v1/segments", json!({ "name": "Active", "filter": {"all": [{"kind": "tag", "tag": "x"}]} })).await;

    let list = app.get_json("/api/v1/segments").await;
    let names: Vec<&str> = list.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Active", "Germans"]);
    assert_eq!(app.get_json(&format!("/api/v1/segments/{id}")).await["name"], "Germans");

    let any = json!({"match": "any", "all": [{"kind": "tag", "tag": "vip", "has": true}, {"kind": "event", "event": "Added to cart",
        "op": "at_least", "count": 2, "days": 7}]});
    let response = put(&app, &format!("/api/v1/segments/{id}"), json!({ "name": "Hot leads", "filter": any })).await;
    assert_eq!(response.status(), 200);
    let updated: Value = response.json().await.unwrap();
    assert_eq!((updated["name"].clone(), updated["filter"].clone()), (json!("Hot leads"), any));

    let (status, error) =
        error_of(post(&app, "/api/v1/segments", json!({ "name": "hot LEADS", "filter": germany() })).await).await;
    assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (409, Some("duplicate"), Some("name")));
    let response = put(&app, &format!("/api/v1/segments/{id}"), json!({ "name": "ACTIVE", "filter": germany() })).await;
    assert_eq!(error_of(response).await.0, 409);

    let delete = |id: i64| {
        app.client.delete(app.url(&format!("/api/v1/segments/{id}"))).header("x-requested-with", "leadcard").send()
    };
    assert_eq!(delete(id).await.unwrap().status(), 204);
    assert_eq!(delete(id).await.unwrap().status(), 404);
    assert_eq!(app.get(&format!("/api/v1/segments/{id}")).await.status(), 404);
    assert_eq!(app.get("/api/v1/segments/abc").await.status(), 404);
    let response = put(&app, "/api/v1/segments/9999", json!({ "name": "X", "filter": germany() })).await;
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn bad_conditions_are_422_naming_the_field() {
    let app = spawn_app().await;
    app.signed_in().await;
    let cases = [
        (json!({"all": [{"kind": "property", "name": "x", "op": "sounds_like", "value": "a"}]}), "filter.all[0].op"),
        (
            json!({"all": [{"kind": "tag", "tag": "a"}, {"kind": "property", "name": "n", "op": "greater", "value": "abc"}]}),
            "filter.all[1].value",
        ),
        (
            json!({"all": [{"kind": "tag", "tag": "a"}, {"kind": "tag", "tag": "b"}, {"kind": "group", "match": "any",
            "conditions": [{"kind": "event", "event": "Added to cart", "op": "at_least", "count": -1}]}]}),
            "filter.all[2].conditions[0].count",
        ),
        (
            json!({"all": [{"kind": "event", "event": "Added to cart", "op": "at_least", "count": 1, "days": 0}]}),
            "filter.all[0].days",
        ),
        (
            json!({"all": [{"kind": "event", "event": "Added to cart", "op": "at_least", "count": "two"}]}),
            "filter.all[0].count",
        ),
        (json!({"all": [{"kind": "group", "conditions": []}]}), "filter.all[0].conditions"),
        (json!({"all": []}), "filter.all"),
    ];
    for (filter, field) in cases {
        let (status, error) =
            error_of(post(&app, "/api/v1/segments", json!({ "name": "S", "filter": filter.clone() })).await).await;
        assert_eq!(
            (status, error["code"].as_str(), error["field"].as_str()),
            (422, Some("invalid_filter"), Some(field)),
            "{filter}"
        );
        if field != "filter.all" {
            let (status, error) =
                error_of(post(&app, "/api/v1/segments/count", json!({ "filter": filter })).await).await;
            assert_eq!((status, error["field"].as_str()), (422, Some(field)));
        }
    }
    let (status, error) =
        error_of(post(&app, "/api/v1/segments", json!({ "name": " ", "filter": germany() })).await).await;
    assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (422, Some("invalid"), Some("name")));
    assert_eq!(app.get_json("/api/v1/segments").await, json!([]));
}

#[tokio::test]
async fn the_count_the_lead_list_and_the_card_agree_on_who_is_in_a_segment() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = app.clock.now();
    let mut ids_in = Vec::new();
    for (i, country) in ["Germany", "France", "germany", "Spain"].into_iter().enumerate() {
        let mut new =
            lead(now, &[("$country", text(country)), ("plan", text(if i % 2 == 0 { "pro" } else { "free" }))], &[]);
        new.events = (0..i)
            .map(|k| NewEvent {
                name: "Added to cart".into(),
                properties: json!({}),
                occurred_at: now - Duration::days(k as i64),
                source: EventSource::Tracked,
            })
            .collect();
        let id = app.store.create_lead(&new).await.unwrap();
        if country.eq_ignore_ascii_case("germany") {
            ids_in.push(id);
        }
    }
    let count =
        post(&app, "/api/v1/segments/count", json!({ "filter": germany() })).await.json::<Value>().await.unwrap();
    assert_eq!(count, json!({"count": 2, "exact": true}));
    let carts = json!({"all": [{"kind": "event", "event": "Added to cart", "op": "at_least", "count": 2, "days": 7}]});
    let count = post(&app, "/api/v1/segments/count", json!({ "filter": carts })).await.json::<Value>().await.unwrap();
    assert_eq!(count["count"], 2);

    let segment = create(&app, "Germans", germany()).await;
    let page = app.leads(&[("segment", &segment.to_string())]).await.json::<Value>().await.unwrap();
    let mut listed = ids(&page);
    listed.sort_unstable();
    assert_eq!(listed, ids_in);
    let filter = json!({"all": [{"kind": "property", "name": "plan", "op": "equals", "value": "pro"}]}).to_string();
    let page =
        app.leads(&[("segment", &segment.to_string()), ("filter", &filter)]).await.json::<Value>().await.unwrap();
    assert_eq!(ids(&page).len(), 2, "both Germans are on pro");
    let (status, error) = error_of(app.leads(&[("segment", "999")]).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("segment")));

    assert_eq!(segment_names(&app, ids_in[0]).await, ["Germans"]);
    let facts = app.get_json(&format!("/api/v1/leads/{}/facts", ids_in[1])).await;
    assert_eq!(facts["properties"]["$country"], json!({"type": "text", "value": "germany"}));
    assert!(facts["events"].as_object().unwrap().is_empty(), "no segment counts events yet");
    assert_eq!(app.get(&format!("/api/v1/leads/{}/segments", 99_999)).await.status(), 404);
    // Filling a new segment is not news on the card.
    assert!(history(&app, ids_in[0]).await.is_empty());
}

#[tokio::test]
async fn a_property_edit_enters_a_lead_and_another_makes_it_leave_with_the_reason() {
    let app = spawn_app().await;
    app.signed_in().await;
    let id = app.add_lead(&[("$country", text("France"))], &[]).await;
    let segment = create(&app, "Germans", germany()).await;
    create(&app, "VIPs", json!({"all": [{"kind": "tag", "tag": "vip"}]})).await;
    assert!(segment_names(&app, id).await.is_empty());
    filled(&app).await;

    let set = json!([{"op": "set", "name": "$country", "value": {"type": "text", "value": "Germany"}}]);
    assert_eq!(app.patch(id, set, Some(1)).await.status(), 200);
    assert_eq!(segment_names(&app, id).await, ["Germans"]);
    let entries = history(&app, id).await;
    assert_eq!(entries.len(), 1);
    assert_eq!(
        (&entries[0]["segment_id"], &entries[0]["segment_name"], &entries[0]["entered"], &entries[0]["reason"]),
        (&json!(segment), &json!("Germans"), &json!(true), &json!("$country became Germany"))
    );

    let delete = json!([{"op": "delete", "name": "$country"}]);
    assert_eq!(app.patch(id, delete, Some(2)).await.status(), 200);
    let entries = history(&app, id).await;
    assert_eq!(entries.len(), 2);
    assert_eq!((&entries[0]["entered"], &entries[0]["reason"]), (&json!(false), &json!("$country was removed")));

    let tags = app.url(&format!("/api/v1/leads/{id}/tags"));
    app.client.post(&tags).json(&json!({"tag": "vip"})).send().await.unwrap();
    assert_eq!(segment_names(&app, id).await, ["VIPs"]);
    app.client.delete(format!("{tags}/vip")).header("x-requested-with", "leadcard").send().await.unwrap();
    let reasons: Vec<(bool, String)> = history(&app, id)
        .await
        .iter()
        .map(|e| (e["entered"].as_bool().unwrap(), e["reason"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(reasons[..2], [(false, "tag vip removed".to_owned()), (true, "tag vip added".to_owned())]);

    // An edit that changes nothing about membership records nothing.
    let other = json!([{"op": "set", "name": "plan", "value": {"type": "text", "value": "pro"}}]);
    let version = app.card(id).await["version"].as_i64().unwrap();
    assert_eq!(app.patch(id, other, Some(version)).await.status(), 200);
    assert_eq!(history(&app, id).await.len(), 4);
    let page = app.get_json(&format!("/api/v1/leads/{id}/segment-history?limit=1")).await;
    assert_eq!(page.as_array().unwrap().len(), 1);
    let before = page[0]["id"].as_i64().unwrap();
    let older = app.get_json(&format!("/api/v1/leads/{id}/segment-history?before={before}")).await;
    assert_eq!(older.as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn an_event_enters_a_lead_with_its_ordinal_and_a_passing_window_makes_it_leave() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = app.clock.now();
    let mut new = lead(now, &[("$name", text("Cart"))], &[]);
    new.events = vec![NewEvent {
        name: "Added to cart".into(),
        properties: json!({}),
        occurred_at: now - Duration::days(3),
        source: EventSource::Tracked,
    }];
    let id = app.store.create_lead(&new).await.unwrap();
    let idle = app.add_lead(&[("$name", text("Idle"))], &[]).await;
    let carts = json!({"all": [{"kind": "event", "event": "Added to cart", "op": "at_least", "count": 2, "days": 7}]});
    create(&app, "Hot", carts).await;
    let quiet = json!({"all": [{"kind": "event", "event": "Added to cart", "op": "not_performed", "days": 7}]});
    create(&app, "Quiet", quiet).await;
    assert_eq!(segment_names(&app, id).await, Vec::<String>::new());
    assert_eq!(segment_names(&app, idle).await, ["Quiet"]);

    // The tracking path stores the event, then recomputes the lead.
    insert_event(&app, id, "Added to cart", now - Duration::days(1)).await;
    leadcard_server::segments::recompute_lead(
        &app.state,
        id,
        leadcard_server::segments::Cause::Event("Added to cart".into()),
    )
    .await
    .unwrap();
    assert_eq!(segment_names(&app, id).await, ["Hot"]);
    let entries = history(&app, id).await;
    assert_eq!(entries[0]["reason"], "performed Added to cart (2nd time)");
    let facts = app.get_json(&format!("/api/v1/leads/{id}/facts")).await;
    assert_eq!(facts["events"]["Added to cart"]["count"], 2);
    assert_eq!(facts["events"]["Added to cart"]["times"].as_array().unwrap().len(), 2);

    // Five days on, the first event is 8 days old: the window passed. Nothing else changed.
    app.clock.advance(Duration::days(5));
    // The server's own 30 s loop may run the job first under a slow suite: judge by the outcome.
    run_job(&app.state).await.unwrap();
    app.sign_in_with(&app.client, "anna@leadcard.test", PASSWORD).await;
    assert!(segment_names(&app, id).await.is_empty());
    let entries = history(&app, id).await;
    assert_eq!(
        (&entries[0]["segment_name"], &entries[0]["entered"], &entries[0]["reason"]),
        (&json!("Hot"), &json!(false), &json!("7-day window for Added to cart passed"))
    );
    // Two more days: the second event leaves the "not performed" window too, so the lead enters Quiet.
    app.clock.advance(Duration::days(2));
    run_job(&app.state).await.unwrap();
    app.sign_in_with(&app.client, "anna@leadcard.test", PASSWORD).await;
    assert_eq!(segment_names(&app, id).await, ["Quiet"]);
    assert_eq!(history(&app, id).await[0]["reason"], "7-day window for Added to cart passed");
    // Nothing new: the next run finds nothing.
    assert_eq!(run_job(&app.state).await.unwrap(), 0);
}

#[tokio::test]
async fn a_segment_edit_recomputes_every_lead_with_its_reason_and_deleting_keeps_the_history() {
    let app = spawn_app().await;
    app.signed_in().await;
    let german = app.add_lead(&[("$country", text("Germany")), ("amount", PropertyValue::Number(50.0))], &[]).await;
    let rich = app.add_lead(&[("$country", text("Spain")), ("amount", PropertyValue::Number(500.0))], &[]).await;
    let segment = create(&app, "Targets", germany()).await;
    let rich_filter = json!({"all": [{"kind": "property", "name": "amount", "op": "greater", "value": "100"}]});
    assert_eq!(app.get_json(&format!("/api/v1/segments/{segment}")).await["members_ready"], true);
    let response =
        put(&app, &format!("/api/v1/segments/{segment}"), json!({ "name": "Targets", "filter": rich_filter })).await;
    assert_eq!(response.status(), 200);
    // Its members are recomputed in the background: the segment says so until they are.
    assert_eq!(response.json::<Value>().await.unwrap()["members_ready"], false);
    rebuild_pending(&app.state).await.unwrap();
    assert_eq!(app.get_json(&format!("/api/v1/segments/{segment}")).await["members_ready"], true);
    let left = history(&app, german).await;
    assert_eq!((&left[0]["entered"], &left[0]["reason"]), (&json!(false), &json!("segment definition changed")));
    let entered = history(&app, rich).await;
    assert_eq!((&entered[0]["entered"], &entered[0]["reason"]), (&json!(true), &json!("segment definition changed")));
    assert_eq!(rebuild_pending(&app.state).await.unwrap(), 0, "a rebuild runs once");

    let response = app
        .client
        .delete(app.url(&format!("/api/v1/segments/{segment}")))
        .header("x-requested-with", "leadcard")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let kept = history(&app, rich).await;
    assert_eq!((&kept[0]["segment_id"], &kept[0]["segment_name"]), (&Value::Null, &json!("Targets")));
}

/// New segments' silent first fill is done (an edit racing that fill may be taken in silently:
/// see the note on `rebuild_pending`).
async fn filled(app: &TestApp) {
    while !app.store.pending_rebuilds().await.unwrap().is_empty() {
        rebuild_pending(&app.state).await.unwrap();
    }
}

/// Waits (up to 10 s) for the lead's newest timeline entry to be about `segment`: the tracking
/// routes recompute the lead just after they answer. Returns that entry.
async fn eventually_entered(app: &TestApp, id: i64, segment: &str) -> Value {
    for _ in 0..100 {
        if let Some(entry) = history(app, id).await.first()
            && entry["segment_name"] == segment
        {
            return entry.clone();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("lead {id} never entered {segment}: {:?}", history(app, id).await);
}

#[tokio::test]
async fn a_first_visit_and_an_identify_move_the_tracked_lead_with_the_reason() {
    use crate::tracking::{newest_lead, site, track_ok, visit};
    let app = spawn_app().await;
    app.signed_in().await;
    let site = site(&app).await;
    create(
        &app,
        "Visitors",
        json!({"all": [{"kind": "property", "name": "$sessions", "op": "greater", "value": "0"}]}),
    )
    .await;
    create(&app, "Pro users", json!({"all": [{"kind": "property", "name": "plan", "op": "equals", "value": "pro"}]}))
        .await;
    filled(&app).await;

    // A new visitor's first page: a new lead, in "Visitors" at once, with the reason.
    visit(&app, &site.key, "seg-visitor-1", "seg-session-1", "https://shop.test/").await;
    let id = newest_lead(&app).await;
    let entry = eventually_entered(&app, id, "Visitors").await;
    assert_eq!((&entry["entered"], &entry["reason"]), (&json!(true), &json!("a site visit began")));
    assert_eq!(segment_names(&app, id).await, ["Visitors"]);

    // The site identifies the visitor with plan = pro: the lead enters "Pro users".
    let user_hash = leadcard_server::tracking::user_hash(&site.secret, "user-42");
    let identify = json!({
        "visitor_id": "seg-visitor-1",
        "user_id": "user-42",
        "user_hash": user_hash,
        "properties": [{"op": "set", "name": "plan", "value": {"type": "text", "value": "pro"}}],
    });
    track_ok(&app, &site.key, "identify", identify).await;
    let project = app.store.ensure_project(app.clock.now()).await.unwrap();
    let lead = app.store.lead_of_visitor(project.id, "seg-visitor-1").await.unwrap().expect("the visitor's lead");
    let entry = eventually_entered(&app, lead, "Pro users").await;
    assert_eq!((&entry["entered"], &entry["reason"]), (&json!(true), &json!("identified as user user-42")));
    assert_eq!(segment_names(&app, lead).await, ["Pro users", "Visitors"]);
}

#[tokio::test]
async fn a_visitor_who_first_writes_in_the_chat_enters_its_segments() {
    use crate::tracking::{site, track};
    let app = spawn_app().await;
    app.signed_in().await;
    let site = site(&app).await;
    create(&app, "No address yet", json!({"all": [{"kind": "property", "name": "$email", "op": "not_exists"}]})).await;
    filled(&app).await;

    // No page view first: the chat message itself makes the lead.
    let body = json!({"visitor_id": "chat-only-1", "body": "Hello?", "idempotency_key": "chat-only-key-1"});
    let response = track(&app, &site.key, "messages", body).await;
    assert_eq!(response.status(), 201);
    let project = app.store.ensure_project(app.clock.now()).await.unwrap();
    let lead = app.store.lead_of_visitor(project.id, "chat-only-1").await.unwrap().expect("the visitor's lead");
    let entry = eventually_entered(&app, lead, "No address yet").await;
    assert_eq!((&entry["entered"], &entry["reason"]), (&json!(true), &json!("wrote in the chat")));
    assert_eq!(segment_names(&app, lead).await, ["No address yet"]);
}

/// The newest entry of the lead's timeline about `segment`.
async fn newest_about(app: &TestApp, id: i64, segment: &str) -> (bool, String) {
    let entries = history(app, id).await;
    let entry =
        entries.iter().find(|e| e["segment_name"] == segment).unwrap_or_else(|| panic!("no entry: {entries:?}"));
    (entry["entered"].as_bool().unwrap(), entry["reason"].as_str().unwrap().to_owned())
}

#[tokio::test]
async fn coming_online_and_going_offline_move_the_lead_with_the_reason() {
    use crate::tracking::{heartbeat, newest_lead, site, visit};
    let app = spawn_app().await;
    app.signed_in().await;
    let site = site(&app).await;
    visit(&app, &site.key, "presence-visitor", "presence-session", "https://shop.test/").await;
    let id = newest_lead(&app).await;
    create(&app, "Online now", json!({"all": [{"kind": "presence", "presence": "online"}]})).await;
    create(&app, "Away", json!({"all": [{"kind": "presence", "presence": "offline"}]})).await;
    filled(&app).await;
    // Whatever the visit left, three minutes later the lead is offline.
    app.clock.advance(Duration::minutes(3));
    run_job(&app.state).await.unwrap();
    app.sign_in_with(&app.client, "anna@leadcard.test", PASSWORD).await;
    assert_eq!(segment_names(&app, id).await, ["Away"]);

    // A heartbeat with activity: online. The job records both moves with the reason.
    heartbeat(&app, &site.key, "presence-visitor", "https://shop.test/cart", true).await;
    run_job(&app.state).await.unwrap();
    assert_eq!(segment_names(&app, id).await, ["Online now"]);
    assert_eq!(newest_about(&app, id, "Online now").await, (true, "came online".to_owned()));
    assert_eq!(newest_about(&app, id, "Away").await, (false, "came online".to_owned()));

    // No heartbeat for three minutes: offline again.
    app.clock.advance(Duration::minutes(3));
    run_job(&app.state).await.unwrap();
    app.sign_in_with(&app.client, "anna@leadcard.test", PASSWORD).await;
    assert_eq!(segment_names(&app, id).await, ["Away"]);
    let offline = "went offline (no heartbeat for 2 minutes)".to_owned();
    assert_eq!(newest_about(&app, id, "Online now").await, (false, offline.clone()));
    assert_eq!(newest_about(&app, id, "Away").await, (true, offline));
    assert_eq!(run_job(&app.state).await.unwrap(), 0, "nothing changed since");
}

#[tokio::test]
async fn one_segment_rebuild_runs_at_a_time() {
    let app = spawn_app().await;
    app.signed_in().await;
    create(&app, "Pro users", json!({"all": [{"kind": "property", "name": "plan", "op": "equals", "value": "pro"}]}))
        .await;
    // While a rebuild holds the gate (creating many segments at once used to start one fill over
    // every lead per segment, all at the same time), another waits for it instead of starting.
    let running = app.state.segment_rebuild.lock().await;
    let state = app.state.clone();
    let waiting = tokio::spawn(async move { rebuild_pending(&state).await.unwrap() });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "a second rebuild started beside the running one");
    drop(running);
    tokio::time::timeout(std::time::Duration::from_secs(10), waiting).await.unwrap().unwrap();
    filled(&app).await;
}
