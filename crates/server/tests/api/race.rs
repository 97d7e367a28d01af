//! No acknowledged edit is lost: two operators, each with a session of their own, race 1,000
//! edits each on one lead. A read-modify-write `set` with If-Match that is refused (412) is
//! retried on the card the conflict returns; an `add` without If-Match never conflicts.

use std::time::Instant;

use leadcard_core::PropertyValue;
use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::{property, spawn_app};

/// Read-modify-write sets of `counter` per client, each followed by an `add` to `total`.
const EDITS_PER_CLIENT: u64 = 1000;

/// What one client saw acknowledged.
#[derive(Debug, Default)]
struct Tally {
    sets: u64,
    added: i64,
    adds: u64,
    conflicts: u64,
}

fn number(card: &Value, name: &str) -> i64 {
    property(card, name)["value"].as_f64().unwrap() as i64
}

async fn patch(client: &Client, url: &str, operations: Value, if_match: Option<i64>) -> (u16, Value) {
    let mut request = client.patch(url).json(&json!({ "operations": operations }));
    if let Some(version) = if_match {
        request = request.header("if-match", format!("\"{version}\""));
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn edit(client: Client, base: String, id: i64, seed: i64) -> Tally {
    let url = format!("{base}/api/v1/leads/{id}/properties");
    let mut card: Value = client.get(format!("{base}/api/v1/leads/{id}")).send().await.unwrap().json().await.unwrap();
    let mut tally = Tally::default();
    for i in 0..EDITS_PER_CLIENT as i64 {
        loop {
            let next = number(&card, "counter") + 1;
            let set = json!([{ "op": "set", "name": "counter", "value": { "type": "number", "value": next } }]);
            match patch(&client, &url, set, card["version"].as_i64()).await {
                (200, body) => {
                    // The add below answers with a newer card still; this one only shows the set.
                    assert_eq!(number(&body, "counter"), next);
                    tally.sets += 1;
                    break;
                }
                (412, body) => {
                    card = body["current"].clone();
                    tally.conflicts += 1;
                }
                (status, body) => panic!("set answered {status}: {body}"),
            }
        }
        let by = (i + seed) % 7 + 1;
        match patch(&client, &url, json!([{ "op": "add", "name": "total", "by": by }]), None).await {
            (200, body) => {
                card = body;
                tally.added += by;
                tally.adds += 1;
            }
            (status, body) => panic!("add answered {status}: {body}"),
        }
    }
    tally
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_clients_racing_a_thousand_edits_each_lose_no_acknowledged_edit() {
    let app = spawn_app().await;
    app.signed_in().await;
    let (_, ben) = app.operator_client("ben@leadcard.test").await;
    let (_, cara) = app.operator_client("cara@leadcard.test").await;
    let zero = PropertyValue::Number(0.0);
    let id = app.add_lead(&[("counter", zero.clone()), ("total", zero)], &[]).await;
    let start_version = app.card(id).await["version"].as_i64().unwrap();

    let started = Instant::now();
    let first = tokio::spawn(edit(ben, app.base.clone(), id, 0));
    let second = tokio::spawn(edit(cara, app.base.clone(), id, 3));
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    let seconds = started.elapsed().as_secs_f64();

    let card = app.card(id).await;
    let sets = first.sets + second.sets;
    let adds = first.adds + second.adds;
    let conflicts = first.conflicts + second.conflicts;
    println!(
        "race on {:?}: {} acknowledged edits ({sets} sets, {adds} adds) by 2 clients, {conflicts} conflicts (412) \
         retried, {seconds:.1} s, {:.0} edits/s",
        app.store.backend(),
        sets + adds,
        (sets + adds) as f64 / seconds,
    );
    assert_eq!(sets, 2 * EDITS_PER_CLIENT);
    assert_eq!(number(&card, "counter"), sets as i64, "every acknowledged set counted once");
    assert_eq!(number(&card, "total"), first.added + second.added, "every acknowledged add counted once");
    assert_eq!(card["version"].as_i64().unwrap(), start_version + (sets + adds) as i64, "one version per write");
}
