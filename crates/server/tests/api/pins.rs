//! Each operator's pinned properties: order, limits, and that they outlive the session.

use serde_json::{Value, json};

use crate::helpers::{PASSWORD, error_of, spawn_app};

#[tokio::test]
async fn pins_keep_their_order_belong_to_their_operator_and_survive_signing_out() {
    let app = spawn_app().await;
    app.signed_in().await;
    assert_eq!(app.get_json("/api/v1/pins").await, json!({ "names": [] }));

    let put = |names: Value| app.client.put(app.url("/api/v1/pins")).json(&json!({ "names": names })).send();
    let response = put(json!(["plan", "$email", " Amount ", "plan", "$last_seen"])).await.unwrap();
    assert_eq!(response.status(), 200);
    let expected = json!({ "names": ["plan", "$email", "Amount", "$last_seen"] });
    assert_eq!(response.json::<Value>().await.unwrap(), expected, "trimmed, each once, in pin order");

    let twenty_one: Vec<String> = (0..21).map(|i| format!("p{i}")).collect();
    for (names, field) in
        [(json!(twenty_one), "names"), (json!(["plan", "$plan"]), "names[1]"), (json!([""]), "names[0]")]
    {
        let (status, error) = error_of(put(names.clone()).await.unwrap()).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{names}");
    }
    let twenty: Vec<String> = (0..20).map(|i| format!("p{i}")).collect();
    assert_eq!(put(json!(twenty)).await.unwrap().status(), 200);
    assert_eq!(put(expected["names"].clone()).await.unwrap().status(), 200);

    let (_, ben) = app.operator_client("ben@leadcard.test").await;
    let bens: Value = ben.get(app.url("/api/v1/pins")).send().await.unwrap().json().await.unwrap();
    assert_eq!(bens, json!({ "names": [] }), "pins belong to the operator who made them");

    let response =
        app.client.delete(app.url("/api/v1/session")).header("x-requested-with", "leadcard").send().await.unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(app.get("/api/v1/pins").await.status(), 401);
    assert_eq!(app.sign_in_with(&app.client, "anna@leadcard.test", PASSWORD).await.status(), 200);
    assert_eq!(app.get_json("/api/v1/pins").await, expected);
}
