//! Refuses webhook targets that would let a digest configuration reach inside
//! the network (SSRF): loopback, private, link-local, carrier-grade NAT and
//! cloud metadata addresses.
//!
//! The check runs on the addresses a name resolves to (a DNS resolver plugged
//! into the HTTP client, so the address checked is the address connected to)
//! and on every redirect hop. `allow_private_targets` lets loopback, private
//! and link-local receivers through, for a receiver on the same LAN; metadata
//! endpoints and the unspecified address (which reaches the local host) are
//! never webhook receivers and stay refused.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The setting a refusal names.
pub const ALLOW_SETTING: &str = "[deliver.webhook] allow_private_targets = true";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "refusing webhook target {host} ({addr}): it is a {kind} address; set {ALLOW_SETTING} in termwatch.toml to allow it"
    )]
    Private {
        host: String,
        addr: IpAddr,
        kind: &'static str,
    },
    #[error(
        "refusing webhook target {host} ({addr}): it is a {kind} address, which is never allowed as a webhook receiver"
    )]
    Never {
        host: String,
        addr: IpAddr,
        kind: &'static str,
    },
    #[error("refusing webhook target {0}: only http and https URLs can receive webhooks")]
    Scheme(String),
    #[error("webhook target {0} resolves to no address; check the host name")]
    NoAddress(String),
}

/// What kind of address this is, if it is not a public one.
enum Class {
    Public,
    Private(&'static str),
    Never(&'static str),
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    let o = ip.octets();
    // Cloud metadata: AWS/GCP/Azure/OpenStack (169.254.169.254), Azure's
    // wire server, Alibaba's.
    if ip == Ipv4Addr::new(169, 254, 169, 254)
        || ip == Ipv4Addr::new(168, 63, 129, 16)
        || ip == Ipv4Addr::new(100, 100, 100, 200)
    {
        return Class::Never("cloud metadata");
    }
    if o[0] == 0 {
        // 0.0.0.0 connects to the local host on Linux.
        return Class::Never("unspecified");
    }
    if ip.is_loopback() {
        Class::Private("loopback")
    } else if ip.is_private() {
        Class::Private("private")
    } else if ip.is_link_local() {
        Class::Private("link-local")
    } else if o[0] == 100 && (o[1] & 0xc0) == 64 {
        Class::Private("carrier-grade NAT")
    } else if ip.is_broadcast() || ip.is_multicast() || o[0] >= 240 {
        Class::Never("broadcast, multicast or reserved")
    } else {
        Class::Public
    }
}

fn classify(ip: IpAddr) -> Class {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            let seg = v6.segments();
            // AWS's IPv6 metadata endpoint (inside fc00::/7, checked first).
            if v6 == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
                Class::Never("cloud metadata")
            } else if v6.is_unspecified() {
                Class::Never("unspecified")
            } else if v6.is_loopback() {
                Class::Private("loopback")
            } else if (seg[0] & 0xfe00) == 0xfc00 {
                Class::Private("private (unique local)")
            } else if (seg[0] & 0xffc0) == 0xfe80 {
                Class::Private("link-local")
            } else if v6.is_multicast() {
                Class::Never("multicast")
            } else if seg[0] == 0x0064 && seg[1] == 0xff9b {
                // NAT64 embeds an IPv4 address in the last 32 bits.
                let [_, _, _, _, _, _, hi, lo] = seg;
                classify_v4(Ipv4Addr::from(((hi as u32) << 16) | lo as u32))
            } else {
                Class::Public
            }
        }
    }
}

/// The guard's one setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    pub allow_private_targets: bool,
}

impl Guard {
    /// Checks one address `host` resolved to.
    pub fn check_ip(&self, host: &str, addr: IpAddr) -> Result<(), Refusal> {
        match classify(addr) {
            Class::Public => Ok(()),
            Class::Private(_) if self.allow_private_targets => Ok(()),
            Class::Private(kind) => Err(Refusal::Private {
                host: host.to_string(),
                addr,
                kind,
            }),
            Class::Never(kind) => Err(Refusal::Never {
                host: host.to_string(),
                addr,
                kind,
            }),
        }
    }

    /// Checks a URL before a request (and each redirect): the scheme, and
    /// the host when it is an IP literal. Names are checked when resolved.
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refusal> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refusal::Scheme(url.to_string()));
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check_ip(&ip.to_string(), IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(&ip.to_string(), IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err(Refusal::Scheme(url.to_string())),
        }
    }

    /// Resolves a host name and checks every address: one bad address
    /// refuses the name, since the client may connect to any of them.
    pub async fn resolve(&self, host: &str) -> Result<Vec<SocketAddr>, ResolveError> {
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host, 0))
            .await
            .map_err(|e| ResolveError::Lookup(format!("could not resolve {host}: {e}")))?
            .collect();
        if addrs.is_empty() {
            return Err(ResolveError::Refused(Refusal::NoAddress(host.to_string())));
        }
        for a in &addrs {
            self.check_ip(host, a.ip()).map_err(ResolveError::Refused)?;
        }
        Ok(addrs)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0}")]
    Lookup(String),
}

/// The guard as reqwest's resolver, so the addresses connected to are the
/// addresses checked (no gap for DNS rebinding between check and connect).
#[derive(Debug, Clone)]
pub struct GuardedResolver(pub Guard);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs = guard.resolve(&host).await?;
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(allow: bool, ip: &str) -> bool {
        Guard {
            allow_private_targets: allow,
        }
        .check_ip("h", ip.parse().unwrap())
        .is_err()
    }

    #[test]
    fn private_ranges_refused_by_default() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.10.1",
            "100.64.0.1",
            "::1",
            "fd12::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(refused(false, ip), "{ip} should be refused");
            assert!(!refused(true, ip), "{ip} should be allowed by the setting");
        }
    }

    #[test]
    fn metadata_and_unspecified_refused_even_when_allowed() {
        for ip in [
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "fd00:ec2::254",
            "0.0.0.0",
            "::",
            "168.63.129.16",
        ] {
            assert!(refused(true, ip), "{ip} should always be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in ["93.184.215.14", "2606:4700::1", "172.32.0.1", "100.128.0.1"] {
            assert!(!refused(false, ip), "{ip} is public");
        }
    }

    #[test]
    fn refusal_names_the_setting() {
        let g = Guard {
            allow_private_targets: false,
        };
        let err = g
            .check_url(&"http://10.0.0.5/hook".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("allow_private_targets = true"), "{err}");
        assert!(err.contains("private"), "{err}");
        let err = g
            .check_url(&"ftp://example.com/".parse().unwrap())
            .unwrap_err();
        assert!(matches!(err, Refusal::Scheme(_)));
    }

    #[tokio::test]
    async fn names_are_checked_after_resolution() {
        let g = Guard {
            allow_private_targets: false,
        };
        let err = g.resolve("localhost").await.unwrap_err().to_string();
        assert!(err.contains("loopback"), "{err}");
        assert!(err.contains("allow_private_targets"), "{err}");
    }
}
