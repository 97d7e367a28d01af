//! CSV import (`leadcard_server::import`, what `leadcard-server import` runs): an export imported
//! into an empty database gives the same leads, properties, tags and statuses; matching by user id
//! then email; a file never subscribes anyone; bad files and rows are named by line.

use std::path::{Path, PathBuf};

use leadcard_core::{BounceKind, SubscriptionStatus};
use leadcard_server::import::{FileError, ImportOptions, ImportReport, import_file};
use leadcard_server::store::OnMatch;
use serde_json::Value;

use crate::helpers::{TestApp, property, spawn_app, text};

fn file(dir: &tempfile::TempDir, name: &str, bytes: &[u8]) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

async fn import(app: &TestApp, path: &Path, on_match: OnMatch, dry_run: bool) -> Result<ImportReport, FileError> {
    import_mapped(app, path, &[], on_match, dry_run).await
}

async fn import_mapped(
    app: &TestApp,
    path: &Path,
    map: &[&str],
    on_match: OnMatch,
    dry_run: bool,
) -> Result<ImportReport, FileError> {
    let options =
        ImportOptions { map: map.iter().map(|m| (*m).to_owned()).collect(), mapping: None, on_match, dry_run };
    import_file(&app.store, &app.clock, path, &options, |_| true).await
}

/// Every lead of a database as (user id, name, email, phone, plan, tags, status), by user id.
async fn leads_of(app: &TestApp) -> Vec<Value> {
    let page: Value = app.leads(&[("limit", "200")]).await.json().await.unwrap();
    let mut leads = Vec::new();
    for item in page["items"].as_array().unwrap() {
        let card = app.card(item["id"].as_i64().unwrap()).await;
        let value = |name: &str| property(&card, name)["value"].clone();
        leads.push(serde_json::json!([
            value("$user_id"),
            value("$name"),
            value("$email"),
            value("$phone"),
            value("plan"),
            card["tags"],
            card["subscription"]["status"],
            card["subscription"]["bounce"],
        ]));
    }
    leads.sort_by_key(|l| l[0].to_string());
    leads
}

#[tokio::test]
async fn an_export_imported_into_an_empty_database_gives_the_same_leads() {
    let source = spawn_app().await;
    source.signed_in().await;
    for i in 0..12 {
        let name = if i == 3 { "=cmd|' /C calc'!A0".to_owned() } else { format!("Lead, \"{i}\"") };
        source
            .add_lead(
                &[
                    ("$user_id", text(&format!("u-{i}"))),
                    ("$name", text(&name)),
                    ("$email", text(&format!("lead{i}@example.com"))),
                    ("$phone", text(&format!("+49 30 {i}"))),
                    ("plan", text(if i % 2 == 0 { "pro" } else { "-free" })),
                ],
                &["imported", if i % 3 == 0 { "vip" } else { "@team" }],
            )
            .await;
    }
    let now = source.clock.now();
    source
        .store
        .set_email_status("lead1@example.com", SubscriptionStatus::Unsubscribed, None, None, now)
        .await
        .unwrap();
    source
        .store
        .set_email_status("lead2@example.com", SubscriptionStatus::Bounced, Some(BounceKind::Hard), None, now)
        .await
        .unwrap();
    let columns = "id,$user_id,$name,$email,$phone,plan,tags,subscription_status,created_at";
    let response = source
        .client
        .get(source.url("/api/v1/leads/export"))
        .query(&[("columns", columns), ("bom", "true")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let dir = tempfile::tempdir().unwrap();
    let path = file(&dir, "export.csv", &response.bytes().await.unwrap());

    let target = spawn_app().await;
    target.signed_in().await;
    let report = import(&target, &path, OnMatch::Update, false).await.unwrap();
    assert_eq!((report.rows, report.created, report.updated, report.failed), (12, 12, 0, 0), "{report:?}");
    assert_eq!(leads_of(&target).await, leads_of(&source).await);

    // The same file again: every row matches by user id; skipped, or updated, never a second card.
    let again = import(&target, &path, OnMatch::Skip, false).await.unwrap();
    assert_eq!((again.created, again.skipped), (0, 12));
    assert!(again.problems[0].1.contains("skipped, it matches lead"), "{:?}", again.problems);
    let again = import(&target, &path, OnMatch::Update, false).await.unwrap();
    assert_eq!((again.created, again.updated), (0, 12));
    assert_eq!(target.count("SELECT COUNT(*) FROM leads").await, 12);
}

#[tokio::test]
async fn a_file_never_subscribes_an_address_and_matches_by_user_id_then_email() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = app.clock.now();
    let ada = app.add_lead(&[("$user_id", text("u-ada")), ("$email", text("ada@example.com"))], &[]).await;
    let bob = app.add_lead(&[("$email", text("bob@example.com"))], &[]).await;
    app.store.set_email_status("ada@example.com", SubscriptionStatus::Unsubscribed, None, None, now).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let csv = "User ID,Email,Name,Seats,Status\r\n\
               u-ada,ADA@example.com,Ada,3,subscribed\r\n\
               ,BOB@example.com,Bob,x,\r\n\
               ,bob@example.com,Bob,4,unsubscribed\r\n\
               ,new@example.com,New,5,bounced\r\n\
               ,new@example.com,New again,6,\r\n";
    let path = file(&dir, "people.csv", csv.as_bytes());
    let report = import_mapped(&app, &path, &["Seats=Seats:number"], OnMatch::Update, false).await.unwrap();
    assert_eq!((report.rows, report.created, report.updated, report.failed), (5, 1, 3, 1), "{report:?}");
    assert_eq!(report.problems[0].0, 3);
    assert!(report.problems[0].1.starts_with("column \"Seats\""), "{:?}", report.problems);

    let ada_card = app.card(ada).await;
    assert_eq!(property(&ada_card, "$name")["value"], "Ada", "matched by user id");
    assert_eq!(ada_card["subscription"]["status"], "unsubscribed", "an unsubscribed address stays so");
    let bob_card = app.card(bob).await;
    assert_eq!(property(&bob_card, "Seats")["value"], 4.0);
    assert_eq!(bob_card["subscription"]["status"], "unsubscribed");
    let new: i64 = app.count("SELECT id FROM leads WHERE email_norm = 'new@example.com'").await;
    let new_card = app.card(new).await;
    assert_eq!(property(&new_card, "$name")["value"], "New again", "the second row updated the first's card");
    assert_eq!(
        (new_card["subscription"]["status"].as_str(), new_card["subscription"]["bounce"].as_str()),
        (Some("bounced"), Some("hard"))
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM leads").await, 3);
}

#[tokio::test]
async fn bad_files_and_rows_are_named_by_line_and_a_dry_run_writes_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let empty = import(&app, &file(&dir, "empty.csv", b""), OnMatch::Update, false).await.unwrap_err();
    assert!(matches!(empty, FileError::Empty), "{empty}");
    let semicolons =
        import(&app, &file(&dir, "semi.csv", b"Name;Email\nAda;a@example.com\n"), OnMatch::Update, false).await;
    assert!(matches!(semicolons, Err(FileError::Delimiter(';'))));
    let bad_map =
        ImportOptions { map: vec!["Nope=$email".into()], mapping: None, on_match: OnMatch::Update, dry_run: false };
    let mapped =
        import_file(&app.store, &app.clock, &file(&dir, "m.csv", b"Email\na@example.com\n"), &bad_map, |_| true).await;
    assert!(mapped.unwrap_err().to_string().contains("no column \"Nope\""));

    let mut bytes = b"Name,Email\r\nAda,ada@example.com\r\n".to_vec();
    bytes.extend_from_slice(b"Bj\xF6rn,bjorn@example.com\r\n");
    bytes.extend_from_slice(b"Cy,cy@example.com,extra\r\n");
    bytes.extend_from_slice(b",\r\n");
    bytes.extend_from_slice(b"Dee,dee@example.com\r\n");
    let path = file(&dir, "mixed.csv", &bytes);
    let dry = import(&app, &path, OnMatch::Update, true).await.unwrap();
    assert_eq!((dry.rows, dry.created, dry.failed), (5, 0, 3), "{dry:?}");
    assert_eq!(app.count("SELECT COUNT(*) FROM leads").await, 0, "a dry run writes nothing");
    let lines: Vec<u64> = dry.problems.iter().map(|(line, _)| *line).collect();
    assert_eq!(lines, [3, 4, 5]);
    assert!(dry.problems[0].1.contains("not UTF-8"), "{:?}", dry.problems);
    assert!(dry.problems[1].1.contains("3 columns where the header has 2"), "{:?}", dry.problems);
    assert!(dry.problems[2].1.contains("no name, email"), "{:?}", dry.problems);

    let done = import(&app, &path, OnMatch::Update, false).await.unwrap();
    assert_eq!((done.created, done.failed), (2, 3));
    let unbalanced = file(&dir, "quote.csv", b"Name,Email\r\n\"Ada,ada@example.com\r\nBob,bob@example.com\r\n");
    let report = import(&app, &unbalanced, OnMatch::Update, false).await.unwrap();
    assert_eq!(report.created, 0);
    assert_eq!(report.problems[0].0, 2, "{report:?}");
}
