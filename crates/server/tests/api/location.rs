//! Location and local time for every visitor: a session start fills `$timezone`, `$language` and
//! the zone's `$country`; `--geoip-db` fills `$city` and `$country` from the visitor's address
//! (a tiny MaxMind-format database this file writes itself), and beats the zone; neither guess
//! ever overwrites what the site or an operator set.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use leadcard_server::tracking::user_hash;
use reqwest::Client;
use serde_json::{Value, json};

use crate::helpers::{TestApp, error_of, property, spawn_app, spawn_app_with};
use crate::tracking::{newest_lead, site, track, track_ok};

/// A session start (and its first page view) from a browser in `zone` speaking `language`.
fn session_start(visitor: &str, session: &str, zone: &str, language: &str) -> Value {
    let url = "https://shop.example/";
    json!({
        "visitor_id": visitor,
        "session_id": session,
        "events": [
            { "name": "$session_start", "properties": { "url": url, "timezone": zone, "language": language } },
            { "name": "$page_view", "properties": { "url": url, "title": "Home" } },
        ],
    })
}

fn text_of(card: &Value, name: &str) -> Option<String> {
    let value = property(card, name);
    value["value"].as_str().map(str::to_owned)
}

/// `$city`, `$country`, `$timezone` and `$language` of the card.
async fn location(app: &TestApp, lead: i64) -> [Option<String>; 4] {
    let card = app.card(lead).await;
    ["$city", "$country", "$timezone", "$language"].map(|name| text_of(&card, name))
}

/// An operator's PATCH of the card as it is now.
async fn set_by_operator(app: &TestApp, lead: i64, operations: Value) {
    let version = app.card(lead).await["version"].as_i64().unwrap();
    let response = app.patch(lead, operations, Some(version)).await;
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

fn some(values: [&str; 4]) -> [Option<String>; 4] {
    values.map(|v| (!v.is_empty()).then(|| v.to_owned()))
}

#[tokio::test]
async fn a_session_start_fills_time_zone_country_and_language() {
    let app = spawn_app().await;
    let site = site(&app).await;
    app.signed_in().await;

    track_ok(&app, &site.key, "events", session_start("v1", "s1", "Asia/Tokyo", "ja-jp")).await;
    let lead = newest_lead(&app).await;
    assert_eq!(location(&app, lead).await, some(["", "Japan", "Asia/Tokyo", "ja-JP"]));
    // The `leads` columns follow: filters and the list find the lead by its guessed country.
    let filter = json!({"kind": "property", "name": "$country", "op": "equals", "value": "japan"});
    assert_eq!(app.ids_matching(filter).await, vec![lead]);

    // A later visit from elsewhere replaces the earlier guesses; a link name counts as its zone.
    track_ok(&app, &site.key, "events", session_start("v1", "s2", "Asia/Calcutta", "hi-IN")).await;
    assert_eq!(location(&app, lead).await, some(["", "India", "Asia/Calcutta", "hi-IN"]));

    // A zone the tz database does not know is kept on the event, and guesses nothing.
    track_ok(&app, &site.key, "events", session_start("v2", "s1", "Mars/Olympus_Mons", "en-US")).await;
    let martian = newest_lead(&app).await;
    assert_eq!(location(&app, martian).await, some(["", "", "", "en-US"]));

    // Malformed values are refused, naming the field.
    for (properties, field) in [
        (json!({ "url": "/", "timezone": 5 }), "events[0].properties.timezone"),
        (json!({ "url": "/", "timezone": "Europe/Berlin\u{0}" }), "events[0].properties.timezone"),
        (json!({ "url": "/", "language": "no such language tag" }), "events[0].properties.language"),
    ] {
        let body = json!({ "visitor_id": "v3", "session_id": "s1", "events": [{ "name": "$session_start", "properties": properties }] });
        let (status, error) = error_of(track(&app, &site.key, "events", body).await).await;
        assert_eq!((status, error["field"].as_str()), (422, Some(field)), "{error}");
    }
}

#[tokio::test]
async fn a_guess_never_overwrites_what_the_site_or_an_operator_set() {
    let app = spawn_app().await;
    let site = site(&app).await;
    app.signed_in().await;

    // An operator sets the country (to what was guessed: it is theirs now) and the time zone.
    track_ok(&app, &site.key, "events", session_start("v1", "s1", "Asia/Tokyo", "ja-JP")).await;
    let lead = newest_lead(&app).await;
    let ops = json!([
        { "op": "set", "name": "$country", "value": { "type": "text", "value": "Japan" } },
        { "op": "set", "name": "$timezone", "value": { "type": "text", "value": "Europe/Vienna" } },
    ]);
    set_by_operator(&app, lead, ops).await;
    track_ok(&app, &site.key, "events", session_start("v1", "s2", "Europe/Paris", "fr-FR")).await;
    assert_eq!(location(&app, lead).await, some(["", "Japan", "Europe/Vienna", "fr-FR"]));

    // The site sets the country when the visitor signs in; the next visit's zone leaves it.
    track_ok(&app, &site.key, "events", session_start("v2", "s1", "Asia/Tokyo", "ja-JP")).await;
    let identify = json!({
        "visitor_id": "v2", "user_id": "u-7", "user_hash": user_hash(&site.secret, "u-7"),
        "properties": [{ "op": "set", "name": "$country", "value": { "type": "text", "value": "Austria" } }],
    });
    track_ok(&app, &site.key, "identify", identify).await;
    let user = newest_lead(&app).await;
    track_ok(&app, &site.key, "events", session_start("v2", "s2", "America/New_York", "en-US")).await;
    assert_eq!(location(&app, user).await, some(["", "Austria", "America/New_York", "en-US"]));

    // Set-once does not claim a guess: the next visit's guess still replaces it.
    track_ok(&app, &site.key, "events", session_start("v3", "s1", "Asia/Tokyo", "ja-JP")).await;
    let third = newest_lead(&app).await;
    let once = json!([{ "op": "set_once", "name": "$country", "value": { "type": "text", "value": "Peru" } }]);
    set_by_operator(&app, third, once).await;
    track_ok(&app, &site.key, "events", session_start("v3", "s2", "Europe/Paris", "fr-FR")).await;
    assert_eq!(location(&app, third).await[1].as_deref(), Some("France"));
}

#[tokio::test]
async fn geoip_fills_city_and_country_beats_the_zone_and_follows_a_replaced_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("GeoLite2-City.mmdb");
    let lyon = Ipv4Addr::new(127, 0, 0, 2);
    std::fs::write(&db, mmdb(&[(lyon, "Lyon", "FR", "France")])).unwrap();
    let path = db.clone();
    let app = spawn_app_with(move |config| config.geoip_db = Some(path)).await;
    let site = site(&app).await;
    app.signed_in().await;

    // From 127.0.0.1, which the database does not know: the zone's guess.
    track_ok(&app, &site.key, "events", session_start("v1", "s1", "Asia/Tokyo", "ja-JP")).await;
    let lead = newest_lead(&app).await;
    assert_eq!(location(&app, lead).await, some(["", "Japan", "Asia/Tokyo", "ja-JP"]));

    // The same visitor from 127.0.0.2: GeoIP's city and country replace the zone's guess.
    let from_lyon = client_from(lyon);
    track_from(&from_lyon, &app, &site.key, session_start("v1", "s2", "Asia/Tokyo", "ja-JP")).await;
    assert_eq!(location(&app, lead).await, some(["Lyon", "France", "Asia/Tokyo", "ja-JP"]));
    let filter = json!({"kind": "property", "name": "$city", "op": "equals", "value": "Lyon"});
    assert_eq!(app.ids_matching(filter).await, vec![lead], "the city column follows");
    // ... and a later zone guess does not take the country back.
    track_ok(&app, &site.key, "events", session_start("v1", "s3", "Asia/Tokyo", "ja-JP")).await;
    assert_eq!(location(&app, lead).await[..2], some(["Lyon", "France", "", ""])[..2]);

    // The file is replaced (as a refresh does): the next session start reads the new one.
    std::thread::sleep(Duration::from_millis(20));
    let fresh = dir.path().join("fresh.mmdb");
    std::fs::write(&fresh, mmdb(&[(lyon, "Berlin", "DE", "Germany")])).unwrap();
    std::fs::rename(&fresh, &db).unwrap();
    track_from(&from_lyon, &app, &site.key, session_start("v1", "s4", "Asia/Tokyo", "ja-JP")).await;
    assert_eq!(location(&app, lead).await[..2], some(["Berlin", "Germany", "", ""])[..2]);

    // A broken replacement is refused and the last good database stays in use.
    std::fs::write(dir.path().join("broken.mmdb"), b"not a database").unwrap();
    std::fs::rename(dir.path().join("broken.mmdb"), &db).unwrap();
    track_from(&from_lyon, &app, &site.key, session_start("v2", "s1", "Asia/Tokyo", "ja-JP")).await;
    let second = newest_lead(&app).await;
    assert_eq!(location(&app, second).await[..2], some(["Berlin", "Germany", "", ""])[..2]);

    // What an operator set stays, GeoIP or not.
    let ops = json!([{ "op": "set", "name": "$city", "value": { "type": "text", "value": "Villeurbanne" } }]);
    set_by_operator(&app, lead, ops).await;
    track_from(&from_lyon, &app, &site.key, session_start("v1", "s5", "Asia/Tokyo", "ja-JP")).await;
    assert_eq!(location(&app, lead).await[0].as_deref(), Some("Villeurbanne"));
}

#[tokio::test]
async fn a_file_that_is_no_geoip_database_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("nothing.mmdb");
    std::fs::write(&db, b"plain text").unwrap();
    let config = crate::helpers::default_config(format!("sqlite://{}/t.db", dir.path().display()), dir.path());
    let config = leadcard_server::Config { geoip_db: Some(db), ..config };
    let error = leadcard_server::Application::build(config).await.err().expect("no start");
    assert!(error.to_string().contains("nothing.mmdb"), "{error}");
}

/// An HTTP client whose connections come from `ip` (any 127.x address is this machine).
fn client_from(ip: Ipv4Addr) -> Client {
    Client::builder().local_address(IpAddr::V4(ip)).build().unwrap()
}

async fn track_from(client: &Client, app: &TestApp, key: &str, body: Value) {
    let response =
        client.post(app.url("/api/v1/track/events")).header("x-leadcard-key", key).json(&body).send().await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.text().await.unwrap());
}

/// A MaxMind DB (format 2.0) of IPv4 /32 networks, each with a GeoIP2 City record: a search
/// tree of 32-bit records, 16 zero bytes, the data section, then the metadata after its marker.
fn mmdb(places: &[(Ipv4Addr, &str, &str, &str)]) -> Vec<u8> {
    #[derive(Clone, Copy)]
    enum Record {
        Empty,
        Node(usize),
        Data(usize),
    }
    let mut nodes: Vec<[Record; 2]> = vec![[Record::Empty; 2]];
    let mut data = Vec::new();
    for (ip, city, code, country) in places {
        let offset = data.len();
        encode_map(
            &mut data,
            &[
                ("city", &|d: &mut Vec<u8>| {
                    encode_map(d, &[("names", &|d| encode_map(d, &[("en", &|d| encode_str(d, city))]))])
                }),
                ("country", &|d: &mut Vec<u8>| {
                    encode_map(
                        d,
                        &[
                            ("iso_code", &|d| encode_str(d, code)),
                            ("names", &|d| encode_map(d, &[("en", &|d| encode_str(d, country))])),
                        ],
                    )
                }),
            ],
        );
        let bits = u32::from(*ip);
        let mut node = 0;
        for depth in 0..32 {
            let side = ((bits >> (31 - depth)) & 1) as usize;
            if depth == 31 {
                nodes[node][side] = Record::Data(offset);
            } else {
                node = match nodes[node][side] {
                    Record::Node(next) => next,
                    _ => {
                        nodes.push([Record::Empty; 2]);
                        let next = nodes.len() - 1;
                        nodes[node][side] = Record::Node(next);
                        next
                    }
                };
            }
        }
    }
    let count = nodes.len();
    let mut file = Vec::new();
    for node in &nodes {
        for record in node {
            let value = match *record {
                Record::Empty => count,
                Record::Node(n) => n,
                Record::Data(offset) => count + 16 + offset,
            };
            file.extend_from_slice(&(value as u32).to_be_bytes());
        }
    }
    file.extend_from_slice(&[0; 16]);
    file.extend_from_slice(&data);
    file.extend_from_slice(b"\xAB\xCD\xEFMaxMind.com");
    encode_map(
        &mut file,
        &[
            ("binary_format_major_version", &|d| encode_uint(d, 5, 2)),
            ("binary_format_minor_version", &|d| encode_uint(d, 5, 0)),
            ("build_epoch", &|d| encode_uint(d, 9, 1_800_000_000)),
            ("database_type", &|d| encode_str(d, "GeoLite2-City")),
            ("description", &|d| encode_map(d, &[("en", &|d| encode_str(d, "leadcard test"))])),
            ("ip_version", &|d| encode_uint(d, 5, 4)),
            ("languages", &|d| {
                d.extend_from_slice(&[1, 4]); // an array (extended type 11) of one
                encode_str(d, "en");
            }),
            ("node_count", &|d| encode_uint(d, 6, count as u64)),
            ("record_size", &|d| encode_uint(d, 5, 32)),
        ],
    );
    file
}

type Encode<'a> = &'a dyn Fn(&mut Vec<u8>);

/// A control byte: the type (extended types 8.. after it) and a size under 29.
fn control(out: &mut Vec<u8>, kind: u8, size: usize) {
    assert!(size < 29);
    if kind < 8 {
        out.push(kind << 5 | size as u8);
    } else {
        out.extend_from_slice(&[size as u8, kind - 7]);
    }
}

fn encode_str(out: &mut Vec<u8>, s: &str) {
    control(out, 2, s.len());
    out.extend_from_slice(s.as_bytes());
}

fn encode_uint(out: &mut Vec<u8>, kind: u8, n: u64) {
    let bytes = n.to_be_bytes();
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(8);
    control(out, kind, 8 - first);
    out.extend_from_slice(&bytes[first..]);
}

fn encode_map(out: &mut Vec<u8>, entries: &[(&str, Encode<'_>)]) {
    control(out, 7, entries.len());
    for (key, value) in entries {
        encode_str(out, key);
        value(out);
    }
}

#[test]
fn the_test_database_reads_back() {
    let bytes = mmdb(&[(Ipv4Addr::new(127, 0, 0, 2), "Lyon", "FR", "France")]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.mmdb");
    std::fs::write(&path, bytes).unwrap();
    let reader = maxminddb::Reader::open_readfile(Path::new(&path)).unwrap();
    let found = reader.lookup("127.0.0.2".parse().unwrap()).unwrap();
    let city = found.decode::<maxminddb::geoip2::City>().unwrap().unwrap();
    assert_eq!((city.city.names.english, city.country.iso_code), (Some("Lyon"), Some("FR")));
    assert!(
        reader.lookup("127.0.0.1".parse().unwrap()).unwrap().decode::<maxminddb::geoip2::City>().unwrap().is_none()
    );
}
