//! Email subscription status through the API and a real SMTP server on loopback: Double Opt-In,
//! one-click unsubscribe, the card menu's email actions, bounces from SMTP answers and from the
//! webhook, campaigns, the outbox, and delivery that survives a restart and runs once across
//! two servers.

use std::time::Duration;

use chrono::{DateTime, Utc};
use leadcard_core::{EmailSettings, MailKind, SubscriptionStatus};
use leadcard_server::mail::worker::LOCK_FOR;
use leadcard_server::store::{EmailStatusChange, NewMail};
use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, lead, new_client, spawn_another_on, spawn_app, spawn_app_with, text};
use crate::smtp::SmtpServer;

pub(crate) async fn mail_app(smtp: &SmtpServer) -> TestApp {
    let url = smtp.url();
    spawn_app_with(move |config| config.mail.smtp_url = Some(url)).await
}

async fn double_opt_in(app: &TestApp, on: bool) {
    let settings = EmailSettings { double_opt_in: on, ..EmailSettings::default() };
    app.store.set_email_settings(&settings).await.unwrap();
}

pub(crate) fn triggered(lead_id: i64, to: &str) -> NewMail {
    NewMail {
        lead_id: Some(lead_id),
        to: to.to_owned(),
        kind: MailKind::Triggered,
        subject: "Your cart".to_owned(),
        body: "You left something in your cart.".to_owned(),
        campaign_id: None,
    }
}

/// Waits (up to 20 s) until `SELECT COUNT(*) ...` gives `n`.
pub(crate) async fn wait_for_count(app: &TestApp, sql: &str, n: i64) {
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

/// The card as the store reads it now: for tests that move the clock past the session's life.
pub(crate) async fn stored_card(app: &TestApp, id: i64) -> Value {
    serde_json::to_value(app.store.lead_card(id, app.clock.now()).await.unwrap().unwrap()).unwrap()
}

pub(crate) fn subscription(card: &Value) -> &Value {
    &card["subscription"]
}

fn no_redirects() -> Client {
    Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

fn lead_changed(events: &[Value], lead_id: i64) -> bool {
    events.iter().any(|e| e["kind"] == "lead_changed" && e["lead_id"] == lead_id)
}

#[tokio::test]
async fn double_opt_in_mails_a_link_that_subscribes_the_address() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    app.signed_in_admin().await;
    let settings = json!({ "double_opt_in": true, "soft_bounce_cool_down_hours": 24, "soft_bounces_to_hard": 3 });
    let response = app.client.put(app.url("/api/v1/settings/email")).json(&settings).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), settings);
    assert_eq!(app.get_json("/api/v1/settings/email").await, settings);

    let id = app.add_lead(&[("$name", text("Lena")), ("$email", text("Lena@Example.com"))], &[]).await;
    let card = app.card(id).await;
    assert_eq!(subscription(&card)["status"], "waiting_for_confirmation");
    assert_eq!(subscription(&card)["actions"]["send_confirmation"], json!({ "allowed": true, "reason": null }));

    let mails = smtp.wait_for(1).await;
    let mail = &mails[0];
    assert_eq!(mail.to, ["Lena@Example.com"]);
    assert_eq!(mail.from, "no-reply@leadcard.test");
    assert_eq!(mail.header("Subject").as_deref(), Some("Please confirm your subscription"));
    assert_eq!(mail.header("List-Unsubscribe"), None, "a confirmation request is not marketing");
    let link = mail.link(&format!("{}/c/", app.base)).expect("a confirmation link in the body");

    // Opening the link (or a mail scanner fetching it) changes nothing: its page has the button.
    let response = new_client().get(&link).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let html = response.text().await.unwrap();
    assert!(html.contains("Receive email at lena@example.com?") && html.contains("<form method=\"post\">"), "{html}");
    assert_eq!(subscription(&app.card(id).await)["status"], "waiting_for_confirmation");

    let response = new_client().post(&link).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.text().await.unwrap().contains("lena@example.com is confirmed"));
    let card = app.card(id).await;
    assert_eq!(subscription(&card)["status"], "subscribed");
    assert_eq!(subscription(&card)["actions"]["send_confirmation"]["reason"], "the address is already subscribed");
    assert!(lead_changed(&app.live_events().await, id));
    wait_for_count(&app, "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND sent_at IS NOT NULL", 1).await;

    // A card's address changed to a new one: that address waits for its own confirmation.
    let version = card["version"].as_i64().unwrap();
    let operations =
        json!([{ "op": "set", "name": "$email", "value": { "type": "text", "value": "lena@work.example" } }]);
    let card: Value = app.patch(id, operations, Some(version)).await.json().await.unwrap();
    assert_eq!(subscription(&card)["status"], "waiting_for_confirmation");
    let mails = smtp.wait_for(2).await;
    assert_eq!(mails[1].to, ["lena@work.example"]);
}

#[tokio::test]
async fn an_expired_or_forged_confirmation_link_changes_nothing() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    app.signed_in().await;
    double_opt_in(&app, true).await;
    let id = app.add_lead(&[("$email", text("max@example.com"))], &[]).await;
    let link = smtp.wait_for(1).await[0].link(&format!("{}/c/", app.base)).unwrap();

    let forged = format!("{}x", &link[..link.len() - 1]);
    for response in [new_client().get(&forged).send().await.unwrap(), new_client().post(&forged).send().await.unwrap()]
    {
        assert_eq!(response.status(), 404);
        assert!(response.text().await.unwrap().contains("This link does not work"));
    }

    app.clock.advance(chrono::Duration::days(8));
    for response in [new_client().get(&link).send().await.unwrap(), new_client().post(&link).send().await.unwrap()] {
        assert_eq!(response.status(), 410);
        assert!(response.text().await.unwrap().contains("This link has expired"));
    }
    assert_eq!(subscription(&stored_card(&app, id).await)["status"], "waiting_for_confirmation");
}

#[tokio::test]
async fn sending_the_confirmation_again_follows_the_rules() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    app.signed_in().await;
    let subscribed = app.add_lead(&[("$email", text("ann@example.com"))], &[]).await;
    let card = app.card(subscribed).await;
    assert_eq!(
        subscription(&card)["actions"]["send_confirmation"],
        json!({ "allowed": false, "reason": "Double Opt-In is off" })
    );
    let (status, error) = error_of(app.post_empty(&format!("/api/v1/leads/{subscribed}/confirmation")).await).await;
    assert_eq!((status, error["code"].as_str()), (409, Some("refused")));
    assert_eq!(error["message"], "Double Opt-In is off.");

    double_opt_in(&app, true).await;
    let waiting = app.add_lead(&[("$email", text("bob@example.com"))], &[]).await;
    smtp.wait_for(1).await;
    let response = app.post_empty(&format!("/api/v1/leads/{waiting}/confirmation")).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap()["status"], "waiting_for_confirmation");
    let mails = smtp.wait_for(2).await;
    assert_eq!(mails[1].to, ["bob@example.com"]);
    assert_eq!(mails[1].header("Subject").as_deref(), Some("Please confirm your subscription"));

    let no_address = app.add_lead(&[("$name", text("Nobody"))], &[]).await;
    let (status, error) = error_of(app.post_empty(&format!("/api/v1/leads/{no_address}/confirmation")).await).await;
    assert_eq!((status, error["message"].as_str()), (409, Some("The lead has no email address.")));
    assert_eq!(app.post_empty("/api/v1/leads/999999/confirmation").await.status(), 404);
}

#[tokio::test]
async fn campaign_mail_carries_one_click_unsubscribe_that_needs_no_session_and_reaches_every_card() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    app.signed_in_admin().await;
    let first = app.add_lead(&[("$email", text("Lena@example.com"))], &[]).await;
    let second = app.add_lead(&[("$email", text(" lena@EXAMPLE.com "))], &[]).await;
    let other = app.add_lead(&[("$email", text("max@example.com"))], &[]).await;

    let response = app.post_json("/api/v1/campaigns", &json!({ "subject": "Spring news", "body": "Hello!" })).await;
    assert_eq!(response.status(), 200);
    let queued: Value = response.json().await.unwrap();
    assert_eq!((queued["recipients"].as_u64(), &queued["skipped"]), (Some(2), &json!({})));

    let mails = smtp.wait_for(2).await;
    let lena = mails.iter().find(|m| m.to == ["Lena@example.com"]).expect("one mail to the shared address");
    assert_eq!(lena.header("Subject").as_deref(), Some("Spring news"));
    assert!(lena.body().starts_with("Hello!"));
    assert_eq!(lena.header("List-Unsubscribe-Post").as_deref(), Some("List-Unsubscribe=One-Click"));
    let header = lena.header("List-Unsubscribe").unwrap();
    let url = header.strip_prefix('<').and_then(|h| h.strip_suffix('>')).unwrap().to_owned();
    assert!(url.starts_with(&format!("{}/u/", app.base)), "{url}");

    let page = no_redirects().get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("frame-ancestors 'none'"));
    let html = page.text().await.unwrap();
    assert!(html.contains("<form method=\"post\">") && html.contains("lena@example.com"), "{html}");
    assert_eq!(subscription(&app.card(first).await)["status"], "subscribed", "a GET changes nothing");

    let response = no_redirects()
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("location").is_none());
    assert!(response.headers().get("set-cookie").is_none());
    for id in [first, second] {
        let card = app.card(id).await;
        assert_eq!(subscription(&card)["status"], "unsubscribed", "lead {id}");
        assert_eq!(subscription(&card)["reason"], "unsubscribed through the link in an email");
    }
    assert_eq!(subscription(&app.card(other).await)["status"], "subscribed");
    let events = app.live_events().await;
    assert!(lead_changed(&events, first) && lead_changed(&events, second));

    let again: Value =
        app.post_json("/api/v1/campaigns", &json!({ "subject": "More", "body": "Hi" })).await.json().await.unwrap();
    assert_eq!((again["recipients"].as_u64(), &again["skipped"]), (Some(1), &json!({ "unsubscribed": 1 })));
    smtp.wait_for(3).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.received().len(), 3);
    assert!(smtp.received()[2].to == ["max@example.com"]);

    let response = no_redirects().post(format!("{}/u/not-a-token", app.base)).send().await.unwrap();
    assert_eq!(response.status(), 404);
}

#[tokio::test]
async fn an_operator_unsubscribes_every_card_with_the_address_and_cannot_subscribe_it_again() {
    let app = spawn_app().await;
    app.signed_in().await;
    let first = app.add_lead(&[("$email", text("lena@example.com"))], &[]).await;
    let second = app.add_lead(&[("$email", text("LENA@example.com"))], &[]).await;
    assert_eq!(
        subscription(&app.card(first).await)["actions"]["unsubscribe"],
        json!({ "allowed": true, "reason": null })
    );

    let response = app.client.post(app.url(&format!("/api/v1/leads/{first}/unsubscribe"))).send().await.unwrap();
    assert_eq!(error_of(response).await.1["code"], "csrf");
    let response = app.post_empty(&format!("/api/v1/leads/{first}/unsubscribe")).await;
    assert_eq!(response.status(), 200);
    let now: Value = response.json().await.unwrap();
    assert_eq!(now["status"], "unsubscribed");
    assert_eq!(now["reason"], "unsubscribed by an operator");
    assert_eq!(
        now["actions"]["unsubscribe"],
        json!({ "allowed": false, "reason": "the lead is already unsubscribed" })
    );
    assert_eq!(subscription(&app.card(second).await)["status"], "unsubscribed");
    let events = app.live_events().await;
    assert!(lead_changed(&events, first) && lead_changed(&events, second));

    let response = app.post_empty(&format!("/api/v1/leads/{second}/unsubscribe")).await;
    assert_eq!(response.status(), 200, "unsubscribing again changes nothing");
    assert_eq!(response.json::<Value>().await.unwrap()["changed_at"], now["changed_at"]);

    // Nothing an operator can do brings the address back: not a new email and back again, not
    // a confirmation request.
    let version = app.card(first).await["version"].as_i64().unwrap();
    let set = |email: &str| json!([{ "op": "set", "name": "$email", "value": { "type": "text", "value": email } }]);
    let card: Value = app.patch(first, set("other@example.com"), Some(version)).await.json().await.unwrap();
    assert_eq!(subscription(&card)["status"], "subscribed");
    let card: Value = app.patch(first, set("lena@example.com"), Some(version + 1)).await.json().await.unwrap();
    assert_eq!(subscription(&card)["status"], "unsubscribed");
    double_opt_in(&app, true).await;
    let (status, error) = error_of(app.post_empty(&format!("/api/v1/leads/{first}/confirmation")).await).await;
    assert_eq!(status, 409);
    assert_eq!(error["message"], "The lead unsubscribed; only the lead can subscribe again, by confirming.");

    let no_address = app.add_lead(&[("$name", text("Nobody"))], &[]).await;
    let (status, error) = error_of(app.post_empty(&format!("/api/v1/leads/{no_address}/unsubscribe")).await).await;
    assert_eq!((status, error["message"].as_str()), (409, Some("The lead has no email address.")));
    assert_eq!(app.post_empty("/api/v1/leads/999999/unsubscribe").await.status(), 404);
}

#[tokio::test]
async fn a_550_5_1_1_answer_is_a_hard_bounce_and_the_address_is_never_mailed_again() {
    let smtp = SmtpServer::start().await;
    smtp.refuse_recipients("550 5.1.1 mailbox does not exist");
    let app = mail_app(&smtp).await;
    app.signed_in().await;
    let id = app.add_lead(&[("$email", text("gone@example.com"))], &[]).await;
    app.store.enqueue_mail(triggered(id, "gone@example.com"), app.clock.now()).await.unwrap();
    wait_for_count(&app, "SELECT COUNT(*) FROM outbox WHERE status = 'failed'", 1).await;

    let card = app.card(id).await;
    assert_eq!(subscription(&card)["status"], "bounced");
    assert_eq!(subscription(&card)["bounce"], "hard");
    assert_eq!(subscription(&card)["reason"], "550 5.1.1 mailbox does not exist");
    let hard = json!({ "allowed": false, "reason": "a hard-bounced address is never mailed again" });
    assert_eq!(subscription(&card)["actions"]["unsubscribe"], hard);
    assert!(lead_changed(&app.live_events().await, id));
    assert!(smtp.received().is_empty());

    app.store.enqueue_mail(triggered(id, "gone@example.com"), app.clock.now()).await.unwrap();
    wait_for_count(
        &app,
        "SELECT COUNT(*) FROM outbox WHERE status = 'dropped' \
         AND last_error = 'the address hard-bounced and is never mailed again'",
        1,
    )
    .await;
    assert_eq!(smtp.rcpt_commands(), 1, "the second mail never reached the server");
}

#[tokio::test]
async fn a_452_4_2_2_answer_is_a_soft_bounce_retried_after_the_cool_down_and_the_third_is_hard() {
    let smtp = SmtpServer::start().await;
    smtp.refuse_recipients("452 4.2.2 mailbox full");
    let app = mail_app(&smtp).await;
    app.signed_in().await;
    let id = app.add_lead(&[("$email", text("full@example.com"))], &[]).await;
    app.store.enqueue_mail(triggered(id, "full@example.com"), app.clock.now()).await.unwrap();
    wait_for_count(&app, "SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND attempts = 1", 1).await;

    let card = app.card(id).await;
    assert_eq!((&subscription(&card)["status"], &subscription(&card)["bounce"]), (&json!("bounced"), &json!("soft")));
    assert_eq!(subscription(&card)["reason"], "452 4.2.2 mailbox full");
    let cool_down: DateTime<Utc> = serde_json::from_value(subscription(&card)["cool_down_until"].clone()).unwrap();
    let hours = (cool_down - app.clock.now()).num_minutes() as f64 / 60.0;
    assert!((23.9..=24.0).contains(&hours), "{hours}");

    for attempt in 2..=3 {
        app.clock.advance(chrono::Duration::hours(25));
        let sql = if attempt == 2 {
            "SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND attempts = 2"
        } else {
            "SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND attempts = 3"
        };
        wait_for_count(&app, sql, 1).await;
    }
    let card = stored_card(&app, id).await;
    assert_eq!(subscription(&card)["bounce"], "hard", "three soft bounces in a row make a hard one");
    assert_eq!(subscription(&card)["reason"], "452 4.2.2 mailbox full");
    assert_eq!(smtp.rcpt_commands(), 3);
    assert!(smtp.received().is_empty());
}

#[tokio::test]
async fn a_delivery_after_a_soft_bounce_makes_the_address_subscribed_again() {
    let smtp = SmtpServer::start().await;
    smtp.refuse_recipients("451 4.3.0 try again later");
    let app = mail_app(&smtp).await;
    app.signed_in().await;
    let id = app.add_lead(&[("$email", text("busy@example.com"))], &[]).await;
    app.store.enqueue_mail(triggered(id, "busy@example.com"), app.clock.now()).await.unwrap();
    wait_for_count(&app, "SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND attempts = 1", 1).await;
    assert_eq!(subscription(&app.card(id).await)["bounce"], "soft");

    smtp.accept_recipients();
    app.clock.advance(chrono::Duration::hours(25));
    smtp.wait_for(1).await;
    wait_for_count(&app, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'", 1).await;
    let card = stored_card(&app, id).await;
    assert_eq!(subscription(&card)["status"], "subscribed");
    assert_eq!(subscription(&card)["bounce"], Value::Null);
}

#[tokio::test]
async fn bounce_webhook_needs_its_secret_names_the_wrong_field_and_records_bounces() {
    let app = spawn_app_with(|config| config.mail.webhook_secret = Some("hook-secret-123".to_owned())).await;
    app.signed_in().await;
    let lena = app.add_lead(&[("$email", text("lena@example.com"))], &[]).await;
    let max = app.add_lead(&[("$email", text("max@example.com"))], &[]).await;
    let client = new_client();
    let url = app.url("/api/v1/webhooks/email");
    let post = |secret: Option<&str>, body: Value| {
        let mut request = client.post(&url).json(&body);
        if let Some(secret) = secret {
            request = request.header("X-Leadcard-Webhook-Secret", secret);
        }
        request.send()
    };
    let hard = json!({ "address": "LENA@example.com", "status_code": "5.1.1", "smtp_code": 550,
                       "reason": "mailbox does not exist" });

    for secret in [None, Some("wrong"), Some("")] {
        let (status, error) = error_of(post(secret, hard.clone()).await.unwrap()).await;
        assert_eq!((status, error["code"].as_str()), (401, Some("invalid_secret")), "{secret:?}");
    }
    let bad = [
        (json!({ "address": "no at sign", "status_code": "5.1.1", "reason": "x" }), "address"),
        (json!({ "address": "lena@example.com", "status_code": "2.0.0", "reason": "x" }), "status_code"),
        (
            json!({ "address": "lena@example.com", "status_code": "5.1.1", "smtp_code": 450, "reason": "x" }),
            "smtp_code",
        ),
        (json!({ "address": "lena@example.com", "status_code": "5.1.1" }), "reason"),
        (json!({ "address": "lena@example.com", "status_code": "5.1.1", "reason": "  " }), "reason"),
        (json!({ "address": "lena@example.com", "status_code": 511, "reason": "x" }), "status_code"),
    ];
    for (body, field) in bad {
        let (status, error) = error_of(post(Some("hook-secret-123"), body.clone()).await.unwrap()).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{body}");
    }
    assert_eq!(subscription(&app.card(lena).await)["status"], "subscribed", "nothing was recorded");

    let response = post(Some("hook-secret-123"), hard).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.json::<Value>().await.unwrap(),
        json!({ "known": true, "status": "bounced", "bounce": "hard" })
    );
    let card = app.card(lena).await;
    assert_eq!(subscription(&card)["reason"], "550 5.1.1 mailbox does not exist");

    let soft = json!({ "address": "max@example.com", "status_code": "4.2.2", "reason": "mailbox full" });
    for expected in ["soft", "soft", "hard"] {
        let applied: Value = post(Some("hook-secret-123"), soft.clone()).await.unwrap().json().await.unwrap();
        assert_eq!(applied["bounce"], expected);
    }
    assert_eq!(subscription(&app.card(max).await)["reason"], "4.2.2 mailbox full");

    let unknown = json!({ "address": "who@example.com", "status_code": "5.1.1", "reason": "no such user" });
    let applied: Value = post(Some("hook-secret-123"), unknown).await.unwrap().json().await.unwrap();
    assert_eq!(applied, json!({ "known": false, "status": null, "bounce": null }));
    assert_eq!(app.count("SELECT COUNT(*) FROM email_statuses WHERE email_norm = 'who@example.com'").await, 0);

    let off = spawn_app().await;
    let response = new_client().post(off.url("/api/v1/webhooks/email")).json(&json!({})).send().await.unwrap();
    assert_eq!(
        error_of(response).await,
        (404, json!({ "code": "not_found", "message": "There is no such API endpoint." }))
    );
}

#[tokio::test]
async fn a_campaign_to_10000_leads_mails_each_subscribed_address_once_and_nothing_else() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let now = app.clock.now();
    // 10,000 leads on 8,000 addresses: every fifth lead shares the address of the lead before it.
    let mut leads = Vec::new();
    let mut statuses = Vec::new();
    for i in 0..10_000u32 {
        let n = if i % 5 == 4 { i - 1 } else { i };
        let email = if n % 7 == 6 { format!("broken-{n}.example.com") } else { format!("Person{n}@example.com") };
        let tags: &[&str] = if i % 2 == 0 { &["even"] } else { &[] };
        leads.push(lead(now, &[("$email", text(&email))], tags));
        let status = match n % 7 {
            0 => Some((SubscriptionStatus::Unsubscribed, None)),
            1 => Some((SubscriptionStatus::Bounced, Some(leadcard_core::BounceKind::Hard))),
            2 => Some((SubscriptionStatus::Bounced, Some(leadcard_core::BounceKind::Soft))),
            3 => Some((SubscriptionStatus::WaitingForConfirmation, None)),
            _ => None,
        };
        if let Some((status, bounce)) = status {
            statuses.push(EmailStatusChange { email, status, bounce, reason: None, at: now });
        }
    }
    app.store.create_leads(&leads).await.unwrap();
    app.store.set_email_statuses(&statuses).await.unwrap();

    let expected_subscribed = (0..10_000u32).filter(|i| i % 5 != 4 && matches!(i % 7, 4 | 5)).count() as u64;
    let started = std::time::Instant::now();
    let response = app.post_json("/api/v1/campaigns", &json!({ "subject": "Big news", "body": "Hello, all." })).await;
    assert_eq!(response.status(), 200);
    let queued: Value = response.json().await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(20), "queued in {:?}", started.elapsed());
    assert_eq!(queued["recipients"].as_u64(), Some(expected_subscribed));
    let skipped = &queued["skipped"];
    let addresses = |rest: u32| (0..10_000u32).filter(|i| i % 5 != 4 && i % 7 == rest).count() as u64;
    assert_eq!(skipped["unsubscribed"].as_u64(), Some(addresses(0)));
    assert_eq!(skipped["bounced"].as_u64(), Some(addresses(1) + addresses(2)));
    assert_eq!(skipped["waiting_for_confirmation"].as_u64(), Some(addresses(3)));
    assert_eq!(skipped["invalid_email"].as_u64(), Some(addresses(6)));
    assert!(skipped.get("subscribed").is_none());

    let n = expected_subscribed as i64;
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE kind = 'campaign'").await, n);
    assert_eq!(app.count("SELECT COUNT(DISTINCT email_norm) FROM outbox").await, n, "each address once");
    let not_subscribed = "SELECT COUNT(*) FROM outbox o LEFT JOIN email_statuses s ON s.email_norm = o.email_norm \
                          WHERE s.status IS NULL OR s.status <> 'subscribed'";
    assert_eq!(app.count(not_subscribed).await, 0, "0 mails to anything but Subscribed");

    // With a filter: only the matching leads' addresses (a shared address counts when any of
    // its leads matches).
    let filter = json!({ "all": [{ "kind": "tag", "tag": "even" }] });
    let queued: Value = app
        .post_json("/api/v1/campaigns", &json!({ "subject": "Evens", "body": "Hi", "filter": filter }))
        .await
        .json()
        .await
        .unwrap();
    let expected = (0..10_000u32)
        .filter(|i| i % 5 != 4 && matches!(i % 7, 4 | 5) && (i % 2 == 0 || (i % 5 == 3 && (i + 1) % 2 == 0)))
        .count() as u64;
    assert_eq!(queued["recipients"].as_u64(), Some(expected));

    let (status, error) = error_of(
        app.post_json(
            "/api/v1/campaigns",
            &json!({ "subject": "x", "body": "y", "filter": { "all": [{ "kind": "tag", "tag": "" }] } }),
        )
        .await,
    )
    .await;
    assert_eq!((status, error["field"].as_str()), (422, Some("filter.all[0].tag")));
    let (status, error) =
        error_of(app.post_json("/api/v1/campaigns", &json!({ "subject": "a\nb", "body": "y" })).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("subject")));
}

#[tokio::test]
async fn admin_only_routes_answer_403_to_an_operator_and_settings_are_checked() {
    let app = spawn_app().await;
    app.signed_in().await;
    assert_eq!(app.get_json("/api/v1/settings/email").await["double_opt_in"], false);
    let settings = json!({ "double_opt_in": true, "soft_bounce_cool_down_hours": 24, "soft_bounces_to_hard": 3 });
    let forbidden = [
        app.client.put(app.url("/api/v1/settings/email")).json(&settings).send().await.unwrap(),
        app.post_json("/api/v1/campaigns", &json!({ "subject": "s", "body": "b" })).await,
        app.get("/api/v1/outbox").await,
    ];
    for response in forbidden {
        let (status, error) = error_of(response).await;
        assert_eq!((status, error["code"].as_str()), (403, Some("forbidden")));
    }
    assert_eq!(app.store.email_settings().await.unwrap(), EmailSettings::default());

    let (admin, client) = {
        let admin = app.add_operator_with_role("ada@leadcard.test", leadcard_core::wire::Role::Admin).await;
        let client = new_client();
        assert_eq!(app.sign_in_with(&client, "ada@leadcard.test", crate::helpers::PASSWORD).await.status(), 200);
        (admin, client)
    };
    assert_eq!(admin.role, leadcard_core::wire::Role::Admin);
    for (body, field) in [
        (
            json!({ "double_opt_in": true, "soft_bounce_cool_down_hours": 0, "soft_bounces_to_hard": 3 }),
            "soft_bounce_cool_down_hours",
        ),
        (
            json!({ "double_opt_in": true, "soft_bounce_cool_down_hours": 24, "soft_bounces_to_hard": 0 }),
            "soft_bounces_to_hard",
        ),
        (json!({ "soft_bounce_cool_down_hours": 24, "soft_bounces_to_hard": 3 }), "double_opt_in"),
    ] {
        let response = client.put(app.url("/api/v1/settings/email")).json(&body).send().await.unwrap();
        let (status, error) = error_of(response).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{body}");
    }
    let response = client.put(app.url("/api/v1/settings/email")).json(&settings).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(app.store.email_settings().await.unwrap().double_opt_in);
}

#[tokio::test]
async fn the_outbox_lists_mails_newest_first_in_pages_and_without_smtp_they_stay_queued() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let id = app.add_lead(&[("$email", text("lena@example.com"))], &[]).await;
    for _ in 0..5 {
        app.store.enqueue_mail(triggered(id, "lena@example.com"), app.clock.now()).await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let page = app.get_json("/api/v1/outbox?limit=2").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert!(items[0]["id"].as_i64() > items[1]["id"].as_i64());
    let mail = &items[0];
    assert_eq!((mail["to"].as_str(), mail["kind"].as_str()), (Some("lena@example.com"), Some("triggered")));
    assert_eq!((mail["status"].as_str(), mail["attempts"].as_u64()), (Some("queued"), Some(0)));
    assert_eq!((mail["subject"].as_str(), mail["lead_id"].as_i64()), (Some("Your cart"), Some(id)));
    assert!(mail["next_attempt_at"].is_string() && mail["sent_at"].is_null() && mail["last_error"].is_null());

    let mut seen = 2;
    let mut next = page["next"].as_str().map(str::to_owned);
    while let Some(after) = next {
        let page = app.get_json(&format!("/api/v1/outbox?limit=2&after={after}")).await;
        seen += page["items"].as_array().unwrap().len();
        next = page["next"].as_str().map(str::to_owned);
    }
    assert_eq!(seen, 5);
    assert_eq!(app.get_json("/api/v1/outbox?status=queued").await["items"].as_array().unwrap().len(), 5);
    assert_eq!(app.get_json("/api/v1/outbox?status=sent").await["items"].as_array().unwrap().len(), 0);
    for (query, field) in [("status=lost", "status"), ("after=abc", "after"), ("limit=0", "limit")] {
        let (status, error) = error_of(app.get(&format!("/api/v1/outbox?{query}")).await).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{query}");
    }
}

#[tokio::test]
async fn a_mail_held_by_a_worker_that_died_is_sent_after_a_restart_once_its_lock_runs_out() {
    let before = spawn_app().await;
    let id = before.add_lead(&[("$email", text("lena@example.com"))], &[]).await;
    before.store.enqueue_mail(triggered(id, "lena@example.com"), before.clock.now()).await.unwrap();
    let claimed = before.store.claim_mails("a-worker-that-dies", before.clock.now(), LOCK_FOR, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);

    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let after = spawn_another_on(&before, move |config| config.mail.smtp_url = Some(url)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(smtp.received().is_empty(), "the claim still holds");
    assert_eq!(after.count("SELECT COUNT(*) FROM outbox WHERE status = 'sending'").await, 1);

    after.clock.advance(LOCK_FOR + chrono::Duration::seconds(1));
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].to, ["lena@example.com"]);
    wait_for_count(&after, "SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts = 2", 1).await;
}

#[tokio::test]
async fn two_servers_on_one_database_send_each_mail_once() {
    let smtp = SmtpServer::start().await;
    let first = mail_app(&smtp).await;
    let url = smtp.url();
    let second = spawn_another_on(&first, move |config| config.mail.smtp_url = Some(url)).await;
    let now = first.clock.now();
    let leads: Vec<_> = (0..60).map(|i| lead(now, &[("$email", text(&format!("p{i}@example.com")))], &[])).collect();
    let ids = first.store.create_leads(&leads).await.unwrap();
    for (i, id) in ids.iter().enumerate() {
        first.store.enqueue_mail(triggered(*id, &format!("p{i}@example.com")), now).await.unwrap();
        second.store.mail_queued().notify_one();
    }
    let mails = smtp.wait_for(60).await;
    wait_for_count(&first, "SELECT COUNT(*) FROM outbox WHERE status = 'sent'", 60).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(smtp.received().len(), 60, "no mail twice");
    let mut recipients: Vec<String> = mails.iter().flat_map(|m| m.to.clone()).collect();
    recipients.sort();
    recipients.dedup();
    assert_eq!(recipients.len(), 60);
}

#[tokio::test]
async fn hide_takes_the_lead_out_of_visitors_until_its_next_activity() {
    let app = spawn_app().await;
    app.signed_in().await;
    let id = app.add_lead(&[("$name", text("Lena"))], &[]).await;
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM leads WHERE id = {id} AND hidden_at IS NULL")).await, 1);
    let response = app.post_empty(&format!("/api/v1/leads/{id}/hide")).await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM leads WHERE id = {id} AND hidden_at IS NOT NULL")).await, 1);
    assert!(lead_changed(&app.live_events().await, id));
    assert_eq!(app.post_empty("/api/v1/leads/999999/hide").await.status(), 404);
}

#[tokio::test]
async fn a_confirmation_link_works_once_so_it_cannot_subscribe_again_after_an_unsubscribe() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    app.signed_in().await;
    double_opt_in(&app, true).await;
    let id = app.add_lead(&[("$email", text("max@example.com"))], &[]).await;
    let link = smtp.wait_for(1).await[0].link(&format!("{}/c/", app.base)).unwrap();

    assert_eq!(new_client().post(&link).send().await.unwrap().status(), 200);
    assert_eq!(subscription(&stored_card(&app, id).await)["status"], "subscribed");
    assert_eq!(app.post_empty(&format!("/api/v1/leads/{id}/unsubscribe")).await.status(), 200);
    assert_eq!(subscription(&stored_card(&app, id).await)["status"], "unsubscribed");

    // Within its seven days, the used link is refused on its page and on its button alike.
    app.clock.advance(chrono::Duration::days(1));
    for response in [new_client().get(&link).send().await.unwrap(), new_client().post(&link).send().await.unwrap()] {
        assert_eq!(response.status(), 410);
        assert!(response.text().await.unwrap().contains("This link was already used"));
    }
    assert_eq!(subscription(&stored_card(&app, id).await)["status"], "unsubscribed");
    assert_eq!(app.count("SELECT COUNT(*) FROM used_links").await, 1);
    // Once the link has expired, its use is forgotten: it is refused as expired.
    app.clock.advance(chrono::Duration::days(7));
    assert_eq!(app.store.forget_expired_links(app.clock.now()).await.unwrap(), 1);
    assert_eq!(new_client().post(&link).send().await.unwrap().status(), 410);
}

/// The mails the product writes itself go out in the lead's language (`$language`, as the widget
/// sends it) when it is Russian, else in English; the link's pages follow the browser's language.
#[tokio::test]
async fn a_russian_speaking_lead_gets_the_confirmation_in_russian_and_others_in_english() {
    let smtp = SmtpServer::start().await;
    let app = mail_app(&smtp).await;
    app.signed_in_admin().await;
    double_opt_in(&app, true).await;
    app.add_lead(&[("$name", text("Ольга")), ("$language", text("ru-RU")), ("$email", text("olga@example.com"))], &[])
        .await;
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].decoded_header("Subject").as_deref(), Some("Подтвердите подписку"));
    let body = mails[0].body();
    assert!(body.contains("Подтвердите, пожалуйста") && body.contains("Ссылка действует 7 дней"), "{body}");
    let link = mails[0].link(&format!("{}/c/", app.base)).expect("a confirmation link in the body");

    let page = |language: &'static str| {
        let link = link.clone();
        async move {
            let response = new_client().get(&link).header("accept-language", language).send().await.unwrap();
            assert_eq!(response.status(), 200);
            response.text().await.unwrap()
        }
    };
    let html = page("ru-RU,ru;q=0.9,en;q=0.8").await;
    assert!(
        html.contains("<html lang=\"ru\">") && html.contains("Получать письма на адрес olga@example.com?"),
        "{html}"
    );
    assert!(html.contains(">Подтвердить</button>"), "{html}");
    let html = page("de-DE,en;q=0.5").await;
    assert!(html.contains("<html lang=\"en\">") && html.contains("Receive email at olga@example.com?"), "{html}");

    // A lead without a language, or with one the product does not speak: English.
    app.add_lead(&[("$language", text("de-DE")), ("$email", text("dora@example.com"))], &[]).await;
    app.add_lead(&[("$email", text("nolang@example.com"))], &[]).await;
    let mails = smtp.wait_for(3).await;
    for mail in &mails[1..] {
        assert_eq!(mail.header("Subject").as_deref(), Some("Please confirm your subscription"));
        assert!(mail.body().contains("Please confirm that you want to receive email"), "{}", mail.body());
    }
}
