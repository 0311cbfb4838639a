//! Who is on the other end of the connection: the client IP (`acs:SourceIp`) and whether the
//! request arrived over TLS (`acs:SecureTransport`). rambridge itself serves plain HTTP; behind a
//! reverse proxy listed in `trusted_proxies`, the proxy's `X-Forwarded-For` (rightmost address
//! that is not itself a trusted proxy) and `X-Forwarded-Proto` are believed, and nobody else's.

use std::net::{IpAddr, SocketAddr};

use axum::extract::ConnectInfo;
use axum::http::request::Parts;
use ipnet::IpNet;

/// The client as policy conditions see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientInfo {
    /// Client address, when known.
    pub ip: Option<IpAddr>,
    /// Whether the client's connection used TLS.
    pub secure: bool,
}

/// Derives the client info of a request.
pub fn client_info(parts: &Parts, trusted: &[IpNet]) -> ClientInfo {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let Some(peer) = peer else {
        return ClientInfo::default();
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|n| n.contains(ip));
    if !is_trusted(&peer) {
        return ClientInfo {
            ip: Some(peer),
            secure: false,
        };
    }
    let forwarded: Vec<IpAddr> = parts
        .headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let ip = forwarded
        .iter()
        .rev()
        .find(|ip| !is_trusted(ip))
        .copied()
        .or_else(|| forwarded.first().copied())
        .unwrap_or(peer);
    let secure = parts
        .headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    ClientInfo {
        ip: Some(ip),
        secure,
    }
}

#[cfg(test)]
mod tests {
    use axum::http::Request;

    use super::*;

    fn parts(peer: &str, xff: Option<&str>, proto: Option<&str>) -> Parts {
        let mut b = Request::get("/");
        if let Some(x) = xff {
            b = b.header("x-forwarded-for", x);
        }
        if let Some(p) = proto {
            b = b.header("x-forwarded-proto", p);
        }
        let (mut parts, _) = b.body(()).unwrap().into_parts();
        parts
            .extensions
            .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        parts
    }

    #[test]
    fn untrusted_peers_are_taken_at_their_word_only_for_themselves() {
        let p = parts("203.0.113.9:5000", Some("10.0.0.1"), Some("https"));
        assert_eq!(
            client_info(&p, &[]),
            ClientInfo {
                ip: Some("203.0.113.9".parse().unwrap()),
                secure: false
            }
        );
    }

    #[test]
    fn trusted_proxy_headers_are_used() {
        let trusted: Vec<IpNet> = vec![
            "127.0.0.1/32".parse().unwrap(),
            "10.0.0.0/8".parse().unwrap(),
        ];
        let p = parts(
            "127.0.0.1:5000",
            Some("198.51.100.7, 10.1.1.1"),
            Some("https"),
        );
        assert_eq!(
            client_info(&p, &trusted),
            ClientInfo {
                ip: Some("198.51.100.7".parse().unwrap()),
                secure: true
            }
        );
        // A spoofed left-most entry does not win over the proxy-appended one.
        let p = parts("127.0.0.1:5000", Some("1.2.3.4, 198.51.100.7"), None);
        assert_eq!(
            client_info(&p, &trusted).ip,
            Some("198.51.100.7".parse().unwrap())
        );
    }

    #[test]
    fn unknown_peer_is_none() {
        let (parts, _) = Request::get("/").body(()).unwrap().into_parts();
        assert_eq!(client_info(&parts, &[]), ClientInfo::default());
    }
}
