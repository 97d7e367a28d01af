//! Bounces by their cause (SPEC section 6): a real SMTP server on loopback answers RCPT TO with
//! each reply the article's causes come as, and a server that cannot be reached at all; each
//! lands as the hard or soft bounce its cause says, on the card with the cause named. The mail
//! provider's webhook classifies the same way.

use serde_json::{Value, json};

use crate::helpers::{new_client, spawn_app_with, text};
use crate::mail::{mail_app, stored_card, subscription, triggered, wait_for_count};
use crate::smtp::SmtpServer;

/// Each reply, the kind and the cause it must land as.
const REPLIES: [(&str, &str, &str); 8] = [
    ("550 5.1.1 mailbox does not exist", "hard", "unknown_address"),
    ("550 5.1.2 domain does not exist", "hard", "unknown_domain"),
    ("554 5.7.1 message refused by policy", "hard", "blocked"),
    ("552 5.2.2 mailbox full", "soft", "mailbox_full"),
    ("552 5.3.4 message too big for system", "soft", "too_big"),
    ("452 4.2.2 over quota", "soft", "mailbox_full"),
    ("421 service not available, closing channel", "soft", "unavailable"),
    ("554 transaction failed", "hard", "refused"),
];

#[tokio::test]
async fn each_smtp_answer_lands_as_the_bounce_its_cause_says() {
    for (reply, kind, cause) in REPLIES {
        let smtp = SmtpServer::start().await;
        smtp.refuse_recipients(reply);
        let app = mail_app(&smtp).await;
        app.signed_in().await;
        let id = app.add_lead(&[("$email", text("someone@example.com"))], &[]).await;
        app.store.enqueue_mail(triggered(id, "someone@example.com"), app.clock.now()).await.unwrap();
        let outcome = if kind == "hard" {
            "SELECT COUNT(*) FROM outbox WHERE status = 'failed'"
        } else {
            "SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND attempts = 1"
        };
        wait_for_count(&app, outcome, 1).await;
        let card = app.card(id).await;
        let got = subscription(&card);
        assert_eq!(
            (&got["status"], &got["bounce"], &got["bounce_cause"]),
            (&json!("bounced"), &json!(kind), &json!(cause)),
            "{reply}"
        );
        assert_eq!(got["reason"].as_str().map(|r| r.starts_with(&reply[..3])), Some(true), "{reply}: {got}");
        if kind == "soft" {
            assert!(got["cool_down_until"].is_string(), "{reply}: a soft bounce cools down");
        } else {
            assert_eq!(got["actions"]["unsubscribe"]["allowed"], false, "{reply}: never mailed again");
        }
    }
}

#[tokio::test]
async fn a_server_that_cannot_be_reached_after_every_retry_is_a_soft_bounce() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let app = spawn_app_with(move |config| config.mail.smtp_url = Some(format!("smtp://127.0.0.1:{port}"))).await;
    app.signed_in().await;
    let id = app.add_lead(&[("$email", text("away@example.com"))], &[]).await;
    app.store.enqueue_mail(triggered(id, "away@example.com"), app.clock.now()).await.unwrap();
    let attempts = leadcard_core::mail::MAX_ATTEMPTS;
    for attempt in 1..attempts {
        wait_for_count(
            &app,
            &format!("SELECT COUNT(*) FROM outbox WHERE status = 'queued' AND attempts = {attempt}"),
            1,
        )
        .await;
        let card = stored_card(&app, id).await;
        assert_eq!(subscription(&card)["status"], "subscribed", "a retry is not a bounce yet (attempt {attempt})");
        app.clock.advance(chrono::Duration::hours(7));
    }
    wait_for_count(&app, &format!("SELECT COUNT(*) FROM outbox WHERE status = 'failed' AND attempts = {attempts}"), 1)
        .await;
    let card = stored_card(&app, id).await;
    let got = subscription(&card);
    assert_eq!((&got["status"], &got["bounce"]), (&json!("bounced"), &json!("soft")));
    assert_eq!(got["bounce_cause"], "unavailable");
    assert!(got["reason"].as_str().unwrap().starts_with("4.4.1 cannot connect to 127.0.0.1"), "{got}");
}

#[tokio::test]
async fn the_bounce_webhook_classifies_by_cause_as_smtp_answers_do() {
    let app = spawn_app_with(|config| config.mail.webhook_secret = Some("hook-secret-123".to_owned())).await;
    app.signed_in().await;
    let client = new_client();
    let cases = [
        ("full@example.com", "5.2.2", Some(552), "soft", "mailbox_full"),
        ("big@example.com", "5.3.4", Some(552), "soft", "too_big"),
        ("blocked@example.com", "5.7.1", Some(554), "hard", "blocked"),
        ("gone@example.com", "5.1.1", None, "hard", "unknown_address"),
        ("down@example.com", "4.4.1", None, "soft", "unavailable"),
    ];
    for (address, status_code, smtp_code, kind, cause) in cases {
        let id = app.add_lead(&[("$email", text(address))], &[]).await;
        let body = json!({ "address": address, "status_code": status_code, "smtp_code": smtp_code, "reason": "as the provider said" });
        let applied: Value = client
            .post(app.url("/api/v1/webhooks/email"))
            .header("X-Leadcard-Webhook-Secret", "hook-secret-123")
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(applied["bounce"], kind, "{status_code}");
        let card = app.card(id).await;
        assert_eq!(subscription(&card)["bounce_cause"], cause, "{status_code}");
    }
}
