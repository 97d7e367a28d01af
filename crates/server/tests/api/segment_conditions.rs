//! "Is in segment X" / "is not in segment X" as a filter condition: the same leads through the
//! list, its count, the segment count and the card's evaluator; a redefinition moving the
//! members of the segments that refer to it; unknown segments, self-references and cycles refused
//! naming the condition; a segment in use kept from deletion.

use leadcard_server::segments::rebuild_pending;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, spawn_app, text};

async fn create(app: &TestApp, name: &str, filter: Value) -> i64 {
    let response = app.post_json("/api/v1/segments", &json!({ "name": name, "filter": filter })).await;
    assert_eq!(response.status(), 201, "create {name}");
    let id = response.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    rebuild_pending(&app.state).await.unwrap();
    id
}

async fn put(app: &TestApp, id: i64, name: &str, filter: Value) -> reqwest::Response {
    app.client
        .put(app.url(&format!("/api/v1/segments/{id}")))
        .json(&json!({ "name": name, "filter": filter }))
        .send()
        .await
        .unwrap()
}

async fn delete(app: &TestApp, id: i64) -> reqwest::Response {
    let url = app.url(&format!("/api/v1/segments/{id}"));
    app.client.delete(url).header("x-requested-with", "leadcard").send().await.unwrap()
}

fn in_segment(id: i64, inside: bool) -> Value {
    json!({"all": [{"kind": "segment", "segment": id, "in": inside}]})
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

async fn counted(app: &TestApp, filter: &Value) -> (i64, i64) {
    let segment_count = app.post_json("/api/v1/segments/count", &json!({ "filter": filter })).await;
    assert_eq!(segment_count.status(), 200, "{filter}");
    let segment_count = segment_count.json::<Value>().await.unwrap()["count"].as_i64().unwrap();
    let list_count = app.lead_count(&[("filter", &filter.to_string())]).await["count"].as_i64().unwrap();
    (segment_count, list_count)
}

async fn segment_names(app: &TestApp, id: i64) -> Vec<String> {
    let segments = app.get_json(&format!("/api/v1/leads/{id}/segments")).await;
    segments.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn in_and_not_in_a_segment_agree_between_the_list_the_counts_and_the_card() {
    let app = spawn_app().await;
    app.signed_in().await;
    let keen = app.add_lead(&[("$country", text("Germany")), ("$email", text("keen@example.com"))], &["vip"]).await;
    let german = app.add_lead(&[("$country", text("Germany"))], &[]).await;
    let french = app.add_lead(&[("$country", text("France"))], &["vip"]).await;

    let germans = create(
        &app,
        "Germans",
        json!({"all": [{"kind": "property", "name": "$country", "op": "equals", "value": "germany"}]}),
    )
    .await;
    let keen_germans = create(
        &app,
        "Keen Germans",
        json!({"all": [{"kind": "segment", "segment": germans}, {"kind": "tag", "tag": "vip"}]}),
    )
    .await;

    assert_eq!(sorted(app.ids_matching(in_segment(germans, true)).await), [keen, german]);
    assert_eq!(app.ids_matching(in_segment(germans, false)).await, [french]);
    assert_eq!(app.ids_matching(in_segment(keen_germans, true)).await, [keen]);
    assert_eq!(sorted(app.ids_matching(in_segment(keen_germans, false)).await), [german, french]);
    assert_eq!(counted(&app, &in_segment(germans, true)).await, (2, 2));
    assert_eq!(counted(&app, &in_segment(keen_germans, false)).await, (2, 2));
    // Inside a group, beside other conditions.
    let either = json!({"all": [{"kind": "group", "match": "any", "conditions": [
        {"kind": "segment", "segment": keen_germans}, {"kind": "property", "name": "$country", "op": "equals", "value": "france"}]}]});
    assert_eq!(sorted(app.ids_matching(either).await), [keen, french]);

    // "Not in" holds where SQL knows nothing: no address (no status row), no heartbeat.
    let unsubscribed =
        create(&app, "Unsubscribed", json!({"all": [{"kind": "subscription", "status": "unsubscribed"}]})).await;
    let online = create(&app, "Online", json!({"all": [{"kind": "presence", "presence": "online"}]})).await;
    let everyone = [keen, german, french];
    assert_eq!(sorted(app.ids_matching(in_segment(unsubscribed, false)).await), everyone);
    assert_eq!(sorted(app.ids_matching(in_segment(online, false)).await), everyone);
    assert_eq!(counted(&app, &in_segment(online, false)).await, (3, 3));

    // The card's evaluator and the stored members say the same.
    let not_online = create(&app, "Not online", in_segment(online, false)).await;
    assert_eq!(segment_names(&app, keen).await, ["Germans", "Keen Germans", "Not online"]);
    assert_eq!(segment_names(&app, french).await, ["Not online"]);
    let members = app.leads(&[("segment", &keen_germans.to_string())]).await.json::<Value>().await.unwrap();
    assert_eq!(crate::helpers::ids(&members), [keen]);
    let members = app.leads(&[("segment", &not_online.to_string())]).await.json::<Value>().await.unwrap();
    assert_eq!(sorted(crate::helpers::ids(&members)), everyone);
}

#[tokio::test]
async fn redefining_a_segment_moves_the_members_of_the_segments_that_refer_to_it() {
    let app = spawn_app().await;
    app.signed_in().await;
    let german = app.add_lead(&[("$country", text("Germany"))], &[]).await;
    let spanish = app.add_lead(&[("$country", text("Spain"))], &[]).await;
    let country = |c: &str| json!({"all": [{"kind": "property", "name": "$country", "op": "equals", "value": c}]});
    let targets = create(&app, "Targets", country("germany")).await;
    let follow = create(&app, "Follow", in_segment(targets, true)).await;
    let follow_follow = create(&app, "Follow follow", json!({"all": [{"kind": "segment", "segment": follow}]})).await;
    assert_eq!(segment_names(&app, german).await, ["Follow", "Follow follow", "Targets"]);

    assert_eq!(put(&app, targets, "Targets", country("spain")).await.status(), 200);
    rebuild_pending(&app.state).await.unwrap();
    assert_eq!(segment_names(&app, spanish).await, ["Follow", "Follow follow", "Targets"]);
    assert!(segment_names(&app, german).await.is_empty());
    let history = app.get_json(&format!("/api/v1/leads/{spanish}/segment-history")).await;
    let entered: Vec<(&str, &str)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["segment_name"].as_str().unwrap(), e["reason"].as_str().unwrap()))
        .collect();
    for name in ["Targets", "Follow", "Follow follow"] {
        assert!(entered.contains(&(name, "segment definition changed")), "{name}: {entered:?}");
    }
    for id in [follow, follow_follow] {
        let members = app.leads(&[("segment", &id.to_string())]).await.json::<Value>().await.unwrap();
        assert_eq!(crate::helpers::ids(&members), [spanish]);
    }
}

#[tokio::test]
async fn unknown_segments_self_references_and_cycles_are_refused_and_a_used_segment_stays() {
    let app = spawn_app().await;
    app.signed_in().await;
    let vip = create(&app, "VIP", json!({"all": [{"kind": "tag", "tag": "vip"}]})).await;
    let keen =
        create(&app, "Keen", json!({"all": [{"kind": "tag", "tag": "x"}, {"kind": "segment", "segment": vip}]})).await;

    // VIP redefined as "in Keen": Keen refers back to VIP.
    let (status, error) = error_of(put(&app, vip, "VIP", in_segment(keen, true)).await).await;
    assert_eq!(
        (status, error["code"].as_str(), error["field"].as_str()),
        (422, Some("invalid_filter"), Some("filter.all[0].segment"))
    );
    let message = error["message"].as_str().unwrap();
    assert!(message.contains("\"Keen\" refers back to \"VIP\"") && message.contains("cycle"), "{message}");
    let (status, error) = error_of(put(&app, vip, "VIP", in_segment(vip, false)).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("filter.all[0].segment")));
    assert!(error["message"].as_str().unwrap().contains("cannot refer to itself"), "{error}");
    assert_eq!(
        app.get_json(&format!("/api/v1/segments/{vip}")).await["filter"],
        json!({"all": [{"kind": "tag", "tag": "vip", "has": true}]}),
        "a refused redefinition changes nothing"
    );

    // Unknown segments and bad shapes, wherever a filter goes.
    let unknown = in_segment(keen + 100, true);
    let (status, error) =
        error_of(app.post_json("/api/v1/segments", &json!({"name": "S", "filter": unknown})).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("filter.all[0].segment")));
    assert!(error["message"].as_str().unwrap().contains("no segment"), "{error}");
    let (status, error) = error_of(app.post_json("/api/v1/segments/count", &json!({"filter": unknown})).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("filter.all[0].segment")));
    let (status, error) = error_of(app.leads(&[("filter", &unknown.to_string())]).await).await;
    assert_eq!((status, error["field"].as_str()), (422, Some("filter.all[0].segment")));
    for (condition, field) in [
        (json!({"kind": "segment"}), "filter.all[0].segment"),
        (json!({"kind": "segment", "segment": "VIP"}), "filter.all[0].segment"),
        (json!({"kind": "segment", "segment": vip, "in": "no"}), "filter.all[0].in"),
    ] {
        let filter = json!({"all": [condition]}).to_string();
        let (status, error) = error_of(app.leads(&[("filter", &filter)]).await).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{filter}");
    }

    // A segment another one names stays until that condition goes.
    let (status, error) = error_of(delete(&app, vip).await).await;
    assert_eq!((status, error["code"].as_str()), (409, Some("refused")));
    assert!(error["message"].as_str().unwrap().contains("\"Keen\""), "{error}");
    assert_eq!(delete(&app, keen).await.status(), 204);
    assert_eq!(delete(&app, vip).await.status(), 204);
}
