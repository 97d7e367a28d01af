//! Operator accounts: admins add (with a password or a one-time link), change roles, disable and
//! reset; every operator changes their own password and ends their own sessions. Operators who
//! are not admins get 403; bad input gets 422 naming the field.

use std::time::Duration;

use leadcard_core::wire::Role;
use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::{PASSWORD, TestApp, error_of, new_client, spawn_app};

async fn send(app: &TestApp, client: &Client, method: &str, path: &str, body: Option<Value>) -> reqwest::Response {
    let request = client.request(method.parse().unwrap(), app.url(path)).header("x-requested-with", "leadcard");
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    request.send().await.unwrap()
}

/// The token of a set-password link.
fn token_of(link: &Value) -> String {
    let link = link["link"].as_str().unwrap();
    assert!(link.contains("/set-password?token="), "{link}");
    link.rsplit_once("token=").unwrap().1.to_owned()
}

async fn use_link(app: &TestApp, token: &str, password: &str) -> reqwest::Response {
    new_client()
        .post(app.url("/api/v1/password-links/use"))
        .json(&json!({ "token": token, "password": password }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_admin_adds_an_operator_with_a_link_who_sets_a_password_once_and_signs_in() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let body = json!({ "email": " Bo@Leadcard.test ", "name": " Bo ", "role": "operator" });
    let response = send(&app, &app.client, "POST", "/api/v1/operator-accounts", Some(body)).await;
    assert_eq!(response.status(), 201);
    let added: Value = response.json().await.unwrap();
    assert_eq!(added["operator"]["email"], "bo@leadcard.test");
    assert_eq!(added["operator"]["name"], "Bo");
    assert_eq!(added["operator"]["has_password"], false);
    let token = token_of(&added["password_link"]);

    // Nothing signs in before the link is used.
    assert_eq!(app.sign_in_with(&new_client(), "bo@leadcard.test", "").await.status(), 422);
    assert_eq!(app.sign_in_with(&new_client(), "bo@leadcard.test", "anything at all").await.status(), 401);

    let (status, error) = error_of(use_link(&app, &token, "short").await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("password")));
    let (status, error) = error_of(use_link(&app, &token, "qwerty123456").await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("password")), "a common password");
    assert!(error["message"].as_str().unwrap().contains("common"));
    assert_eq!(use_link(&app, &token, "bo's own long passphrase").await.status(), 204);
    let (status, error) = error_of(use_link(&app, &token, "another long passphrase").await).await;
    assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (422, Some("link_gone"), Some("token")));
    let (status, error) = error_of(use_link(&app, "not-a-token", "another long passphrase").await).await;
    assert_eq!((status, error["code"].as_str()), (422, Some("link_gone")));

    let bo = new_client();
    assert_eq!(app.sign_in_with(&bo, "bo@leadcard.test", "bo's own long passphrase").await.status(), 200);
    let list: Value = app.get_json("/api/v1/operator-accounts").await;
    let bo_row = list.as_array().unwrap().iter().find(|o| o["email"] == "bo@leadcard.test").unwrap().clone();
    assert_eq!((bo_row["has_password"].as_bool(), bo_row["sessions"].as_i64()), (Some(true), Some(1)));
}

#[tokio::test]
async fn an_admin_adds_an_operator_with_a_password_and_bad_input_names_the_field() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let add = |body: Value| send(&app, &app.client, "POST", "/api/v1/operator-accounts", Some(body));
    let response =
        add(json!({ "email": "cy@leadcard.test", "name": "Cy", "role": "admin", "password": PASSWORD })).await;
    assert_eq!(response.status(), 201);
    let added: Value = response.json().await.unwrap();
    assert!(added.get("password_link").is_none());
    assert_eq!(added["operator"]["role"], "admin");
    assert_eq!(app.sign_in_with(&new_client(), "cy@leadcard.test", PASSWORD).await.status(), 200);

    for (body, field) in [
        (json!({ "email": "not an email", "name": "X", "role": "operator" }), "email"),
        (json!({ "email": "x@leadcard.test", "name": "  ", "role": "operator" }), "name"),
        (json!({ "email": "x@leadcard.test", "name": "A\u{0}B", "role": "operator" }), "name"),
        (json!({ "email": "x@leadcard.test", "name": "X", "role": "boss" }), "role"),
        (json!({ "email": "x@leadcard.test", "name": "X", "role": "operator", "password": "too short" }), "password"),
        (
            json!({ "email": "xavier@leadcard.test", "name": "X", "role": "operator", "password": "xavier@leadcard.test" }),
            "password",
        ),
        (json!({ "name": "X", "role": "operator" }), "email"),
    ] {
        let (status, error) = error_of(add(body.clone()).await).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{body}: {error}");
    }
    let (status, error) =
        error_of(add(json!({ "email": "CY@leadcard.test", "name": "Cy again", "role": "operator" })).await).await;
    assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (409, Some("duplicate"), Some("email")));
    let list: Value = app.get_json("/api/v1/operator-accounts").await;
    assert_eq!(list.as_array().unwrap().len(), 2, "nothing refused was stored");
}

#[tokio::test]
async fn only_admins_manage_operators() {
    let app = spawn_app().await;
    let admin = app.add_operator_with_role("ada@leadcard.test", Role::Admin).await;
    let (_, operator) = app.operator_client("olga@leadcard.test").await;
    for (method, path, body) in [
        ("GET", "/api/v1/operator-accounts".to_owned(), None),
        (
            "POST",
            "/api/v1/operator-accounts".to_owned(),
            Some(json!({ "email": "z@leadcard.test", "name": "Z", "role": "admin" })),
        ),
        ("PATCH", format!("/api/v1/operator-accounts/{}", admin.id), Some(json!({ "disabled": true }))),
        ("POST", format!("/api/v1/operator-accounts/{}/password-link", admin.id), None),
    ] {
        let (status, error) = error_of(send(&app, &operator, method, &path, body).await).await;
        assert_eq!((status, error["code"].as_str()), (403, Some("forbidden")), "{method} {path}");
    }
    let anonymous = new_client();
    assert_eq!(anonymous.get(app.url("/api/v1/operator-accounts")).send().await.unwrap().status(), 401);
    assert_eq!(anonymous.get(app.url("/api/v1/account/sessions")).send().await.unwrap().status(), 401);
    // Without the header or a JSON body: the CSRF rule.
    let signed_admin = new_client();
    assert_eq!(app.sign_in_with(&signed_admin, "ada@leadcard.test", PASSWORD).await.status(), 200);
    let response =
        signed_admin.post(app.url(&format!("/api/v1/operator-accounts/{}/password-link", admin.id))).send().await;
    assert_eq!(response.unwrap().status(), 403);
}

#[tokio::test]
async fn disabling_ends_sessions_at_once_and_streams_within_seconds_and_the_last_admin_stays() {
    let app = spawn_app().await;
    let ada = app.signed_in_admin().await;
    let (olga, console) = app.operator_client("olga@leadcard.test").await;
    let stream = console.get(app.url("/api/v1/stream")).send().await.unwrap();
    assert_eq!(stream.status(), 200);

    let response = send(
        &app,
        &app.client,
        "PATCH",
        &format!("/api/v1/operator-accounts/{}", olga.id),
        Some(json!({ "disabled": true })),
    )
    .await;
    assert_eq!(response.status(), 200);
    let account: Value = response.json().await.unwrap();
    assert_eq!((account["disabled"].as_bool(), account["sessions"].as_i64()), (Some(true), Some(0)));
    assert_eq!(console.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);
    let mut stream = stream;
    let ended =
        tokio::time::timeout(Duration::from_secs(3), async { while let Ok(Some(_)) = stream.chunk().await {} }).await;
    assert!(ended.is_ok(), "the disabled operator's stream is still open");
    assert_eq!(app.sign_in_with(&new_client(), "olga@leadcard.test", PASSWORD).await.status(), 401);
    let (status, _) = error_of(
        send(&app, &app.client, "POST", &format!("/api/v1/operator-accounts/{}/password-link", olga.id), None).await,
    )
    .await;
    assert_eq!(status, 409, "no link for a disabled operator");
    let assignees: Value = app.client.get(app.url("/api/v1/operators")).send().await.unwrap().json().await.unwrap();
    assert!(
        assignees.as_array().unwrap().iter().all(|o| o["id"] != olga.id),
        "a disabled operator is not offered as an assignee: {assignees}"
    );

    // Enabled again: the old password works again.
    let response = send(
        &app,
        &app.client,
        "PATCH",
        &format!("/api/v1/operator-accounts/{}", olga.id),
        Some(json!({ "disabled": false })),
    )
    .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.sign_in_with(&new_client(), "olga@leadcard.test", PASSWORD).await.status(), 200);

    // Ada is the only admin: she cannot demote or disable herself...
    for (body, field) in [(json!({ "role": "operator" }), "role"), (json!({ "disabled": true }), "disabled")] {
        let path = format!("/api/v1/operator-accounts/{}", ada.id);
        let (status, error) = error_of(send(&app, &app.client, "PATCH", &path, Some(body)).await).await;
        assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (409, Some("last_admin"), Some(field)));
    }
    // ...until Olga is one too.
    let path = format!("/api/v1/operator-accounts/{}", olga.id);
    let promoted: Value =
        send(&app, &app.client, "PATCH", &path, Some(json!({ "role": "admin" }))).await.json().await.unwrap();
    assert_eq!(promoted["role"], "admin");
    let path = format!("/api/v1/operator-accounts/{}", ada.id);
    let demoted: Value =
        send(&app, &app.client, "PATCH", &path, Some(json!({ "role": "operator" }))).await.json().await.unwrap();
    assert_eq!(demoted["role"], "operator");
    assert_eq!(app.get("/api/v1/operator-accounts").await.status(), 403, "Ada's session now has the operator role");

    let (status, _) =
        error_of(send(&app, &new_client(), "PATCH", "/api/v1/operator-accounts/999999", Some(json!({}))).await).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_reset_link_replaces_the_last_one_and_ends_every_session_when_used() {
    let app = spawn_app().await;
    app.signed_in_admin().await;
    let (olga, console) = app.operator_client("olga@leadcard.test").await;
    let path = format!("/api/v1/operator-accounts/{}/password-link", olga.id);
    let first: Value = send(&app, &app.client, "POST", &path, None).await.json().await.unwrap();
    let second: Value = send(&app, &app.client, "POST", &path, None).await.json().await.unwrap();
    let (status, error) = error_of(use_link(&app, &token_of(&first), "a brand new passphrase").await).await;
    assert_eq!((status, error["code"].as_str()), (422, Some("link_gone")), "the first link was replaced");
    // The old password works until the link is used.
    assert_eq!(console.get(app.url("/api/v1/me")).send().await.unwrap().status(), 200);
    assert_eq!(use_link(&app, &token_of(&second), "a brand new passphrase").await.status(), 204);
    assert_eq!(console.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);
    assert_eq!(app.sign_in_with(&new_client(), "olga@leadcard.test", PASSWORD).await.status(), 401);
    assert_eq!(app.sign_in_with(&new_client(), "olga@leadcard.test", "a brand new passphrase").await.status(), 200);

    // Links expire after a day.
    let third: Value = send(&app, &app.client, "POST", &path, None).await.json().await.unwrap();
    app.clock.advance(chrono::Duration::hours(25));
    let (status, error) = error_of(use_link(&app, &token_of(&third), "yet another passphrase").await).await;
    assert_eq!((status, error["code"].as_str()), (422, Some("link_gone")));
    let (status, _) =
        error_of(send(&app, &new_client(), "POST", "/api/v1/operator-accounts/1/password-link", None).await).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn an_operator_changes_their_password_and_ends_their_own_sessions() {
    let app = spawn_app().await;
    app.signed_in().await;
    let laptop = new_client();
    let response = laptop
        .post(app.url("/api/v1/session"))
        .header("user-agent", "Laptop Browser/1.0")
        .json(&json!({ "email": "anna@leadcard.test", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let sessions: Value = app.get_json("/api/v1/account/sessions").await;
    let sessions = sessions.as_array().unwrap();
    assert_eq!(sessions.len(), 2);
    assert_eq!(sessions.iter().filter(|s| s["current"] == true).count(), 1);
    let laptop_session = sessions.iter().find(|s| s["user_agent"] == "Laptop Browser/1.0").unwrap();
    assert_eq!(laptop_session["current"], false);
    let id = laptop_session["id"].as_str().unwrap();
    assert_eq!(id.len(), 16);

    // Someone else's or an unknown session: 404.
    let (_, other) = app.operator_client("olga@leadcard.test").await;
    let (status, _) =
        error_of(send(&app, &other, "DELETE", &format!("/api/v1/account/sessions/{id}"), None).await).await;
    assert_eq!(status, 404);
    assert_eq!(laptop.get(app.url("/api/v1/me")).send().await.unwrap().status(), 200);
    assert_eq!(send(&app, &app.client, "DELETE", &format!("/api/v1/account/sessions/{id}"), None).await.status(), 204);
    assert_eq!(laptop.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);

    // A new password needs the current one and passes the rules; other sessions end.
    assert_eq!(app.sign_in_with(&laptop, "anna@leadcard.test", PASSWORD).await.status(), 200);
    let change = |current: &str, new: &str| {
        send(
            &app,
            &app.client,
            "PUT",
            "/api/v1/account/password",
            Some(json!({ "current_password": current, "new_password": new })),
        )
    };
    let (status, error) = error_of(change("wrong password", "a fresh passphrase here").await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("current_password")));
    let (status, error) = error_of(change(PASSWORD, "1q2w3e4r5t6y").await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("new_password")));
    let (status, error) = error_of(change(PASSWORD, PASSWORD).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("new_password")));
    assert_eq!(change(PASSWORD, "a fresh passphrase here").await.status(), 204);
    assert_eq!(app.get("/api/v1/me").await.status(), 200, "this session stays");
    assert_eq!(laptop.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401, "the other ends");
    assert_eq!(app.sign_in_with(&new_client(), "anna@leadcard.test", "a fresh passphrase here").await.status(), 200);

    // Ending the current session signs out and clears the cookie.
    let sessions: Value = app.get_json("/api/v1/account/sessions").await;
    let current = sessions.as_array().unwrap().iter().find(|s| s["current"] == true).unwrap()["id"].clone();
    let response =
        send(&app, &app.client, "DELETE", &format!("/api/v1/account/sessions/{}", current.as_str().unwrap()), None)
            .await;
    assert_eq!(response.status(), 204);
    assert!(response.headers()["set-cookie"].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(app.get("/api/v1/me").await.status(), 401);
}

/// `leadcard-server operator ...` on the test's database: exit status and standard output.
fn cli(app: &TestApp, args: &[&str], stdin: &str) -> (bool, String) {
    use std::io::Write;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_leadcard-server"))
        .arg("operator")
        .args(args)
        .args(["--database-url", &app.database_url])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[tokio::test]
async fn the_command_line_manages_operators_as_the_api_does() {
    let app = spawn_app().await;
    let (ok, out) =
        cli(&app, &["add", "--email", "root@leadcard.test", "--name", "Root", "--role", "admin"], "qwerty123456\n");
    assert!(!ok && out.contains("--password") && out.contains("common"), "{out}");
    let (ok, out) = cli(
        &app,
        &["add", "--email", "root@leadcard.test", "--name", "Root", "--role", "admin"],
        &format!("{PASSWORD}\n"),
    );
    assert!(ok, "{out}");
    let (ok, out) = cli(&app, &["add", "--email", "new@leadcard.test", "--name", "New", "--link"], "");
    assert!(ok, "{out}");
    let link = out.lines().find_map(|l| l.split_once("token=")).map(|(_, token)| token.trim().to_owned()).unwrap();
    assert_eq!(use_link(&app, &link, "the new operator's phrase").await.status(), 204);
    let new = new_client();
    assert_eq!(app.sign_in_with(&new, "new@leadcard.test", "the new operator's phrase").await.status(), 200);

    let (ok, out) = cli(&app, &["role", "--email", "root@leadcard.test", "--role", "operator"], "");
    assert!(!ok && out.contains("only admin"), "the last admin stays: {out}");
    let (ok, out) = cli(&app, &["disable", "--email", "new@leadcard.test"], "");
    assert!(ok && out.contains("1 sessions ended"), "{out}");
    assert_eq!(new.get(app.url("/api/v1/me")).send().await.unwrap().status(), 401);
    let (ok, out) = cli(&app, &["list"], "");
    assert!(ok && out.contains("new@leadcard.test\tNew\tOperator\tdisabled"), "{out}");
    let (ok, out) = cli(&app, &["enable", "--email", "new@leadcard.test"], "");
    assert!(ok, "{out}");
    let (ok, out) = cli(&app, &["reset-password", "--email", "new@leadcard.test"], "");
    assert!(ok && out.contains("http://127.0.0.1:8080/set-password?token="), "{out}");
    let (ok, out) = cli(&app, &["disable", "--email", "nobody@leadcard.test"], "");
    assert!(!ok && out.contains("no operator"), "{out}");
}

/// The console's language is the operator's, remembered on the server: every session of theirs
/// (a second browser) reads it from `GET /me`; an unknown language is refused naming the field,
/// null follows the browser again, and another operator's stays theirs.
#[tokio::test]
async fn an_operator_picks_the_consoles_language_and_every_session_of_theirs_reads_it() {
    let app = spawn_app().await;
    app.signed_in().await;
    let me: Value = app.get_json("/api/v1/me").await;
    assert_eq!(me["language"], Value::Null, "the browser's until picked");
    let second = new_client();
    assert_eq!(app.sign_in_with(&second, "anna@leadcard.test", PASSWORD).await.status(), 200);
    let (_, other) = app.operator_client("olga@leadcard.test").await;

    let response = send(&app, &app.client, "PATCH", "/api/v1/account", Some(json!({ "language": "ru" }))).await;
    assert_eq!(response.status(), 200);
    let changed: Value = response.json().await.unwrap();
    assert_eq!((changed["language"].as_str(), changed["email"].as_str()), (Some("ru"), Some("anna@leadcard.test")));
    let seen: Value = second.get(app.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(seen["language"], "ru", "the other session reads the choice");
    let others: Value = other.get(app.url("/api/v1/me")).send().await.unwrap().json().await.unwrap();
    assert_eq!(others["language"], Value::Null, "another operator's stays theirs");
    let signed_in: Value = app.sign_in_with(&new_client(), "anna@leadcard.test", PASSWORD).await.json().await.unwrap();
    assert_eq!(signed_in["language"], "ru", "a new sign-in answers it too");

    for bad in [json!("de"), json!("RU"), json!("ru-RU"), json!(""), json!("ru\u{0}"), json!(7), json!(["ru"])] {
        let (status, error) =
            error_of(send(&app, &app.client, "PATCH", "/api/v1/account", Some(json!({ "language": bad }))).await).await;
        assert_eq!((status, error["field"].as_str()), (422, Some("language")), "{bad}");
    }
    let me: Value = app.get_json("/api/v1/me").await;
    assert_eq!(me["language"], "ru", "a refused change changes nothing");

    let response = send(&app, &app.client, "PATCH", "/api/v1/account", Some(json!({ "language": null }))).await;
    assert_eq!(response.status(), 200);
    let me: Value = app.get_json("/api/v1/me").await;
    assert_eq!(me["language"], Value::Null, "null follows the browser again");

    let anonymous = new_client()
        .patch(app.url("/api/v1/account"))
        .header("x-requested-with", "leadcard")
        .json(&json!({ "language": "ru" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}
