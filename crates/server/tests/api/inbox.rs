//! The Inbox through the API: a conversation's life from the card to the widget and back, the
//! list's filters and paging, idempotent sends (repeated, conflicting, concurrent), the email
//! rules, email through a real SMTP listener and the mailed reply coming back, the widget's
//! messages and stream, and chat copies mailed only to a lead who did not read them in time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::Duration as Span;
use leadcard_core::subscription::Refusal;
use reqwest::Response;
use serde_json::{Value, json};

use crate::helpers::{Events, TestApp, error_of, new_client, spawn_app, spawn_app_with, text};
use crate::smtp::SmtpServer;
use crate::tracking::{heartbeat, site};

const HOOK_SECRET: &str = "hook-secret-123";

/// A fresh idempotency key, as the page makes one per message.
fn key() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("key-{:012}", NEXT.fetch_add(1, Ordering::Relaxed))
}

async fn mail_app(smtp: &SmtpServer) -> TestApp {
    let url = smtp.url();
    spawn_app_with(move |config| {
        config.mail.smtp_url = Some(url);
        config.mail.webhook_secret = Some(HOOK_SECRET.to_owned());
    })
    .await
}

/// `POST /leads/{id}/messages` from `self.client`.
async fn send_from_card(app: &TestApp, lead: i64, channel: &str, body: &str, key: &str) -> Response {
    let request = json!({ "channel": channel, "body": body, "idempotency_key": key });
    app.post_json(&format!("/api/v1/leads/{lead}/messages"), &request).await
}

async fn sent(response: Response, status: u16) -> Value {
    let got = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(got, status, "{body}");
    body
}

async fn reply(app: &TestApp, conversation: i64, body: &str, key: &str) -> Response {
    let request = json!({ "body": body, "idempotency_key": key });
    app.post_json(&format!("/api/v1/conversations/{conversation}/messages"), &request).await
}

/// A widget call: `text/plain` JSON with the key in the body, as widget.js sends it.
/// A widget call as the widget makes it: the body's `key` goes in the query, the body as
/// `text/plain` JSON.
async fn widget(app: &TestApp, path: &str, mut body: Value) -> Response {
    let key = body.as_object_mut().and_then(|b| b.remove("key")).unwrap_or_default();
    app.client
        .post(app.url(&format!("/api/v1/track/{path}")))
        .query(&[("key", key.as_str().unwrap_or_default())])
        .header("content-type", "text/plain;charset=UTF-8")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

async fn widget_messages(app: &TestApp, key: &str, visitor: &str, after: i64) -> Vec<Value> {
    let response = app
        .client
        .get(app.url("/api/v1/track/messages"))
        .query(&[("key", key), ("visitor_id", visitor), ("after", &after.to_string())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");
    response.json::<Value>().await.unwrap()["items"].as_array().unwrap().clone()
}

fn conversation_changed(events: &[Value], conversation: i64) -> Vec<&Value> {
    events.iter().filter(|e| e["kind"] == "conversation_changed" && e["conversation_id"] == conversation).collect()
}

async fn thread(app: &TestApp, conversation: i64) -> Value {
    app.get_json(&format!("/api/v1/conversations/{conversation}")).await
}

/// The thread's entries as `(author, body or system kind)`.
fn entries(thread: &Value) -> Vec<(String, String)> {
    thread["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let what = if m["author"] == "system" { m["system"]["kind"].as_str() } else { m["body"].as_str() };
            (m["author"].as_str().unwrap().to_owned(), what.unwrap().to_owned())
        })
        .collect()
}

/// Waits (up to 20 s) until `SELECT COUNT(*) ...` gives `n`.
async fn wait_for_count(app: &TestApp, sql: &str, n: i64) {
    let mut last = -1;
    for _ in 0..400 {
        last = app.count(sql).await;
        if last == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{sql}: expected {n}, got {last}");
}

/// A lead the widget knows (a heartbeat now) — its id.
async fn lead_on_site(app: &TestApp, key: &str, visitor: &str) -> i64 {
    heartbeat(app, key, visitor, "https://shop.test/", true).await;
    let project = app.store.ensure_project(app.clock.now()).await.unwrap();
    app.store.lead_of_visitor(project.id, visitor).await.unwrap().unwrap()
}

#[tokio::test]
async fn a_conversation_goes_from_the_card_to_the_widget_and_back_through_its_whole_life() {
    let app = spawn_app().await;
    let me = app.signed_in().await;
    let (boris, _) = app.operator_client("boris@leadcard.test").await;
    let site = site(&app).await;
    let lead = lead_on_site(&app, &site.key, "visitor-1").await;

    let channels = app.get_json(&format!("/api/v1/leads/{lead}/channels")).await;
    assert_eq!(channels["chat"]["allowed"], true);
    assert_eq!(channels["popup"]["allowed"], true);
    assert_eq!(channels["email"], json!({ "allowed": false, "reason": "the lead has no email address" }));

    let first = sent(send_from_card(&app, lead, "chat", "  Hello! Can I help?\n", &key()).await, 201).await;
    assert_eq!(first["created"], true);
    let conversation = first["conversation"]["id"].as_i64().unwrap();
    assert_eq!(first["conversation"]["channel"], "chat");
    assert_eq!(first["conversation"]["status"], "open");
    assert_eq!(first["conversation"]["lead"]["id"], lead);
    assert_eq!(first["message"]["body"], "Hello! Can I help?");
    assert_eq!(first["message"]["author"], "operator");
    assert_eq!(first["message"]["operator"], json!({ "id": me.id, "name": me.name }));
    assert_eq!(first["message"]["delivery"], "sent");
    assert_eq!(first["message"]["emailed_copy"], false, "no address: no copy");
    // A second chat from the card continues the open conversation.
    let second = sent(send_from_card(&app, lead, "chat", "We ship tomorrow.", &key()).await, 201).await;
    assert_eq!(second["conversation"]["id"], conversation);

    let list = app.get_json("/api/v1/conversations").await;
    assert_eq!(list["items"][0]["id"], conversation);
    assert_eq!(list["items"][0]["unread"], 0);
    assert_eq!(list["items"][0]["last_message"]["text"], "We ship tomorrow.");
    assert_eq!(list["items"][0]["last_message"]["author"], "operator");
    let history = app.get_json(&format!("/api/v1/leads/{lead}/conversations")).await;
    assert_eq!(history.as_array().unwrap().len(), 1);

    let assigned = app
        .post_json(&format!("/api/v1/conversations/{conversation}/assign"), &json!({ "operator_id": boris.id }))
        .await;
    let assigned: Value = sent(assigned, 200).await;
    assert_eq!(assigned["assignee"], json!({ "id": boris.id, "name": boris.name }));
    let again = app
        .post_json(&format!("/api/v1/conversations/{conversation}/assign"), &json!({ "operator_id": boris.id }))
        .await;
    assert_eq!(again.status(), 200);
    let closed: Value = sent(app.post_empty(&format!("/api/v1/conversations/{conversation}/close")).await, 200).await;
    assert_eq!(closed["status"], "closed");
    assert_eq!(app.post_empty(&format!("/api/v1/conversations/{conversation}/close")).await.status(), 200);
    let open_list = app.get_json("/api/v1/conversations?status=open").await;
    assert!(open_list["items"].as_array().unwrap().is_empty());

    // The lead answers in the widget: the conversation reopens, unread.
    let answer = widget(
        &app,
        "messages",
        json!({ "key": site.key, "visitor_id": "visitor-1", "body": "Yes, my order #12?", "idempotency_key": key() }),
    )
    .await;
    let answer = sent(answer, 201).await;
    assert_eq!(answer["conversation_id"], conversation);
    assert_eq!(answer["author"], "lead");

    let t = thread(&app, conversation).await;
    assert_eq!(t["conversation"]["status"], "open");
    assert_eq!(t["conversation"]["unread"], 1);
    assert_eq!(
        entries(&t),
        [
            ("operator", "Hello! Can I help?"),
            ("operator", "We ship tomorrow."),
            ("system", "assigned"),
            ("system", "closed"),
            ("system", "reopened"),
            ("lead", "Yes, my order #12?"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let system: Vec<&Value> = t["messages"].as_array().unwrap().iter().filter(|m| m["author"] == "system").collect();
    assert_eq!(system[0]["system"], json!({ "kind": "assigned", "by": me.name, "to": boris.name }));
    assert_eq!(system[2]["system"], json!({ "kind": "reopened", "by": null }));
    assert_eq!(t["more_before"], false);

    let list = app.get_json("/api/v1/conversations").await;
    assert_eq!(list["unread_conversations"], 1);
    assert_eq!(list["items"][0]["last_message"]["text"], "Yes, my order #12?");
    let read: Value = sent(app.post_empty(&format!("/api/v1/conversations/{conversation}/read")).await, 200).await;
    assert_eq!(read["unread"], 0);
    assert_eq!(app.get_json("/api/v1/conversations").await["unread_conversations"], 0);

    // The widget shows the chat: operators' and the lead's messages, no system entries.
    let shown = widget_messages(&app, &site.key, "visitor-1", 0).await;
    let bodies: Vec<&str> = shown.iter().map(|m| m["body"].as_str().unwrap()).collect();
    assert_eq!(bodies, ["Hello! Can I help?", "We ship tomorrow.", "Yes, my order #12?"]);
    assert_eq!(shown[0]["operator_name"], me.name);

    // Reopen and a pop-up from the card (its own conversation).
    let closed: Value = sent(app.post_empty(&format!("/api/v1/conversations/{conversation}/close")).await, 200).await;
    assert_eq!(closed["status"], "closed");
    let reopened: Value =
        sent(app.post_empty(&format!("/api/v1/conversations/{conversation}/reopen")).await, 200).await;
    assert_eq!(reopened["status"], "open");
    let popup = sent(send_from_card(&app, lead, "popup", "20% off today", &key()).await, 201).await;
    assert_ne!(popup["conversation"]["id"], conversation);
    assert_eq!(popup["conversation"]["channel"], "popup");
    let after = shown.last().unwrap()["id"].as_i64().unwrap();
    let newer = widget_messages(&app, &site.key, "visitor-1", after).await;
    assert_eq!(newer.len(), 1);
    assert_eq!(newer[0]["channel"], "popup");

    let events = app.live_events().await;
    let changes = conversation_changed(&events, conversation);
    // Two sends, assign, close, the lead's message (its reopening is part of it), read, close, reopen.
    assert_eq!(changes.len(), 8, "{changes:?}");
    assert!(changes.iter().all(|e| e["lead_id"] == lead));
    assert_eq!(changes[0]["message_id"], first["message"]["id"]);
    assert_eq!(changes[4]["message_id"], answer["id"]);

    let mine = app.get_json("/api/v1/conversations?assignee=me&status=all").await;
    assert!(mine["items"].as_array().unwrap().is_empty());
    let unassigned = app.get_json("/api/v1/conversations?assignee=unassigned&status=all").await;
    assert_eq!(unassigned["items"].as_array().unwrap().len(), 1, "the pop-up's");
    let operators = app.get_json("/api/v1/operators").await;
    assert_eq!(operators.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn the_list_filters_by_status_assignee_and_lead_and_pages_newest_activity_first() {
    let app = spawn_app().await;
    let me = app.signed_in().await;
    let mut conversations = Vec::new();
    for i in 0..5 {
        let lead = app.add_lead(&[("$email", text(&format!("lead{i}@example.com")))], &[]).await;
        let done = sent(send_from_card(&app, lead, "email", &format!("Offer {i}"), &key()).await, 201).await;
        conversations.push((lead, done["conversation"]["id"].as_i64().unwrap()));
        app.clock.advance(Span::seconds(1));
    }
    let ids = |page: &Value| -> Vec<i64> {
        page["items"].as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect()
    };
    let newest_first: Vec<i64> = conversations.iter().rev().map(|(_, c)| *c).collect();
    assert_eq!(ids(&app.get_json("/api/v1/conversations").await), newest_first);

    // Keyset paging, two at a time.
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut path = "/api/v1/conversations?limit=2".to_owned();
        if let Some(after) = &after {
            path.push_str(&format!("&after={after}"));
        }
        let page = app.get_json(&path).await;
        seen.extend(ids(&page));
        match page["next"].as_str() {
            Some(next) => after = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, newest_first);

    let (lead0, c0) = conversations[0];
    let (_, c1) = conversations[1];
    let (_, c2) = conversations[2];
    app.post_json(&format!("/api/v1/conversations/{c0}/assign"), &json!({ "operator_id": me.id })).await;
    app.post_json(&format!("/api/v1/conversations/{c1}/assign"), &json!({ "operator_id": me.id })).await;
    assert_eq!(app.post_empty(&format!("/api/v1/conversations/{c1}/close")).await.status(), 200);
    // The system entries are activity: c0 and c1 are now the newest.
    assert_eq!(ids(&app.get_json("/api/v1/conversations?assignee=me").await), [c0]);
    assert_eq!(ids(&app.get_json("/api/v1/conversations?assignee=me&status=all").await), [c1, c0]);
    assert_eq!(ids(&app.get_json("/api/v1/conversations?status=closed").await), [c1]);
    assert_eq!(ids(&app.get_json("/api/v1/conversations?status=all").await)[..2], [c1, c0]);
    let unassigned = ids(&app.get_json("/api/v1/conversations?assignee=unassigned").await);
    assert_eq!(unassigned.len(), 3);
    assert!(unassigned.contains(&c2));
    assert_eq!(ids(&app.get_json(&format!("/api/v1/conversations?lead_id={lead0}&status=all")).await), [c0]);

    for (query, field) in [
        ("status=maybe", "status"),
        ("assignee=you", "assignee"),
        ("after=garbage", "after"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("lead_id=x", "lead_id"),
    ] {
        let (status, error) = error_of(app.get(&format!("/api/v1/conversations?{query}")).await).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{query}");
    }
}

#[tokio::test]
async fn a_repeated_key_stores_one_message_and_sends_nothing_twice_even_at_once() {
    let app = spawn_app().await;
    app.signed_in().await;
    let lead = app.add_lead(&[("$email", text("lena@example.com"))], &[]).await;
    let other = app.add_lead(&[("$email", text("max@example.com"))], &[]).await;
    let k = key();
    let first = sent(send_from_card(&app, lead, "email", "Your invoice", &k).await, 201).await;
    let repeat = sent(send_from_card(&app, lead, "email", "Your invoice", &k).await, 200).await;
    assert_eq!(repeat["created"], false);
    assert_eq!(repeat["message"], first["message"]);
    let conversation = first["conversation"]["id"].as_i64().unwrap();
    let repeat = sent(reply(&app, conversation, "Your invoice", &k).await, 200).await;
    assert_eq!(repeat["message"]["id"], first["message"]["id"], "the same place, by its conversation");
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 1);
    // The stored message names its key, so the sending page knows its own copy when the thread
    // (or the live stream) brings it first.
    assert_eq!(first["message"]["idempotency_key"], k.as_str());
    let thread: Value = app.get_json(&format!("/api/v1/conversations/{conversation}")).await;
    assert_eq!(thread["messages"][0]["idempotency_key"], k.as_str());

    for response in [
        send_from_card(&app, lead, "email", "Another text", &k).await,
        send_from_card(&app, other, "email", "Your invoice", &k).await,
        send_from_card(&app, lead, "chat", "Your invoice", &k).await,
    ] {
        let (status, error) = error_of(response).await;
        assert_eq!(
            (status, error["code"].as_str(), error["field"].as_str()),
            (409, Some("idempotency_conflict"), Some("idempotency_key"))
        );
    }

    // Eight sends of one new message at once (a retry storm): one is stored, one mail queued.
    let k = key();
    let sends = (0..8).map(|_| send_from_card(&app, other, "email", "Welcome aboard", &k));
    let responses = futures::future::join_all(sends).await;
    let mut created = 0;
    let mut ids = Vec::new();
    for response in responses {
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert!(status == 201 || status == 200, "{status} {body}");
        created += usize::from(status == 201);
        ids.push(body["message"]["id"].as_i64().unwrap());
    }
    assert_eq!(created, 1);
    assert!(ids.iter().all(|id| *id == ids[0]));
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM messages WHERE idempotency_key = '{k}'")).await, 1);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM outbox WHERE lead_id = {other}")).await, 1);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM conversations WHERE lead_id = {other}")).await, 1);
}

#[tokio::test]
async fn email_is_refused_for_an_unsubscribed_lead_with_the_cores_reason_and_nothing_is_stored() {
    let app = spawn_app().await;
    app.signed_in().await;
    let lead = app.add_lead(&[("$email", text("gone@example.com"))], &[]).await;
    let before = sent(send_from_card(&app, lead, "email", "Hello", &key()).await, 201).await;
    let conversation = before["conversation"]["id"].as_i64().unwrap();
    assert_eq!(app.post_empty(&format!("/api/v1/leads/{lead}/unsubscribe")).await.status(), 200);
    let (messages, outbox) =
        (app.count("SELECT COUNT(*) FROM messages").await, app.count("SELECT COUNT(*) FROM outbox").await);

    let reason = Refusal::Unsubscribed.to_string();
    let (status, error) = error_of(send_from_card(&app, lead, "email", "Come back!", &key()).await).await;
    assert_eq!(
        (status, error["code"].as_str(), error["field"].as_str()),
        (409, Some("channel_refused"), Some("channel"))
    );
    assert!(error["message"].as_str().unwrap().contains(&reason), "{error}");
    let (status, error) = error_of(reply(&app, conversation, "Come back!", &key()).await).await;
    assert_eq!(
        (status, error["code"].as_str(), error["field"].as_str()),
        (409, Some("email_refused"), Some("channel"))
    );
    assert!(error["message"].as_str().unwrap().contains(&reason), "{error}");
    // Chat without the widget would only reach the lead by mail: refused too.
    let (status, error) = error_of(send_from_card(&app, lead, "chat", "Come back!", &key()).await).await;
    assert_eq!((status, error["code"].as_str()), (409, Some("channel_refused")));

    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, messages);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, outbox);
    assert_eq!(app.count("SELECT COUNT(*) FROM conversations").await, 1);
    let channels = app.get_json(&format!("/api/v1/leads/{lead}/channels")).await;
    assert_eq!(channels["email"], json!({ "allowed": false, "reason": reason }));
}

#[tokio::test]
async fn an_email_lands_in_the_smtp_listener_with_its_reply_address_and_the_mailed_reply_comes_back_once() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    app.signed_in().await;
    let lead = app.add_lead(&[("$name", text("Lena")), ("$email", text("Lena@Example.com"))], &[]).await;
    let request =
        json!({ "channel": "email", "subject": "Your order", "body": "It ships today.", "idempotency_key": key() });
    let first = sent(app.post_json(&format!("/api/v1/leads/{lead}/messages"), &request).await, 201).await;
    let conversation = first["conversation"]["id"].as_i64().unwrap();
    assert_eq!(first["message"]["subject"], "Your order");

    let mail = smtp.wait_for(1).await.remove(0);
    assert_eq!(mail.to, ["Lena@Example.com"]);
    assert_eq!(mail.header("Subject").as_deref(), Some("Your order"));
    assert!(mail.body().contains("It ships today."));
    let reply_to = mail.header("Reply-To").unwrap();
    assert!(reply_to.starts_with("reply+") && reply_to.ends_with("@leadcard.test"), "{reply_to}");
    wait_for_count(&app, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'", 1).await;
    assert_eq!(thread(&app, conversation).await["messages"][0]["delivery"], "delivered");

    // A second email continues the subject.
    sent(reply(&app, conversation, "Tracking: 123", &key()).await, 201).await;
    let second = smtp.wait_for(2).await.remove(1);
    assert_eq!(second.header("Subject").as_deref(), Some("Re: Your order"));
    assert_eq!(second.header("Reply-To"), Some(reply_to.clone()));
    assert_eq!(app.post_empty(&format!("/api/v1/conversations/{conversation}/close")).await.status(), 200);

    let inbound = |from: &str, to: &str, secret: Option<&str>| {
        let body = json!({
            "from": from, "to": to, "subject": "Re: Your order",
            "text": "Thank you, got it!\n\nOn Mon, Anna wrote:\n> It ships today.",
            "message_id": "<CAF1234@mail.example.com>",
        });
        let mut request = new_client().post(app.url("/api/v1/webhooks/inbound-email")).json(&body);
        if let Some(secret) = secret {
            request = request.header("x-leadcard-webhook-secret", secret);
        }
        request.send()
    };
    let to = format!("Shop <{reply_to}>");
    let (status, _) = error_of(inbound("lena@example.com", &to, None).await.unwrap()).await;
    assert_eq!(status, 401);
    let (status, error) = error_of(inbound("eve@example.com", &to, Some(HOOK_SECRET)).await.unwrap()).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("from")));
    let (status, error) =
        error_of(inbound("lena@example.com", "reply+00ff@leadcard.test", Some(HOOK_SECRET)).await.unwrap()).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("to")));
    for _ in 0..2 {
        let response = inbound("LENA@example.com", &to, Some(HOOK_SECRET)).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.json::<Value>().await.unwrap(), json!({ "accepted": 1 }));
    }
    let t = thread(&app, conversation).await;
    let from_lead: Vec<&Value> = t["messages"].as_array().unwrap().iter().filter(|m| m["author"] == "lead").collect();
    assert_eq!(from_lead.len(), 1, "stored once");
    assert_eq!(from_lead[0]["body"], "Thank you, got it!");
    assert_eq!(t["conversation"]["status"], "open", "the reply reopened it");
    assert_eq!(t["conversation"]["unread"], 1);
    let events = app.live_events().await;
    assert!(conversation_changed(&events, conversation).iter().any(|e| e["message_id"] == from_lead[0]["id"]));
}

#[tokio::test]
async fn the_widget_sends_fetches_marks_seen_and_streams_the_operators_messages() {
    let app = spawn_app().await;
    app.signed_in().await;
    let site = site(&app).await;
    assert!(widget_messages(&app, &site.key, "stranger", 0).await.is_empty(), "an unknown visitor has none");

    let k = key();
    let body = json!({ "key": site.key, "visitor_id": "visitor-9", "body": "Is this in stock?", "idempotency_key": k });
    let first = sent(widget(&app, "messages", body.clone()).await, 201).await;
    let again = sent(widget(&app, "messages", body.clone()).await, 200).await;
    assert_eq!(again, first);
    let conflict = json!({ "key": site.key, "visitor_id": "visitor-9", "body": "Other", "idempotency_key": k });
    let (status, error) = error_of(widget(&app, "messages", conflict).await).await;
    assert_eq!((status, error["code"].as_str()), (409, Some("idempotency_conflict")));
    // The operator's page key and the widget's never meet.
    let conversation = first["conversation_id"].as_i64().unwrap();
    let list = app.get_json("/api/v1/conversations").await;
    assert_eq!(list["items"][0]["id"], conversation);
    assert_eq!(list["items"][0]["unread"], 1);
    let lead = list["items"][0]["lead"]["id"].as_i64().unwrap();

    let stream = app
        .client
        .get(app.url("/api/v1/track/stream"))
        .query(&[("key", site.key.as_str()), ("visitor_id", "visitor-9")])
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    assert_eq!(stream.headers()["access-control-allow-origin"], "*");
    let mut stream = Events::of(stream);
    let own = stream.next().await;
    assert_eq!(own.name.as_deref(), Some("message"));
    assert_eq!(own.id, first["id"].as_i64());

    let answer = sent(reply(&app, conversation, "Yes, 3 left.", &key()).await, 201).await;
    let live = stream.next().await;
    assert_eq!(live.id, answer["message"]["id"].as_i64());
    let data: Value = serde_json::from_str(&live.data).unwrap();
    assert_eq!(data["body"], "Yes, 3 left.");
    assert_eq!(data["author"], "operator");
    assert_eq!(data["seen"], false);

    // A reconnect resumes after Last-Event-ID.
    let resumed = app
        .client
        .get(app.url("/api/v1/track/stream"))
        .header("last-event-id", first["id"].to_string())
        .header("x-leadcard-key", &site.key)
        .query(&[("visitor_id", "visitor-9")])
        .send()
        .await
        .unwrap();
    let mut resumed = Events::of(resumed);
    assert_eq!(resumed.next().await.id, answer["message"]["id"].as_i64());

    let id = answer["message"]["id"].as_i64().unwrap();
    let seen = json!({ "key": site.key, "visitor_id": "visitor-9", "message_ids": [id, first["id"], 999_999] });
    assert_eq!(sent(widget(&app, "messages/seen", seen.clone()).await, 200).await, json!({ "accepted": 1 }));
    assert_eq!(sent(widget(&app, "messages/seen", seen).await, 200).await, json!({ "accepted": 0 }));
    // Another visitor cannot mark this lead's messages.
    let stranger = json!({ "key": site.key, "visitor_id": "visitor-x", "message_ids": [id] });
    assert_eq!(sent(widget(&app, "messages/seen", stranger).await, 200).await, json!({ "accepted": 0 }));
    let t = thread(&app, conversation).await;
    assert_eq!(t["messages"][1]["delivery"], "delivered");
    assert!(widget_messages(&app, &site.key, "visitor-9", 0).await[1]["seen"].as_bool().unwrap());
    let events = app.live_events().await;
    let changes = conversation_changed(&events, conversation);
    assert!(changes.iter().all(|e| e["lead_id"] == lead));
    assert_eq!(changes.len(), 3, "lead's message, reply, seen: {changes:?}");

    // Bad input names the field; a wrong key opens nothing.
    for (body, field) in [
        (json!({ "key": site.key, "visitor_id": "visitor-9", "body": " ", "idempotency_key": key() }), "body"),
        (json!({ "key": site.key, "visitor_id": "bad id!", "body": "hi", "idempotency_key": key() }), "visitor_id"),
        (
            json!({ "key": site.key, "visitor_id": "visitor-9", "body": "hi", "idempotency_key": "short" }),
            "idempotency_key",
        ),
        (json!({ "key": site.key, "visitor_id": "visitor-9", "body": "hi" }), "idempotency_key"),
    ] {
        let (status, error) = error_of(widget(&app, "messages", body).await).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)));
    }
    let too_many = json!({ "key": site.key, "visitor_id": "visitor-9", "message_ids": vec![1; 201] });
    let (status, error) = error_of(widget(&app, "messages/seen", too_many).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("message_ids")));
    let wrong = json!({ "key": "pk_wrong", "visitor_id": "visitor-9", "body": "hi", "idempotency_key": key(), "message_ids": [] });
    for path in ["messages", "messages/seen"] {
        let (status, error) = error_of(widget(&app, path, wrong.clone()).await).await;
        assert_eq!((status, error["code"].as_str()), (401, Some("invalid_key")), "{path}");
    }
    for path in ["messages", "stream"] {
        let response = app
            .client
            .get(app.url(&format!("/api/v1/track/{path}")))
            .query(&[("key", "pk_wrong"), ("visitor_id", "visitor-9")])
            .send()
            .await
            .unwrap();
        let (status, error) = error_of(response).await;
        assert_eq!((status, error["code"].as_str()), (401, Some("invalid_key")), "{path}");
    }
    let response = app
        .client
        .get(app.url("/api/v1/track/messages"))
        .query(&[("key", site.key.as_str()), ("visitor_id", "visitor-9"), ("after", "x")])
        .send()
        .await
        .unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("after")));
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/track/messages"))
        .header("origin", "https://shop.test")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success());
    assert_eq!(preflight.headers()["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn a_chat_reply_is_mailed_to_an_offline_lead_unless_the_widget_showed_it_in_time() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    app.signed_in().await;
    let site = site(&app).await;
    let lead = lead_on_site(&app, &site.key, "visitor-7").await;
    let version = app.card(lead).await["version"].as_i64().unwrap();
    let set_email = json!([{ "op": "set", "name": "$email", "value": { "type": "text", "value": "mia@example.com" } }]);
    assert_eq!(app.patch(lead, set_email, Some(version)).await.status(), 200);

    // Online now: no copy.
    let online = sent(send_from_card(&app, lead, "chat", "Hi, need help?", &key()).await, 201).await;
    assert_eq!(online["message"]["emailed_copy"], false);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 0);

    // Gone for good: the copy waits CHAT_COPY_DELAY, then goes out with the reply address.
    app.clock.advance(Span::minutes(3));
    let away = sent(send_from_card(&app, lead, "chat", "Your size is back in stock.", &key()).await, 201).await;
    assert_eq!(away["message"]["emailed_copy"], true);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(smtp.received().is_empty(), "not before the delay");
    app.clock.advance(Span::minutes(3));
    let copy = smtp.wait_for(1).await.remove(0);
    assert_eq!(copy.to, ["mia@example.com"]);
    assert!(copy.body().contains("Your size is back in stock."), "{}", copy.body());
    assert!(copy.header("Reply-To").unwrap().starts_with("reply+"));
    let conversation = away["conversation"]["id"].as_i64().unwrap();
    wait_for_count(&app, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'", 1).await;
    let t = thread(&app, conversation).await;
    assert_eq!(t["messages"][1]["delivery"], "delivered", "its copy was mailed");

    // Away again, but the widget shows the message before the delay: no mail.
    let read_in_time = sent(send_from_card(&app, lead, "chat", "Shall I reserve one?", &key()).await, 201).await;
    assert_eq!(read_in_time["message"]["emailed_copy"], true);
    let id = read_in_time["message"]["id"].as_i64().unwrap();
    let seen = json!({ "key": site.key, "visitor_id": "visitor-7", "message_ids": [id] });
    assert_eq!(sent(widget(&app, "messages/seen", seen).await, 200).await, json!({ "accepted": 1 }));
    app.clock.advance(Span::minutes(3));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(smtp.received().len(), 1, "the read message was not mailed");
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE status = 'dropped'").await, 1);
    let t = thread(&app, conversation).await;
    let last = t["messages"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["emailed_copy"].as_bool(), last["delivery"].as_str()), (Some(false), Some("delivered")));
}

#[tokio::test]
async fn bad_input_is_422_naming_the_field_and_unknown_ids_are_404() {
    let app = spawn_app().await;
    app.signed_in().await;
    let lead = app.add_lead(&[("$email", text("ok@example.com"))], &[]).await;
    let done = sent(send_from_card(&app, lead, "chat", "Hello", &key()).await, 201).await;
    let conversation = done["conversation"]["id"].as_i64().unwrap();

    for (body, field) in [
        (json!({ "channel": "chat", "body": "  ", "idempotency_key": key() }), "body"),
        (json!({ "channel": "chat", "body": "x".repeat(10_001), "idempotency_key": key() }), "body"),
        (json!({ "channel": "chat", "body": "hi", "subject": "S", "idempotency_key": key() }), "subject"),
        (json!({ "channel": "email", "body": "hi", "subject": "a\nb", "idempotency_key": key() }), "subject"),
        (json!({ "channel": "chat", "body": "hi", "idempotency_key": "no" }), "idempotency_key"),
        (json!({ "channel": "fax", "body": "hi", "idempotency_key": key() }), "channel"),
        (json!({ "channel": "chat", "body": 5, "idempotency_key": key() }), "body"),
        (json!({ "channel": "chat", "body": "hi" }), "idempotency_key"),
    ] {
        let response = app.post_json(&format!("/api/v1/leads/{lead}/messages"), &body).await;
        let (status, error) = error_of(response).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{body}");
    }
    let (status, error) = error_of(
        app.post_json(
            &format!("/api/v1/conversations/{conversation}/messages"),
            &json!({ "body": "hi", "subject": "S", "idempotency_key": key() }),
        )
        .await,
    )
    .await;
    assert_eq!((status, error["field"].as_str()), (422, Some("subject")), "a chat has no subject");
    let (status, error) = error_of(
        app.post_json(&format!("/api/v1/conversations/{conversation}/assign"), &json!({ "operator_id": 424_242 }))
            .await,
    )
    .await;
    assert_eq!((status, error["field"].as_str()), (422, Some("operator_id")));
    for query in ["limit=0", "limit=201", "before=x", "after=-1"] {
        let (status, _) =
            error_of(app.get(&format!("/api/v1/conversations/{conversation}/messages?{query}")).await).await;
        assert_eq!(status, 422, "{query}");
    }
    // Not JSON: 415; a body from a form: CSRF.
    let response =
        app.client.post(app.url(&format!("/api/v1/leads/{lead}/messages"))).body("channel=chat").send().await.unwrap();
    assert_eq!(response.status(), 403);

    for id in ["999999", "abc"] {
        for path in [
            format!("/api/v1/conversations/{id}"),
            format!("/api/v1/conversations/{id}/messages"),
            format!("/api/v1/leads/{id}/conversations"),
            format!("/api/v1/leads/{id}/channels"),
        ] {
            let (status, error) = error_of(app.get(&path).await).await;
            assert_eq!((status, error["code"].as_str()), (404, Some("not_found")), "{path}");
        }
        for path in ["close", "reopen", "read"] {
            let (status, _) = error_of(app.post_empty(&format!("/api/v1/conversations/{id}/{path}")).await).await;
            assert_eq!(status, 404, "{path}");
        }
        let (status, _) = error_of(reply(&app, 0, "hi", &key()).await).await;
        assert_eq!(status, 404);
        let (status, _) = error_of(
            app.post_json(&format!("/api/v1/conversations/{id}/assign"), &json!({ "operator_id": null })).await,
        )
        .await;
        assert_eq!(status, 404);
        let (status, _) = error_of(send_from_card_raw(&app, id).await).await;
        assert_eq!(status, 404);
    }
    // Older history pages back from the first message shown.
    for i in 0..4 {
        sent(reply(&app, conversation, &format!("More {i}"), &key()).await, 201).await;
    }
    let page = app.get_json(&format!("/api/v1/conversations/{conversation}/messages?limit=2")).await;
    assert_eq!(page["more_before"], true);
    let first_shown = page["items"][0]["id"].as_i64().unwrap();
    let older =
        app.get_json(&format!("/api/v1/conversations/{conversation}/messages?before={first_shown}&limit=10")).await;
    assert_eq!(older["items"].as_array().unwrap().len(), 3);
    assert_eq!(older["more_before"], false);
    let newer = app.get_json(&format!("/api/v1/conversations/{conversation}/messages?after={first_shown}")).await;
    assert_eq!(newer["items"].as_array().unwrap().len(), 1);
}

async fn send_from_card_raw(app: &TestApp, id: &str) -> Response {
    let request = json!({ "channel": "chat", "body": "hi", "idempotency_key": key() });
    app.post_json(&format!("/api/v1/leads/{id}/messages"), &request).await
}
