//! The API's messages in the language the request asks for (`Accept-Language`; the console sends
//! the page's): the same refusal, field and code in English and in Russian, and the texts a job
//! writes in the language of the operator who started it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, spawn_app, text};

async fn post_in(app: &TestApp, language: &str, path: &str, body: &Value) -> reqwest::Response {
    app.client.post(app.url(path)).header("accept-language", language).json(body).send().await.unwrap()
}

#[tokio::test]
async fn a_refusal_names_the_same_field_in_each_language() {
    let app = spawn_app().await;
    let body = json!({"email": "", "password": "x"});
    let (status, english) = error_of(post_in(&app, "en-US,en;q=0.9", "/api/v1/session", &body).await).await;
    assert_eq!((status, &english["field"], &english["message"]), (422, &json!("email"), &json!("Enter your email.")));
    let (status, russian) = error_of(post_in(&app, "ru-RU,ru;q=0.9,en;q=0.8", "/api/v1/session", &body).await).await;
    assert_eq!((status, &russian["code"], &russian["field"]), (422, &english["code"], &english["field"]));
    assert_eq!(russian["message"], "Введите email.");
    // A language the product does not speak, or none: English.
    let (_, other) = error_of(post_in(&app, "de-DE", "/api/v1/session", &body).await).await;
    assert_eq!(other["message"], english["message"]);
}

#[tokio::test]
async fn messages_with_values_and_fixed_ones_are_translated() {
    let app = spawn_app().await;
    app.signed_in().await;
    let (status, error) = error_of(app.get_in("ru", "/api/v1/leads?limit=0").await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("limit")));
    let message = error["message"].as_str().unwrap();
    assert!(message.starts_with("Размер страницы — число от 1 до "), "{message}");
    assert!(!message.contains('{'), "{message}");
    let (status, error) = error_of(app.get_in("ru", "/api/v1/leads/999999").await).await;
    assert_eq!((status, error["message"].as_str()), (404, Some("Лида с таким id нет.")));
    let signed_out = reqwest::Client::new();
    let response = signed_out.get(app.url("/api/v1/me")).header("accept-language", "ru").send().await.unwrap();
    let (status, error) = error_of(response).await;
    assert_eq!((status, error["message"].as_str()), (401, Some("Войдите, чтобы продолжить.")));
}

#[tokio::test]
async fn a_job_writes_its_summary_in_the_language_of_who_started_it() {
    let app = spawn_app().await;
    app.signed_in().await;
    for i in 0..3 {
        app.add_lead(&[("$name", text(&format!("Лид {i}")))], &[]).await;
    }
    let body = json!({"selection": {"filter": {"all": []}}, "action": {"kind": "add_tag", "tag": "vip"}});
    let response = post_in(&app, "ru", "/api/v1/leads/bulk", &body).await;
    assert_eq!(response.status(), 202);
    let job: Value = response.json().await.unwrap();
    assert_eq!(job["summary"], "Добавить тег vip 3 лидам");
    let id = job["id"].as_i64().unwrap();
    for _ in 0..400 {
        if app.get_json(&format!("/api/v1/jobs/{id}")).await["state"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Read in English, it stays as written.
    assert_eq!(app.get_json(&format!("/api/v1/jobs/{id}")).await["summary"], "Добавить тег vip 3 лидам");
    let english = app.post_json("/api/v1/leads/bulk", &body).await.json::<Value>().await.unwrap();
    assert_eq!(english["summary"], "Add tag vip to 3 leads");
}

#[tokio::test]
async fn a_hostile_or_unreadable_accept_language_never_breaks_an_answer() {
    let app = spawn_app().await;
    let body = json!({"email": "", "password": "x"});
    let long = format!("ru;q=0.{}, {}", "9".repeat(10_000), "xx-".repeat(20_000));
    let headers: Vec<reqwest::header::HeaderValue> = vec![
        reqwest::header::HeaderValue::from_bytes(b"\xff\xfe ru").unwrap(),
        reqwest::header::HeaderValue::from_static("ru;q=abc, ;;;, q=1"),
        reqwest::header::HeaderValue::from_static("*"),
        reqwest::header::HeaderValue::from_str(&long).unwrap(),
    ];
    for header in headers {
        let response =
            app.client.post(app.url("/api/v1/session")).header("accept-language", header.clone()).json(&body).send();
        let (status, error) = error_of(response.await.unwrap()).await;
        assert_eq!(status, 422, "{header:?}");
        assert_eq!(error["field"], "email", "{header:?}");
        let message = error["message"].as_str().unwrap();
        assert!(message == "Enter your email." || message == "Введите email.", "{header:?}: {message}");
    }
}
