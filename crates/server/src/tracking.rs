//! What the tracking routes share: project keys (looked up once, then kept), the per-key rate
//! limit, and the user-id signature check of identify.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::RwLock;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::error::ApiError;
use crate::store::{Project, Store};

pub struct Tracking {
    /// Public key -> project. Keys are never changed or removed while the server runs.
    projects: RwLock<HashMap<String, Project>>,
    limiter: DefaultKeyedRateLimiter<i64>,
}

impl Tracking {
    /// `per_second` calls per key, in bursts of up to twice as many.
    pub fn new(per_second: u32) -> Tracking {
        let rate = NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN);
        let burst = rate.saturating_mul(NonZeroU32::new(2).unwrap_or(NonZeroU32::MIN));
        Tracking {
            projects: RwLock::new(HashMap::new()),
            limiter: RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst)),
        }
    }

    /// The project of a public key: 401 `invalid_key` when there is none.
    pub async fn project(&self, store: &Store, key: Option<&str>) -> Result<Project, ApiError> {
        let key = key.map(str::trim).filter(|k| !k.is_empty()).ok_or(ApiError::InvalidKey)?;
        if let Some(project) = self.projects.read().ok().and_then(|known| known.get(key).cloned()) {
            return Ok(project);
        }
        let project = store.project_by_public_key(key).await?.ok_or(ApiError::InvalidKey)?;
        if let Ok(mut known) = self.projects.write() {
            known.insert(key.to_owned(), project.clone());
        }
        Ok(project)
    }

    /// Counts one call of the project: 429 with the wait when over its rate.
    pub fn check_rate(&self, project_id: i64) -> Result<(), ApiError> {
        self.limiter.check_key(&project_id).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            ApiError::TrackingRateLimited { retry_after_secs: wait.as_secs() + u64::from(wait.subsec_nanos() > 0) }
        })
    }

    pub fn forget_idle(&self) {
        self.limiter.retain_recent();
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
        assert!(tracking.check_rate(1).is_ok());
        assert!(tracking.check_rate(1).is_ok());
        assert!(matches!(tracking.check_rate(1), Err(ApiError::TrackingRateLimited { retry_after_secs: 1 })));
        assert!(tracking.check_rate(2).is_ok());
    }
}
