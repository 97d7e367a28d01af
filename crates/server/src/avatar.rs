//! Lead avatars fetched by the server, so operators' browsers load pictures only from our origin
//! (a lead-controlled `$avatar` URL would otherwise learn every operator's IP address, and the
//! console's Content-Security-Policy allows images from nowhere else).
//!
//! The fetch is built against server-side request forgery: http(s) only; every address a name
//! resolves to must be public (no loopback, private, link-local, metadata, multicast or reserved
//! ranges, also when written as an IP literal or reached by a redirect), and the connection goes
//! to the address that was checked (no second DNS answer); at most three redirects, each checked
//! again; five seconds; 2 MB; only PNG, JPEG, GIF, WebP or AVIF, recognised by their first bytes
//! and served with our own content type. Pictures and failures are kept in memory for a while so
//! a list of 50 leads does not fetch 50 pictures on every load.

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use leadcard_core::locale::{Message, k};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::redirect;
use url::{Host, Url};

/// Largest picture fetched; a larger answer is dropped as it arrives.
pub const MAX_BYTES: usize = 2 * 1024 * 1024;
/// The whole fetch, redirects included.
const TIMEOUT: Duration = Duration::from_secs(5);
const MAX_REDIRECTS: usize = 3;
/// How long a fetched picture is served from memory.
const KEEP_PICTURE: Duration = Duration::from_secs(3_600);
/// How long a failed fetch is not tried again.
const KEEP_FAILURE: Duration = Duration::from_secs(300);
/// Memory for kept pictures; the oldest go first.
const CACHE_BYTES: usize = 32 * 1024 * 1024;

/// A picture ready to serve.
#[derive(Debug, Clone)]
pub struct Picture {
    pub content_type: &'static str,
    pub bytes: Bytes,
}

/// Why a lead's avatar cannot be shown (the API's message says it to the operator).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvatarError {
    #[error("The avatar is not an http or https address.")]
    NotHttp,
    #[error("The avatar's address is not on the public internet, so the server does not fetch it.")]
    NotPublic,
    #[error("The avatar could not be fetched: {0}.")]
    Unreachable(String),
    #[error("The avatar's server answered {0}.")]
    Status(u16),
    #[error("The avatar is larger than 2 MB.")]
    TooLarge,
    #[error("The avatar is not a PNG, JPEG, GIF, WebP or AVIF picture.")]
    NotAPicture,
}

impl AvatarError {
    /// What the API's answer says.
    pub fn message(&self) -> Message {
        match self {
            AvatarError::NotHttp => k::ERROR_AVATAR_NOT_HTTP.into(),
            AvatarError::NotPublic => k::ERROR_AVATAR_PRIVATE.into(),
            AvatarError::Unreachable(reason) => Message::new(k::ERROR_AVATAR_FETCH).arg("reason", reason),
            AvatarError::Status(status) => Message::new(k::ERROR_AVATAR_STATUS).arg("status", status),
            AvatarError::TooLarge => k::ERROR_AVATAR_TOO_LARGE.into(),
            AvatarError::NotAPicture => k::ERROR_AVATAR_NOT_PICTURE.into(),
        }
    }
}

/// Whether the server may connect to this address: public unicast only, unless an operator of the
/// server allowed it (`--avatar-allow-ip`, for an intranet's picture server or the tests).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => {
            // Addresses that carry an IPv4 address are as public as that address.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they carry.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6] == [0, 0, 0, 0] {
                return is_public_v4(Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8));
            }
            if s[0] == 0x2002 {
                return is_public_v4(Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8));
            }
            !(v6.is_unspecified()
                || v6.is_loopback()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local()
                || s[0] == 0x2001 && s[1] == 0x0db8 // documentation
                || s[0] == 0x0100 && s[1..4] == [0, 0, 0] // discard-only 100::/64
                || s[0..5] == [0, 0, 0, 0, 0] && s[5] == 0) // IPv4-compatible ::/96 (deprecated)
        }
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16: cloud metadata lives here
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0 // "this network"
        || a == 100 && (64..128).contains(&b) // shared address space (CGNAT)
        || a == 192 && b == 0 && ip.octets()[2] == 0 // IETF protocol assignments
        || a == 198 && (18..20).contains(&b) // benchmarking
        || a >= 240) // reserved
}

/// Which addresses the fetcher may reach.
#[derive(Debug, Clone, Default)]
struct Reach {
    /// Allowed although not public.
    allowed: Arc<Vec<IpAddr>>,
}

impl Reach {
    fn permits(&self, ip: IpAddr) -> bool {
        is_public(ip) || self.allowed.contains(&ip)
    }

    /// Checks what can be checked before any lookup: the scheme and an IP-literal host.
    fn check_url(&self, url: &Url) -> Result<(), AvatarError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(AvatarError::NotHttp);
        }
        match url.host() {
            None => Err(AvatarError::NotHttp),
            Some(Host::Ipv4(ip)) if !self.permits(IpAddr::V4(ip)) => Err(AvatarError::NotPublic),
            Some(Host::Ipv6(ip)) if !self.permits(IpAddr::V6(ip)) => Err(AvatarError::NotPublic),
            Some(_) => Ok(()),
        }
    }
}

/// The resolver the HTTP client connects through: the system's answer, without the addresses
/// the fetcher may not reach. The client connects to what this returns, so a name cannot
/// answer a public address to the check and a private one to the connection.
impl Resolve for Reach {
    fn resolve(&self, name: Name) -> Resolving {
        let reach = self.clone();
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let permitted: Vec<SocketAddr> = found.into_iter().filter(|a| reach.permits(a.ip())).collect();
            if permitted.is_empty() {
                return Err(Box::new(NotPublicName) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(permitted.into_iter()) as Addrs)
        })
    }
}

#[derive(Debug, thiserror::Error)]
#[error("the name resolves to no public address")]
struct NotPublicName;

/// The recognised picture formats, by their first bytes.
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" && (&bytes[8..12] == b"avif" || &bytes[8..12] == b"avis") {
        Some("image/avif")
    } else {
        None
    }
}

struct Kept {
    at: Instant,
    outcome: Result<Picture, AvatarError>,
}

#[derive(Default)]
struct Cache {
    entries: HashMap<String, Kept>,
    /// Insertion order, for dropping the oldest when over [`CACHE_BYTES`].
    order: VecDeque<String>,
    bytes: usize,
}

impl Cache {
    fn get(&self, url: &str, now: Instant) -> Option<Result<Picture, AvatarError>> {
        let kept = self.entries.get(url)?;
        let keep = if kept.outcome.is_ok() { KEEP_PICTURE } else { KEEP_FAILURE };
        (now.duration_since(kept.at) < keep).then(|| kept.outcome.clone())
    }

    fn put(&mut self, url: String, outcome: Result<Picture, AvatarError>, now: Instant) {
        if let Some(old) = self.entries.remove(&url) {
            self.bytes -= old.outcome.map_or(0, |p| p.bytes.len());
            self.order.retain(|u| u != &url);
        }
        self.bytes += outcome.as_ref().map_or(0, |p| p.bytes.len());
        self.entries.insert(url.clone(), Kept { at: now, outcome });
        self.order.push_back(url);
        while self.bytes > CACHE_BYTES || self.order.len() > 10_000 {
            let Some(oldest) = self.order.pop_front() else { break };
            if let Some(old) = self.entries.remove(&oldest) {
                self.bytes -= old.outcome.map_or(0, |p| p.bytes.len());
            }
        }
    }
}

/// Makes ring the process's TLS provider for HTTP clients that bring none (reqwest is built
/// with `rustls-no-provider` here, for every client in the process: the tests' and the bench's
/// too, which call this before building one). The first call wins; later ones change nothing.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Fetches and keeps lead avatars. One per server.
pub struct AvatarFetcher {
    client: reqwest::Client,
    reach: Reach,
    cache: Mutex<Cache>,
}

impl AvatarFetcher {
    /// `allowed`: addresses the fetcher may reach although they are not public.
    pub fn new(allowed: Vec<IpAddr>) -> AvatarFetcher {
        install_tls_provider();
        let reach = Reach { allowed: Arc::new(allowed) };
        let policy_reach = reach.clone();
        let policy = redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error("too many redirects")
            } else if let Err(refused) = policy_reach.check_url(attempt.url()) {
                attempt.error(refused)
            } else {
                attempt.follow()
            }
        });
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let tls = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .expect("ring supports the default TLS versions")
            .with_root_certificates(roots)
            .with_no_client_auth();
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .dns_resolver(reach.clone())
            .redirect(policy)
            .no_proxy()
            .timeout(TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .user_agent("leadcard avatar fetcher")
            .build()
            .expect("the avatar client's settings are valid");
        AvatarFetcher { client, reach, cache: Mutex::default() }
    }

    /// The picture at `url`, from memory when fetched recently.
    pub async fn picture(&self, url: &str) -> Result<Picture, AvatarError> {
        if let Some(kept) = self.cache.lock().expect("avatar cache").get(url, Instant::now()) {
            return kept;
        }
        let outcome = self.fetch(url).await;
        self.cache.lock().expect("avatar cache").put(url.to_owned(), outcome.clone(), Instant::now());
        outcome
    }

    async fn fetch(&self, url: &str) -> Result<Picture, AvatarError> {
        let url = Url::parse(url.trim()).map_err(|_| AvatarError::NotHttp)?;
        self.reach.check_url(&url)?;
        let mut response = self.client.get(url).send().await.map_err(describe)?;
        if !response.status().is_success() {
            return Err(AvatarError::Status(response.status().as_u16()));
        }
        if response.content_length().is_some_and(|n| n > MAX_BYTES as u64) {
            return Err(AvatarError::TooLarge);
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(describe)? {
            if body.len() + chunk.len() > MAX_BYTES {
                return Err(AvatarError::TooLarge);
            }
            body.extend_from_slice(&chunk);
        }
        let content_type = sniff(&body).ok_or(AvatarError::NotAPicture)?;
        Ok(Picture { content_type, bytes: Bytes::from(body) })
    }
}

/// A fetch error in words, with the refusals of the resolver and the redirect policy named.
fn describe(error: reqwest::Error) -> AvatarError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&error);
    while let Some(e) = source {
        if e.is::<NotPublicName>() {
            return AvatarError::NotPublic;
        }
        if let Some(refused) = e.downcast_ref::<AvatarError>() {
            return refused.clone();
        }
        source = e.source();
    }
    if error.is_timeout() {
        AvatarError::Unreachable("it took longer than 5 seconds".into())
    } else if error.is_redirect() {
        AvatarError::Unreachable("too many redirects".into())
    } else {
        AvatarError::Unreachable("its server did not answer".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn only_public_addresses_are_reached() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fc00::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "64:ff9b::a00:1",
            "2002:c0a8:101::1",
            "2001:db8::1",
            "::127.0.0.1",
        ] {
            assert!(!is_public(ip(private)), "{private} must be refused");
        }
        for public in ["93.184.216.34", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"] {
            assert!(is_public(ip(public)), "{public} is public");
        }
    }

    #[test]
    fn urls_are_checked_before_any_lookup() {
        let reach = Reach::default();
        let check = |u: &str| reach.check_url(&Url::parse(u).unwrap());
        assert_eq!(check("file:///etc/passwd"), Err(AvatarError::NotHttp));
        assert_eq!(check("ftp://example.org/a.png"), Err(AvatarError::NotHttp));
        assert_eq!(check("http://127.0.0.1:8080/a.png"), Err(AvatarError::NotPublic));
        assert_eq!(check("http://[::1]/a.png"), Err(AvatarError::NotPublic));
        // The URL parser reads these as 127.0.0.1 too.
        assert_eq!(check("http://2130706433/a.png"), Err(AvatarError::NotPublic));
        assert_eq!(check("http://0x7f.1/a.png"), Err(AvatarError::NotPublic));
        assert_eq!(check("https://example.org/a.png"), Ok(()));
        let allowed = Reach { allowed: Arc::new(vec![ip("127.0.0.1")]) };
        assert_eq!(allowed.check_url(&Url::parse("http://127.0.0.1:9/a.png").unwrap()), Ok(()));
    }

    #[test]
    fn pictures_are_recognised_by_their_first_bytes() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(sniff(&[0xff, 0xd8, 0xff, 0xe0]), Some("image/jpeg"));
        assert_eq!(sniff(b"GIF89a..."), Some("image/gif"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"\0\0\0\x1cftypavif"), Some("image/avif"));
        assert_eq!(sniff(b"<svg onload=alert(1)>"), None);
        assert_eq!(sniff(b"<html>"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn the_cache_forgets_the_oldest_beyond_its_memory() {
        let mut cache = Cache::default();
        let now = Instant::now();
        let big = Picture { content_type: "image/png", bytes: Bytes::from(vec![0; CACHE_BYTES / 2 + 1]) };
        cache.put("a".into(), Ok(big.clone()), now);
        cache.put("b".into(), Ok(big), now);
        assert!(cache.get("a", now).is_none());
        assert!(cache.get("b", now).is_some());
        cache.put("c".into(), Err(AvatarError::NotPublic), now);
        assert_eq!(cache.get("c", now).map(|o| o.map(|_| ())), Some(Err(AvatarError::NotPublic)));
        assert!(cache.get("c", now + KEEP_FAILURE).is_none());
        assert!(cache.get("b", now + KEEP_FAILURE).is_some());
    }
}
