//! Property names and tags in use.

use leadcard_core::PropertyValue;
use serde_json::Value;

use crate::helpers::{spawn_app, text};

#[tokio::test]
async fn properties_list_system_ones_then_custom_names_in_use() {
    let app = spawn_app().await;
    app.signed_in().await;
    app.add_lead(
        &[("plan", text("pro")), ("Last purchase amount", PropertyValue::Number(5.0)), ("$name", text("A"))],
        &[],
    )
    .await;
    app.add_lead(&[("plan", text("free")), ("Accepts marketing", PropertyValue::Bool(true))], &[]).await;
    let list = app.get_json("/api/v1/properties").await;
    let list = list.as_array().unwrap();
    assert_eq!(list[0]["name"], "$name");
    assert_eq!(list[0]["label"], "Name");
    let custom: Vec<(&str, &str)> = list
        .iter()
        .filter(|p| !p["name"].as_str().unwrap().starts_with('$'))
        .map(|p| (p["name"].as_str().unwrap(), p["type"].as_str().unwrap()))
        .collect();
    assert_eq!(custom, [("Accepts marketing", "bool"), ("Last purchase amount", "number"), ("plan", "text")]);
}

#[tokio::test]
async fn tags_come_most_used_first_with_counts() {
    let app = spawn_app().await;
    app.signed_in().await;
    app.add_lead(&[], &["vip", "newsletter"]).await;
    app.add_lead(&[], &["newsletter"]).await;
    app.add_lead(&[], &["newsletter", "trial"]).await;
    let tags: Value = app.get_json("/api/v1/tags").await;
    assert_eq!(
        tags,
        serde_json::json!([{ "tag": "newsletter", "leads": 3 }, { "tag": "trial", "leads": 1 }, { "tag": "vip", "leads": 1 }])
    );
}
