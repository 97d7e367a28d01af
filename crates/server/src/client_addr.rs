//! Who the client is: the peer's address, or behind a trusted proxy the address it forwarded in
//! `X-Forwarded-For`. Every per-client limit and the request log key on [`ClientAddr`].

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::app::AppState;
use crate::error::ApiError;

/// `--trusted-proxy`: the peers whose `X-Forwarded-For` is believed.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<IpNet>);

impl TrustedProxies {
    pub fn new(ranges: Vec<IpNet>) -> Self {
        TrustedProxies(ranges)
    }

    fn trusts(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        self.0.iter().any(|range| range.contains(&address))
    }

    /// The client of a request from `peer` with these headers. From a trusted peer, the
    /// right-most `X-Forwarded-For` entry that is not itself a trusted proxy (entries to its left
    /// were written by the client and prove nothing); from any other peer, the peer.
    pub fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return peer;
        }
        let mut client = peer;
        let forwarded = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect::<Vec<_>>();
        for entry in forwarded.into_iter().rev() {
            // A garbled entry ends the walk: what is left of it cannot be trusted.
            let Some(address) = parse_forwarded(entry) else { break };
            client = address;
            if !self.trusts(address) {
                break;
            }
        }
        client
    }
}

/// An `X-Forwarded-For` entry: an address, with a port or in brackets as some proxies write it.
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
        .map(canonical)
}

/// An IPv4 peer on a dual-stack socket arrives as `::ffff:a.b.c.d`; limits and ranges see a.b.c.d.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        v4 => v4,
    }
}

/// The client's address for this request (see the module's doc).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub IpAddr);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| peer.ip())
            .ok_or_else(|| ApiError::Internal("the server runs without the peer's address".to_owned()))?;
        Ok(ClientAddr(state.trusted_proxies.client(peer, &parts.headers)))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn proxies(ranges: &[&str]) -> TrustedProxies {
        TrustedProxies::new(ranges.iter().map(|r| r.parse().unwrap()).collect())
    }

    fn forwarded(values: &[&'static str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", HeaderValue::from_static(v));
        }
        headers
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let trusted = proxies(&["10.0.0.0/8"]);
        assert_eq!(trusted.client(ip("203.0.113.9"), &forwarded(&["198.51.100.1"])), ip("203.0.113.9"));
        assert_eq!(proxies(&[]).client(ip("10.0.0.1"), &forwarded(&["198.51.100.1"])), ip("10.0.0.1"));
    }

    #[test]
    fn a_trusted_proxy_names_the_client_right_to_left() {
        let trusted = proxies(&["10.0.0.0/8", "::1/128"]);
        // The client wrote a fake entry; the proxy appended what it saw.
        let headers = forwarded(&["1.1.1.1, 198.51.100.7", "10.0.0.3"]);
        assert_eq!(trusted.client(ip("10.0.0.2"), &headers), ip("198.51.100.7"));
        assert_eq!(trusted.client(ip("::1"), &forwarded(&["[2001:db8::5]"])), ip("2001:db8::5"));
        assert_eq!(trusted.client(ip("10.0.0.2"), &forwarded(&["198.51.100.7:4711"])), ip("198.51.100.7"));
        // No header, or garbage: the proxy itself.
        assert_eq!(trusted.client(ip("10.0.0.2"), &HeaderMap::new()), ip("10.0.0.2"));
        assert_eq!(trusted.client(ip("10.0.0.2"), &forwarded(&["unknown"])), ip("10.0.0.2"));
        assert_eq!(trusted.client(ip("::ffff:10.0.0.2"), &forwarded(&["198.51.100.7"])), ip("198.51.100.7"));
    }
}
