//! SIGTERM to the real binary with event streams open and tracking writes in flight: it stops
//! within 10 s, every stream ends, every acknowledged write is stored, and each request left one
//! log line. `LEADCARD_SHUTDOWN_STREAMS=1000` gives the figure in BENCHMARKS.md.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use leadcard_core::wire::Role;
use leadcard_server::Clock;
use leadcard_server::auth::password::hash_password;
use leadcard_server::store::{NewOperator, Store};
use reqwest::Client;
use serde_json::json;
use sqlx::Connection;

use crate::helpers::{PASSWORD, fresh_database, new_client};

const WRITERS: usize = 8;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigterm_ends_every_stream_and_keeps_every_acknowledged_write() {
    let streams: usize = std::env::var("LEADCARD_SHUTDOWN_STREAMS").ok().and_then(|n| n.parse().ok()).unwrap_or(100);
    let dir = tempfile::tempdir().unwrap();
    let database_url = fresh_database(dir.path()).await;
    let store = Store::connect(&database_url).await.unwrap();
    let password_hash = hash_password(PASSWORD).unwrap();
    let operator =
        NewOperator { email: "anna@leadcard.test".into(), name: "Anna".into(), role: Role::Admin, password_hash };
    store.create_operator(&operator, Clock::default().now()).await.unwrap();
    let key = store.ensure_project(Clock::default().now()).await.unwrap().public_key;
    store.close().await;

    let mut server = Command::new(env!("CARGO_BIN_EXE_leadcard-server"))
        .args(["--bind", "127.0.0.1:0", "--database-url", &database_url, "--track-rate", "1000000", "--log", "info"])
        .arg("--dist")
        .arg(dir.path().join("dist"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let mut stderr = server.stderr.take().unwrap();
    let log_reader = {
        let log = log.clone();
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            log.lock().unwrap().push_str(&text);
        })
    };
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let base = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        loop {
            line.clear();
            assert!(stdout.read_line(&mut line).unwrap() > 0, "the server exited before listening");
            if let Some(rest) = line.trim().strip_prefix("leadcard is listening on ") {
                return rest.trim_end_matches('/').to_owned();
            }
        }
    })
    .await
    .unwrap();

    let operator = new_client();
    let signed_in = operator
        .post(format!("{base}/api/v1/session"))
        .json(&json!({ "email": "anna@leadcard.test", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), 200);
    let widget = Client::new();
    let mut open = Vec::with_capacity(streams);
    for i in 0..streams {
        let request = if i % 2 == 0 {
            operator.get(format!("{base}/api/v1/stream"))
        } else {
            widget
                .get(format!("{base}/api/v1/track/stream"))
                .query(&[("key", key.as_str()), ("visitor_id", &format!("v{i}"))])
        };
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200, "stream {i}");
        open.push(response);
    }

    // Writers keep tracking until the server refuses; each remembers what was acknowledged.
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let (base, key, acknowledged) = (base.clone(), key.clone(), acknowledged.clone());
            tokio::spawn(async move {
                let client = Client::new();
                for n in 0.. {
                    let name = format!("shutdown-{w}-{n}");
                    let body =
                        json!({ "visitor_id": format!("w{w}"), "session_id": "s1", "events": [{ "name": name }] });
                    let sent =
                        client.post(format!("{base}/api/v1/track/events")).header("x-leadcard-key", &key).json(&body);
                    match sent.send().await {
                        Ok(response) if response.status() == 200 => acknowledged.lock().unwrap().push(name),
                        // Refused (503 while stopping) or the connection closed: stopped.
                        _ => return,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let signalled = Instant::now();
    let killed = Command::new("kill").args(["-TERM", &server.id().to_string()]).status().unwrap();
    assert!(killed.success());
    let ended: Vec<_> = open
        .into_iter()
        .map(|mut stream| {
            tokio::spawn(async move {
                loop {
                    match stream.chunk().await {
                        Ok(Some(_)) => {}
                        Ok(None) | Err(_) => return signalled.elapsed(),
                    }
                }
            })
        })
        .collect();
    let status = tokio::task::spawn_blocking(move || server.wait()).await.unwrap().unwrap();
    let exit = signalled.elapsed();
    let mut last_stream = Duration::ZERO;
    for stream in ended {
        let took = tokio::time::timeout(Duration::from_secs(1), stream).await.expect("a stream outlived the server");
        last_stream = last_stream.max(took.unwrap());
    }
    for writer in writers {
        writer.await.unwrap();
    }
    log_reader.join().unwrap();
    assert!(status.success(), "exit status {status}");
    assert!(exit < Duration::from_secs(10), "took {exit:?} to exit");

    let acknowledged: Vec<String> = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() > 10, "the writers wrote: {}", acknowledged.len());
    let mut db = sqlx::AnyConnection::connect(&database_url).await.unwrap();
    let stored: HashSet<String> =
        sqlx::query_scalar::<_, String>("SELECT name FROM events WHERE name LIKE 'shutdown-%'")
            .fetch_all(&mut db)
            .await
            .unwrap()
            .into_iter()
            .collect();
    let lost: Vec<&String> = acknowledged.iter().filter(|name| !stored.contains(*name)).collect();
    eprintln!(
        "SIGTERM with {streams} open streams: exited after {:.2} s (last stream ended {:.2} s), {} writes acknowledged, {} lost",
        exit.as_secs_f64(),
        last_stream.as_secs_f64(),
        acknowledged.len(),
        lost.len()
    );
    assert!(lost.is_empty(), "acknowledged but not stored: {lost:?}");

    // One info line per request, with its id, method, route, status and time.
    let log = log.lock().unwrap();
    let line = log
        .lines()
        .find(|line| line.contains("route=/api/v1/track/events") && line.contains("status=200"))
        .unwrap_or_else(|| panic!("no request line in the log:\n{log}"));
    assert!(line.contains(" INFO ") && line.contains("method=POST") && line.contains("latency="), "{line}");
    assert!(line.contains("id=") && line.contains("client=127.0.0.1"), "{line}");
}
