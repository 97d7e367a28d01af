//! Sign-in attempts limited per client address and per email (GCRA, the `governor` crate).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

const PER_ADDRESS_PER_MINUTE: NonZeroU32 = NonZeroU32::new(10).unwrap();
const PER_EMAIL_PER_MINUTE: NonZeroU32 = NonZeroU32::new(5).unwrap();

pub struct SignInLimiter {
    by_address: DefaultKeyedRateLimiter<IpAddr>,
    by_email: DefaultKeyedRateLimiter<String>,
}

impl Default for SignInLimiter {
    fn default() -> Self {
        SignInLimiter {
            by_address: RateLimiter::keyed(Quota::per_minute(PER_ADDRESS_PER_MINUTE)),
            by_email: RateLimiter::keyed(Quota::per_minute(PER_EMAIL_PER_MINUTE)),
        }
    }
}

impl SignInLimiter {
    /// Counts one attempt; `Err` carries how long to wait before the next one is accepted.
    pub fn check(&self, address: IpAddr, email: &str) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        self.by_address.check_key(&address).map_err(|n| n.wait_time_from(now))?;
        self.by_email.check_key(&leadcard_core::normalize_email(email)).map_err(|n| n.wait_time_from(now))
    }

    /// Drops keys whose limits are back to full, so memory follows recent traffic only.
    pub fn forget_idle(&self) {
        self.by_address.retain_recent();
        self.by_address.shrink_to_fit();
        self.by_email.retain_recent();
        self.by_email.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn the_sixth_attempt_on_one_email_within_a_minute_waits() {
        let limiter = SignInLimiter::default();
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        for _ in 0..5 {
            assert!(limiter.check(ip, "a@x.com").is_ok());
        }
        let wait = limiter.check(ip, " A@X.com ").unwrap_err();
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(60));
        assert!(limiter.check(ip, "b@x.com").is_ok());
    }

    #[test]
    fn one_address_is_limited_across_emails() {
        let limiter = SignInLimiter::default();
        let ip = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
        for i in 0..10 {
            assert!(limiter.check(ip, &format!("{i}@x.com")).is_ok());
        }
        assert!(limiter.check(ip, "new@x.com").is_err());
    }
}
