//! `GET /leads/export`: the CSV read back with a CSV parser — every lead of the filter once, the
//! columns asked for, formula-like cells neutralised — and bad parameters refused by name.

use chrono::Utc;
use leadcard_core::PropertyValue;
use leadcard_core::export::{is_formula_like, restore};
use serde_json::json;

use crate::helpers::{TestApp, error_of, lead, spawn_app, text};

async fn export(app: &TestApp, query: &[(&str, &str)]) -> reqwest::Response {
    app.client.get(app.url("/api/v1/leads/export")).query(query).send().await.unwrap()
}

/// The file's records (the header first), parsed as RFC 4180.
fn records(body: &[u8]) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_reader(body);
    reader.records().map(|r| r.unwrap().iter().map(str::to_owned).collect()).collect()
}

#[tokio::test]
async fn an_export_is_rfc_4180_with_every_formula_like_cell_neutralised() {
    let app = spawn_app().await;
    app.signed_in().await;
    let dangerous = ["=1+1", "+49 30 1234", "-2", "@SUM(A1:A9)", "\tTabbed", "\rReturned", "=HYPERLINK(\"x\",\"y\")"];
    for (i, name) in dangerous.iter().enumerate() {
        let properties = [
            ("$name", text(name)),
            ("$email", text(&format!("lead{i}@example.com"))),
            ("note", text(&format!("a \"quoted\", multi\r\nline {i}"))),
            ("plan", text("pro")),
        ];
        app.add_lead(&properties, &["=cmd", "vip"]).await;
    }
    app.add_lead(&[("$name", text("Other plan")), ("plan", text("free"))], &[]).await;

    let filter = json!({"all": [{"kind": "property", "name": "plan", "op": "equals", "value": "pro"}]}).to_string();
    let response =
        export(&app, &[("filter", &filter), ("columns", "id,$name,$email,note,tags,subscription_status")]).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(response.headers()["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"leads-"));
    let body = response.bytes().await.unwrap();
    assert!(!body.starts_with(b"\xEF\xBB\xBF"), "no BOM unless asked for");
    let rows = records(&body);
    assert_eq!(rows[0], ["id", "$name", "$email", "note", "tags", "subscription_status"]);
    assert_eq!(rows.len(), 1 + dangerous.len(), "the filter's leads only");
    let mut names: Vec<String> = Vec::new();
    for row in &rows {
        for cell in row {
            assert!(!is_formula_like(cell), "cell {cell:?} would run in a spreadsheet");
        }
    }
    for row in &rows[1..] {
        names.push(restore(&row[1]).to_owned());
        assert!(row[3].starts_with("a \"quoted\", multi\r\nline "), "{:?}", row[3]);
        assert_eq!(row[4], "'=cmd; vip");
        assert_eq!(row[5], "subscribed");
    }
    names.sort();
    let mut expected: Vec<String> = dangerous.iter().map(|s| (*s).to_owned()).collect();
    expected.sort();
    assert_eq!(names, expected, "each value reads back once the quote is taken off");

    let with_bom = export(&app, &[("bom", "true"), ("q", "other plan")]).await.bytes().await.unwrap();
    assert!(with_bom.starts_with(b"\xEF\xBB\xBF"));
    let rows = records(&with_bom[3..]);
    assert_eq!(rows[0], ["id", "$name", "$email", "$phone", "$user_id", "tags", "subscription_status", "created_at"]);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][1], "Other plan");
}

#[tokio::test]
async fn thousands_of_leads_stream_in_batches_each_once_and_selected_rows_alone() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = Utc::now();
    let batch: Vec<_> = (0..2_345)
        .map(|i| lead(now, &[("$name", text(&format!("Lead {i}"))), ("n", PropertyValue::Number(i as f64))], &[]))
        .collect();
    let ids = app.store.create_leads(&batch).await.unwrap();
    let body = export(&app, &[("columns", "id,n")]).await.bytes().await.unwrap();
    let rows = records(&body);
    assert_eq!(rows.len(), 1 + ids.len());
    let exported: Vec<i64> = rows[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    assert_eq!(exported, ids, "every lead once, in id order");
    assert_eq!(rows[10][1], "9");

    let chosen = format!("{},{},{}", ids[5], ids[2000], ids[7]);
    let rows = records(&export(&app, &[("ids", &chosen), ("columns", "id")]).await.bytes().await.unwrap());
    let mut selected: Vec<i64> = rows[1..].iter().map(|r| r[0].parse().unwrap()).collect();
    selected.sort();
    assert_eq!(selected, [ids[5], ids[7], ids[2000]]);
}

#[tokio::test]
async fn bad_parameters_are_refused_by_name() {
    let app = spawn_app().await;
    assert_eq!(export(&app, &[]).await.status(), 401);
    app.signed_in().await;
    let cases = [
        (("columns", "$name,$plan"), "invalid", "columns"),
        (("ids", "1,x"), "invalid", "ids"),
        (("bom", "maybe"), "invalid", "bom"),
        (("segment", "999"), "invalid", "segment"),
        (("filter", r#"{"all":[{"kind":"tag","tag":" "}]}"#), "invalid_filter", "filter.all[0].tag"),
    ];
    for ((name, value), code, field) in cases {
        let (status, error) = error_of(export(&app, &[(name, value)]).await).await;
        assert_eq!((status, error["code"].as_str(), error["field"].as_str()), (422, Some(code), Some(field)), "{name}");
    }
}

/// A compressed export ends cleanly: the compression layer polls the body once more after its
/// last chunk, which once panicked the stream and broke the download mid-file.
#[tokio::test]
async fn a_compressed_export_ends_cleanly() {
    let app = spawn_app().await;
    app.signed_in().await;
    let now = Utc::now();
    let batch: Vec<_> = (0..1_500).map(|n| lead(now, &[("$name", text(&format!("Lead {n}")))], &[])).collect();
    app.store.create_leads(&batch).await.unwrap();
    for encoding in ["gzip", "br"] {
        let response = app
            .client
            .get(app.url("/api/v1/leads/export"))
            .query(&[("bom", "true"), ("columns", "")])
            .header("accept-encoding", encoding)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-encoding"], encoding);
        let body = response.bytes().await.expect("the whole body arrives");
        assert!(body.len() > 1_000, "{encoding}: {} bytes", body.len());
    }
}
