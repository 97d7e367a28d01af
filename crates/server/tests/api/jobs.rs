//! Background jobs (`leadcard_server::jobs`, `/api/v1/jobs`): live progress, a cancel that keeps
//! what was done, the report as JSON and as spreadsheet-safe CSV, a job left running by a stopped
//! server marked failed, and the leads a job changed recomputed and announced like an edit.

use std::time::Duration;

use leadcard_core::locale::Message;
use leadcard_core::wire::{JobKind, JobResult, JobState};
use leadcard_server::jobs::{self, Jobs, cancelled_message};
use leadcard_server::store::NewJob;
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::helpers::{Events, TestApp, error_of, spawn_another_on, spawn_app, text};

/// Polls `GET /jobs/{id}` until the job has ended; the job.
async fn ended(app: &TestApp, id: i64) -> Value {
    for _ in 0..200 {
        let job = app.get_json(&format!("/api/v1/jobs/{id}")).await;
        if job["state"] != "running" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("job {id} did not end");
}

#[tokio::test]
async fn a_job_reports_progress_live_and_a_cancel_keeps_what_it_did() {
    let app = spawn_app().await;
    let operator = app.signed_in().await;
    let mut events = Events::open(&app, None).await;
    let handle = Jobs::of(&app.state)
        .start(
            JobKind::Bulk,
            Some(&operator),
            Message::plain("Add tag vip to 10 leads"),
            json!({"ids": [1, 2]}),
            Some(10),
        )
        .await
        .unwrap();
    let id = handle.id();
    let started = events.next_of("job_changed").await;
    assert_eq!(started["job"]["id"], id);
    assert_eq!(started["job"]["state"], "running");
    assert_eq!(started["job"]["by"]["name"], "Test Operator");

    // The work takes one step per message, so the test decides where the cancel falls.
    let (step, mut steps) = mpsc::channel::<()>(1);
    let work = handle.clone();
    jobs::spawn(handle.clone(), async move {
        let mut counts = JobResult::default();
        let mut done = 0;
        while steps.recv().await.is_some() {
            if work.is_cancelled().await {
                counts.message = Some(cancelled_message(done, Some(10)));
                return Ok((JobState::Cancelled, counts));
            }
            done += 2;
            counts.changed += 1;
            counts.skipped += 1;
            work.problem(i64::try_from(done).unwrap(), "=not a formula: already tagged").await;
            work.progress(done, &counts).await;
            if done == 10 {
                break;
            }
        }
        Ok((JobState::Done, counts))
    });
    step.send(()).await.unwrap();
    let moved = loop {
        let event = events.next_of("job_changed").await;
        if event["job"]["done"] == 2 {
            break event;
        }
    };
    assert_eq!(moved["job"]["result"]["changed"], 1);
    step.send(()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;

    let cancel = app.post_empty(&format!("/api/v1/jobs/{id}/cancel")).await;
    assert_eq!(cancel.status(), 202);
    let asked: Value = cancel.json().await.unwrap();
    assert_eq!((asked["state"].as_str(), asked["cancel_requested"].as_bool()), (Some("running"), Some(true)));
    step.send(()).await.unwrap();
    let job = ended(&app, id).await;
    assert_eq!(job["state"], "cancelled");
    assert_eq!(job["done"], 4, "the batches before the cancel stay counted");
    assert_eq!(job["result"]["changed"], 2);
    assert!(job["result"]["message"].as_str().unwrap().contains("Cancelled after 4 of 10"), "{job}");
    assert!(job["finished_at"].is_string());
    loop {
        let event = events.next_of("job_changed").await;
        if event["job"]["state"] == "cancelled" {
            break;
        }
    }

    // Ended: a second cancel is refused by name.
    let (status, body) = error_of(app.post_empty(&format!("/api/v1/jobs/{id}/cancel")).await).await;
    assert_eq!((status, body["code"].as_str(), body["field"].as_str()), (409, Some("job_finished"), Some("id")));

    let list = app.get_json("/api/v1/jobs").await;
    assert_eq!(list["items"][0]["id"], id);
    assert_eq!(list["items"][0]["summary"], "Add tag vip to 10 leads");
    let problems = app.get_json(&format!("/api/v1/jobs/{id}/problems")).await;
    assert_eq!(problems["items"].as_array().unwrap().len(), 2);
    assert_eq!(problems["items"][0]["position"], 2);
    assert!(problems["next"].is_null());

    let report = app.get(&format!("/api/v1/jobs/{id}/report.csv")).await;
    assert_eq!(report.status(), 200);
    assert!(report.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    assert!(report.headers()["content-disposition"].to_str().unwrap().contains(&format!("job-{id}-report.csv")));
    let text = report.text().await.unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().collect::<Vec<_>>(), ["lead_id", "reason"]);
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[1][0], "4");
    assert_eq!(&rows[1][1], "'=not a formula: already tagged", "a formula-like reason is neutralised");
}

#[tokio::test]
async fn jobs_are_listed_newest_first_by_keyset_and_bad_ids_are_refused() {
    let app = spawn_app().await;
    let operator = app.signed_in().await;
    let jobs = Jobs::of(&app.state);
    let mut ids = Vec::new();
    for i in 0..3 {
        let handle = jobs
            .start(JobKind::Import, Some(&operator), Message::plain(format!("Import {i}.csv")), json!({}), None)
            .await
            .unwrap();
        handle.progress(5, &JobResult { created: 5, ..JobResult::default() }).await;
        handle.finish(JobState::Done, JobResult { created: 5, ..JobResult::default() }).await.unwrap();
        ids.push(handle.id());
    }
    let first = app.get_json("/api/v1/jobs?limit=2").await;
    let page: Vec<i64> = first["items"].as_array().unwrap().iter().map(|j| j["id"].as_i64().unwrap()).collect();
    assert_eq!(page, [ids[2], ids[1]]);
    assert_eq!(first["items"][0]["state"], "done");
    assert_eq!(first["items"][0]["done"], 5);
    assert_eq!(first["items"][0]["kind"], "import");
    let next = first["next"].as_str().unwrap();
    let second = app.get_json(&format!("/api/v1/jobs?limit=2&after={next}")).await;
    assert_eq!(second["items"][0]["id"], ids[0]);
    assert!(second["next"].is_null());

    for path in ["/api/v1/jobs/999999", "/api/v1/jobs/abc", "/api/v1/jobs/0/report.csv"] {
        assert_eq!(app.get(path).await.status(), 404, "{path}");
    }
    assert_eq!(app.post_empty("/api/v1/jobs/999999/cancel").await.status(), 404);
    for (query, field) in [("limit=0", "limit"), ("limit=x", "limit"), ("after=-1", "after")] {
        let (status, body) = error_of(app.get(&format!("/api/v1/jobs?{query}")).await).await;
        assert_eq!((status, body["field"].as_str()), (422, Some(field)), "{query}");
    }
    let (status, body) = error_of(app.get(&format!("/api/v1/jobs/{}/problems?after=x", ids[0])).await).await;
    assert_eq!((status, body["field"].as_str()), (422, Some("after")));
    // Signed out: nothing.
    let stranger = crate::helpers::new_client();
    assert_eq!(stranger.get(app.url("/api/v1/jobs")).send().await.unwrap().status(), 401);
}

#[tokio::test]
async fn a_failing_or_panicking_job_ends_failed_with_what_it_did() {
    let app = spawn_app().await;
    app.signed_in().await;
    let jobs = Jobs::of(&app.state);
    let failing = jobs.start(JobKind::Bulk, None, Message::plain("Fails"), json!({}), Some(3)).await.unwrap();
    let work = failing.clone();
    jobs::spawn(failing.clone(), async move {
        work.progress(1, &JobResult { changed: 1, ..JobResult::default() }).await;
        Err("The database refused the batch.".to_owned())
    });
    let job = ended(&app, failing.id()).await;
    assert_eq!(job["state"], "failed");
    assert_eq!((job["done"].as_i64(), job["result"]["changed"].as_i64()), (Some(1), Some(1)));
    let message = job["result"]["message"].as_str().unwrap();
    assert!(message.contains("The database refused the batch.") && message.contains("after 1"), "{message}");
    assert!(job["by"].is_null());

    let panicking = jobs.start(JobKind::Bulk, None, Message::plain("Panics"), json!({}), None).await.unwrap();
    jobs::spawn(panicking.clone(), async move {
        if std::env::var("NEVER_SET_LEADCARD").is_err() {
            panic!("a bug");
        }
        Ok((JobState::Done, JobResult::default()))
    });
    let job = ended(&app, panicking.id()).await;
    assert_eq!(job["state"], "failed");
    assert!(job["result"]["message"].as_str().unwrap().contains("error in the server"), "{job}");
}

#[tokio::test]
async fn a_job_left_running_by_a_stopped_server_is_marked_failed_when_one_starts() {
    let app = spawn_app().await;
    app.signed_in().await;
    let new = NewJob {
        kind: JobKind::Import,
        operator_id: None,
        summary: "Import big.csv".to_owned(),
        params: json!({"file": "big.csv"}),
        total: Some(1_000),
    };
    // Its heartbeat stopped two minutes ago (a process that died).
    let old = app.store.insert_job(&new, app.clock.now() - chrono::Duration::minutes(2)).await.unwrap();
    app.store
        .job_progress(
            old,
            500,
            None,
            &JobResult { created: 500, ..JobResult::default() },
            app.clock.now() - chrono::Duration::minutes(2),
        )
        .await
        .unwrap();
    let second = spawn_another_on(&app, |_| {}).await;
    let job = app.get_json(&format!("/api/v1/jobs/{old}")).await;
    assert_eq!(job["state"], "failed");
    assert_eq!(job["result"]["created"], 500, "what it did stays counted");
    assert!(job["result"]["message"].as_str().unwrap().starts_with("Interrupted"), "{job}");
    drop(second);
}

#[tokio::test]
async fn leads_a_job_changed_get_their_segments_recomputed_and_a_live_update() {
    let app = spawn_app().await;
    app.signed_in().await;
    let segment = app
        .post_json("/api/v1/segments", &json!({"name": "VIPs", "filter": {"all": [{"kind": "tag", "tag": "vip"}]}}))
        .await;
    assert_eq!(segment.status(), 201);
    let segment: Value = segment.json().await.unwrap();
    let segment_id = segment["id"].as_i64().unwrap();
    // The segment's first fill has run (it waits for one under way).
    leadcard_server::segments::rebuild_pending(&app.state).await.unwrap();
    // Leads written straight to the store, as a job's batch writes them.
    let a = app.add_lead(&[("$name", text("A"))], &["vip"]).await;
    let b = app.add_lead(&[("$name", text("B"))], &[]).await;
    let members = format!("SELECT COUNT(*) FROM segment_members WHERE segment_id = {segment_id}");
    let before = app.count(&members).await;
    jobs::leads_changed(&app.state, &[a, b], "imported").await;
    assert_eq!(app.count(&members).await, before.max(1));
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM segment_members WHERE lead_id = {a}")).await, 1);
    let reasons: i64 = app
        .count(&format!("SELECT COUNT(*) FROM segment_history WHERE lead_id = {a} AND reason = 'imported' AND entered"))
        .await;
    assert_eq!(reasons, 1, "the entry says why");
    let events = app.live_events().await;
    for id in [a, b] {
        assert!(events.iter().any(|e| e["kind"] == "lead_changed" && e["lead_id"] == id), "{id}: {events:?}");
    }
}
