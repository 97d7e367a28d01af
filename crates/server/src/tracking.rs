//! What the widget's routes share: project keys (looked up once, then kept; unknown ones kept as
//! unknown for a minute), the abuse limits (per project, per client address and per visitor:
//! calls, new visitors, chat messages, open streams), and the user-id signature check of identify.
//!
//! Limits are checked client first, then visitor, then project, so calls a client is refused do
//! not use up its site's quota: one client flooding cannot take the widget away from everyone else.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use leadcard_core::tracking::check_client_id;
use sha2::Sha256;

use crate::error::ApiError;
use crate::store::{Project, Store};

/// How long a key that matches no project is answered 401 without asking the database.
const UNKNOWN_KEY_FOR: Duration = Duration::from_secs(60);
/// Most unknown keys remembered; past that the memory starts afresh (a flood of made-up keys).
const MAX_UNKNOWN_KEYS: usize = 10_000;
/// A visitor not heard from for this long counts as new again (for the new-visitor limit).
const RECENT_VISITOR_FOR: Duration = Duration::from_secs(600);
/// What a client refused a stream waits before opening another.
const STREAM_RETRY_SECS: u64 = 30;

/// The limits at `--track-rate`'s default (500 calls a second per project); they scale with it, so
/// a deployment sized for more traffic (or a benchmark) raises them all at once.
const DEFAULT_TRACK_RATE: u32 = 500;
/// Calls per second per client address (bursts of twice as many).
const CLIENT_CALLS_PER_SECOND: u32 = 50;
/// Calls per second per visitor id (bursts of three times as many: a page's first load).
const VISITOR_CALLS_PER_SECOND: u32 = 10;
/// Visitors new to this server (each may become a lead) per minute per client address.
const NEW_VISITORS_PER_MINUTE: u32 = 20;
/// Chat messages per minute per visitor, and per client address.
const VISITOR_MESSAGES_PER_MINUTE: u32 = 10;
const CLIENT_MESSAGES_PER_MINUTE: u32 = 60;
/// Message streams open at once per visitor (a few tabs), per client address, per project.
const VISITOR_STREAMS: u32 = 3;
const CLIENT_STREAMS: u32 = 30;
const PROJECT_STREAMS: u32 = 5_000;

type VisitorKey = (i64, String);

/// Who holds an open stream, counted per each.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum StreamHolder {
    Project(i64),
    Client(IpAddr),
    Visitor(VisitorKey),
}

pub struct Tracking {
    /// Public key -> project. Keys are never changed or removed while the server runs.
    projects: RwLock<HashMap<String, Project>>,
    /// Keys that matched no project, and since when.
    unknown: Mutex<HashMap<String, Instant>>,
    by_project: DefaultKeyedRateLimiter<i64>,
    by_client: DefaultKeyedRateLimiter<IpAddr>,
    by_visitor: DefaultKeyedRateLimiter<VisitorKey>,
    new_visitors_by_client: DefaultKeyedRateLimiter<IpAddr>,
    messages_by_client: DefaultKeyedRateLimiter<IpAddr>,
    messages_by_visitor: DefaultKeyedRateLimiter<VisitorKey>,
    /// Visitors heard from lately, and when.
    recent_visitors: Mutex<HashMap<VisitorKey, Instant>>,
    /// Open streams per holder, and the most each may hold.
    streams: Mutex<HashMap<StreamHolder, u32>>,
    stream_caps: [u32; 3],
}

/// The address of the client calling the widget's API, for its limits and its GeoIP lookup: the
/// connection's peer. Every widget limit and location guess takes the address from here, and only
/// here.
pub struct ClientAddress(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(peer)| peer.ip());
        peer.map(ClientAddress).ok_or_else(|| ApiError::Internal("the connection's peer address is unknown".to_owned()))
    }
}

/// An open stream's place in the counts, given back when the stream ends.
pub struct StreamPermit {
    tracking: Arc<Tracking>,
    holders: [StreamHolder; 3],
}

impl Drop for StreamPermit {
    fn drop(&mut self) {
        if let Ok(mut open) = self.tracking.streams.lock() {
            for holder in &self.holders {
                if let Some(n) = open.get_mut(holder) {
                    *n -= 1;
                    if *n == 0 {
                        open.remove(holder);
                    }
                }
            }
        }
    }
}

fn nonzero(n: u64) -> NonZeroU32 {
    NonZeroU32::new(u32::try_from(n).unwrap_or(u32::MAX)).unwrap_or(NonZeroU32::MIN)
}

/// `n` a second (or a minute), in bursts of `burst`.
fn quota(n: u64, burst: u64, per_minute: bool) -> Quota {
    let quota = if per_minute { Quota::per_minute(nonzero(n)) } else { Quota::per_second(nonzero(n)) };
    quota.allow_burst(nonzero(burst))
}

fn refused(not_until: governor::NotUntil<governor::clock::QuantaInstant>) -> ApiError {
    let wait = not_until.wait_time_from(DefaultClock::default().now());
    ApiError::TrackingRateLimited { retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0) }
}

impl Tracking {
    /// `per_second` calls per project key, in bursts of up to twice as many; the per-client and
    /// per-visitor limits in proportion.
    pub fn new(per_second: u32) -> Tracking {
        let rate = u64::from(per_second.max(1));
        let scale = (rate / u64::from(DEFAULT_TRACK_RATE)).max(1);
        let at = |n: u32| u64::from(n) * scale;
        let cap = |n: u32| u32::try_from(at(n)).unwrap_or(u32::MAX);
        Tracking {
            projects: RwLock::new(HashMap::new()),
            unknown: Mutex::new(HashMap::new()),
            by_project: RateLimiter::keyed(quota(rate, rate * 2, false)),
            by_client: RateLimiter::keyed(quota(at(CLIENT_CALLS_PER_SECOND), at(CLIENT_CALLS_PER_SECOND) * 2, false)),
            by_visitor: RateLimiter::keyed(quota(
                at(VISITOR_CALLS_PER_SECOND),
                at(VISITOR_CALLS_PER_SECOND) * 3,
                false,
            )),
            new_visitors_by_client: RateLimiter::keyed(quota(
                at(NEW_VISITORS_PER_MINUTE),
                at(NEW_VISITORS_PER_MINUTE),
                true,
            )),
            messages_by_client: RateLimiter::keyed(quota(
                at(CLIENT_MESSAGES_PER_MINUTE),
                at(CLIENT_MESSAGES_PER_MINUTE),
                true,
            )),
            messages_by_visitor: RateLimiter::keyed(quota(
                at(VISITOR_MESSAGES_PER_MINUTE),
                at(VISITOR_MESSAGES_PER_MINUTE),
                true,
            )),
            recent_visitors: Mutex::new(HashMap::new()),
            streams: Mutex::new(HashMap::new()),
            stream_caps: [cap(PROJECT_STREAMS), cap(CLIENT_STREAMS), cap(VISITOR_STREAMS)],
        }
    }

    /// Counts one call of a client, before anything else (its key is not looked up yet): 429
    /// with the wait when over its rate.
    pub fn check_client(&self, client: IpAddr) -> Result<(), ApiError> {
        self.by_client.check_key(&client).map_err(refused)
    }

    /// The project of a public key: 401 `invalid_key` when there is none.
    pub async fn project(&self, store: &Store, key: Option<&str>) -> Result<Project, ApiError> {
        let key = key.map(str::trim).filter(|k| !k.is_empty()).ok_or(ApiError::InvalidKey)?;
        if let Some(project) = self.projects.read().ok().and_then(|known| known.get(key).cloned()) {
            return Ok(project);
        }
        let known_unknown = self
            .unknown
            .lock()
            .ok()
            .and_then(|unknown| unknown.get(key).copied())
            .is_some_and(|since| since.elapsed() < UNKNOWN_KEY_FOR);
        if known_unknown {
            return Err(ApiError::InvalidKey);
        }
        let Some(project) = store.project_by_public_key(key).await? else {
            if let Ok(mut unknown) = self.unknown.lock() {
                if unknown.len() >= MAX_UNKNOWN_KEYS {
                    unknown.clear();
                }
                unknown.insert(key.to_owned(), Instant::now());
            }
            return Err(ApiError::InvalidKey);
        };
        if let Ok(mut known) = self.projects.write() {
            known.insert(key.to_owned(), project.clone());
        }
        Ok(project)
    }

    /// Counts one call of a visitor of a project from a client: the visitor's rate, then (for
    /// a visitor new to this server, who may become a new lead) the client's new visitors,
    /// then the project's rate. 429 with the wait when over any. A visitor id the route will
    /// refuse (422) is counted for the project only.
    pub fn admit(&self, project_id: i64, client: IpAddr, visitor_id: &str) -> Result<(), ApiError> {
        if check_client_id(visitor_id, "visitor_id").is_ok() {
            let visitor = (project_id, visitor_id.to_owned());
            self.by_visitor.check_key(&visitor).map_err(refused)?;
            let now = Instant::now();
            let mut recent = self.recent_visitors.lock().map_err(|_| ApiError::Internal("visitor list".to_owned()))?;
            match recent.get_mut(&visitor) {
                Some(seen) if now.duration_since(*seen) < RECENT_VISITOR_FOR => *seen = now,
                _ => {
                    self.new_visitors_by_client.check_key(&client).map_err(refused)?;
                    recent.insert(visitor, now);
                }
            }
        }
        self.by_project.check_key(&project_id).map_err(refused)
    }

    /// Counts one chat message of a visitor from a client: 429 with the wait when over either's.
    pub fn admit_message(&self, project_id: i64, client: IpAddr, visitor_id: &str) -> Result<(), ApiError> {
        self.messages_by_visitor.check_key(&(project_id, visitor_id.to_owned())).map_err(refused)?;
        self.messages_by_client.check_key(&client).map_err(refused)
    }

    /// A place for one more open stream of a visitor from a client, held until the permit is
    /// dropped: 429 when the visitor, the client or the project holds its most already.
    pub fn open_stream(
        self: &Arc<Self>,
        project_id: i64,
        client: IpAddr,
        visitor_id: &str,
    ) -> Result<StreamPermit, ApiError> {
        let holders = [
            StreamHolder::Project(project_id),
            StreamHolder::Client(client),
            StreamHolder::Visitor((project_id, visitor_id.to_owned())),
        ];
        let mut open = self.streams.lock().map_err(|_| ApiError::Internal("stream counts".to_owned()))?;
        let full =
            holders.iter().zip(self.stream_caps).any(|(holder, cap)| open.get(holder).copied().unwrap_or(0) >= cap);
        if full {
            return Err(ApiError::TrackingRateLimited { retry_after_secs: STREAM_RETRY_SECS });
        }
        for holder in &holders {
            *open.entry(holder.clone()).or_insert(0) += 1;
        }
        Ok(StreamPermit { tracking: self.clone(), holders })
    }

    /// Drops what only recent traffic needs: limits back to full, visitors not heard from lately,
    /// unknown keys past their minute.
    pub fn forget_idle(&self) {
        for limiter in [&self.by_client, &self.new_visitors_by_client, &self.messages_by_client] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        for limiter in [&self.by_visitor, &self.messages_by_visitor] {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.by_project.retain_recent();
        if let Ok(mut recent) = self.recent_visitors.lock() {
            recent.retain(|_, seen| seen.elapsed() < RECENT_VISITOR_FOR);
            recent.shrink_to_fit();
        }
        if let Ok(mut unknown) = self.unknown.lock() {
            unknown.retain(|_, since| since.elapsed() < UNKNOWN_KEY_FOR);
            unknown.shrink_to_fit();
        }
    }
}

/// `hex(HMAC-SHA256(secret_key, user_id))`, what the site's server sends as `user_hash`.
pub fn user_hash(secret_key: &str, user_id: &str) -> String {
    let mut mac = mac(secret_key);
    mac.update(user_id.as_bytes());
    mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `hash` (hex, either case) signs `user_id`; compared in constant time.
pub fn verify_user_hash(secret_key: &str, user_id: &str, hash: &str) -> bool {
    let Some(bytes) = decode_hex(hash.trim()) else {
        return false;
    };
    let mut mac = mac(secret_key);
    mac.update(user_id.as_bytes());
    mac.verify_slice(&bytes).is_ok()
}

fn mac(secret_key: &str) -> Hmac<Sha256> {
    // HMAC takes a key of any length; this never fails.
    <Hmac<Sha256> as Mac>::new_from_slice(secret_key.as_bytes()).unwrap_or_else(|_| unreachable!())
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) || !hex.is_ascii() {
        return None;
    }
    (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_hashes_are_hmac_sha256_in_hex() {
        // RFC 4231 test case 2.
        let hash = user_hash("Jefe", "what do ya want for nothing?");
        assert_eq!(hash, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        assert!(verify_user_hash("Jefe", "what do ya want for nothing?", &hash.to_uppercase()));
        assert!(!verify_user_hash("Jefe", "what do ya want for something?", &hash));
        assert!(!verify_user_hash("Jefe", "what do ya want for nothing?", "zz"));
        assert!(!verify_user_hash("Jefe", "what do ya want for nothing?", ""));
    }

    #[test]
    fn a_key_over_its_rate_waits() {
        let tracking = Tracking::new(1);
        let client = IpAddr::from([10, 0, 0, 1]);
        assert!(tracking.admit(1, client, "v1").is_ok());
        assert!(tracking.admit(1, client, "v2").is_ok());
        assert!(matches!(tracking.admit(1, client, "v1"), Err(ApiError::TrackingRateLimited { retry_after_secs: 1 })));
        assert!(tracking.admit(2, client, "v1").is_ok());
    }

    #[test]
    fn a_client_has_few_new_visitors_a_minute_and_known_ones_go_on() {
        let tracking = Tracking::new(DEFAULT_TRACK_RATE);
        let (flooder, other) = (IpAddr::from([10, 0, 0, 1]), IpAddr::from([10, 0, 0, 2]));
        for v in 0..NEW_VISITORS_PER_MINUTE {
            assert!(tracking.admit(1, flooder, &format!("v{v}")).is_ok());
        }
        assert!(matches!(tracking.admit(1, flooder, "one-more"), Err(ApiError::TrackingRateLimited { .. })));
        assert!(tracking.admit(1, flooder, "v0").is_ok(), "a visitor it had stays welcome");
        assert!(tracking.admit(1, other, "one-more").is_ok(), "another client is not held back");
    }

    #[test]
    fn streams_are_counted_while_open() {
        let tracking = Arc::new(Tracking::new(DEFAULT_TRACK_RATE));
        let client = IpAddr::from([10, 0, 0, 1]);
        let open: Vec<_> = (0..VISITOR_STREAMS).map(|_| tracking.open_stream(1, client, "v").unwrap()).collect();
        assert!(tracking.open_stream(1, client, "v").is_err());
        assert!(tracking.open_stream(1, client, "w").is_ok(), "and dropped at once");
        drop(open);
        assert!(tracking.open_stream(1, client, "v").is_ok());
        assert!(tracking.streams.lock().unwrap().is_empty(), "every count given back");
    }
}
