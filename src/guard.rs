//! Refuses requests that would let outside input reach inside the network
//! (SSRF): loopback, private, link-local, carrier-grade NAT and cloud
//! metadata addresses. One implementation for every outgoing request: the
//! webhook sender (a digest configuration names the URL) and the collector
//! (a feed names item links and redirects).
//!
//! The check runs on the addresses a name resolves to (a DNS resolver plugged
//! into the HTTP client, so the address checked is the address connected to)
//! and on every redirect hop. What may pass is an [`Allowance`]: the webhook
//! sender's `allow_private_targets` lets every loopback, private and
//! link-local receiver through; the collector's `allow_private_hosts` lets
//! through exactly the host names and networks it lists. Metadata endpoints
//! and the unspecified address (which reaches the local host) are never
//! allowed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use ipnet::IpNet;

/// The setting the webhook sender's refusals name.
pub const WEBHOOK_SETTING: &str = "[deliver.webhook] allow_private_targets = true";
/// The setting the collector's refusals name.
pub const COLLECT_SETTING: &str = "[collect] allow_private_hosts";

/// Who asks: decides the words of a refusal and the setting it names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Webhook,
    Collect,
}

impl Purpose {
    fn noun(self) -> &'static str {
        match self {
            Purpose::Webhook => "webhook target",
            Purpose::Collect => "host",
        }
    }

    fn how_to_allow(self, host: &str) -> String {
        match self {
            Purpose::Webhook => format!("set {WEBHOOK_SETTING} in termwatch.toml to allow it"),
            Purpose::Collect => format!(
                "to fetch it, list it in {COLLECT_SETTING} in termwatch.toml (host names or CIDR networks), e.g. allow_private_hosts = [\"{host}\"]"
            ),
        }
    }

    fn never(self) -> &'static str {
        match self {
            Purpose::Webhook => "is never allowed as a webhook receiver",
            Purpose::Collect => "termwatch never fetches",
        }
    }

    fn schemes(self) -> &'static str {
        match self {
            Purpose::Webhook => "can receive webhooks",
            Purpose::Collect => "are fetched",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error(
        "refusing {} {host} ({addr}): it is a {kind} address; {}",
        .purpose.noun(),
        .purpose.how_to_allow(host)
    )]
    Private {
        purpose: Purpose,
        host: String,
        addr: IpAddr,
        kind: &'static str,
    },
    #[error(
        "refusing {} {host} ({addr}): it is a {kind} address, which {}",
        .purpose.noun(),
        .purpose.never()
    )]
    Never {
        purpose: Purpose,
        host: String,
        addr: IpAddr,
        kind: &'static str,
    },
    #[error("refusing {} {url}: only http and https URLs {}", .purpose.noun(), .purpose.schemes())]
    Scheme { purpose: Purpose, url: String },
    #[error("{} {host} resolves to no address; check the host name", .purpose.noun())]
    NoAddress { purpose: Purpose, host: String },
}

/// What kind of address this is, if it is not a public one.
#[derive(Debug, PartialEq, Eq)]
enum Class {
    Public,
    Private(&'static str),
    Never(&'static str),
}

fn classify_v4(ip: Ipv4Addr) -> Class {
    let o = ip.octets();
    // Cloud metadata: AWS/GCP/Azure/OpenStack (169.254.169.254), Azure's
    // wire server, Alibaba's, Oracle's (inside 192.0.0.0/24).
    if ip == Ipv4Addr::new(169, 254, 169, 254)
        || ip == Ipv4Addr::new(168, 63, 129, 16)
        || ip == Ipv4Addr::new(100, 100, 100, 200)
        || ip == Ipv4Addr::new(192, 0, 0, 192)
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
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        // 192.0.0.0/24: IETF protocol assignments (DS-Lite, NAT64
        // discovery), answered by the local network, never a public site.
        Class::Private("IETF protocol assignment")
    } else if o[0] == 198 && (o[1] & 0xfe) == 18 {
        // 198.18.0.0/15: benchmarking networks, used inside labs and
        // some cloud internals.
        Class::Private("benchmarking")
    } else if ip.is_broadcast() || ip.is_multicast() || o[0] >= 240 {
        Class::Never("broadcast, multicast or reserved")
    } else {
        Class::Public
    }
}

/// The IPv4 address in the last 32 bits of `v6`.
fn low_v4(v6: Ipv6Addr) -> Ipv4Addr {
    let [_, _, _, _, _, _, hi, lo] = v6.segments();
    Ipv4Addr::from(((hi as u32) << 16) | lo as u32)
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
            } else if seg[..6] == [0; 6] {
                // ::a.b.c.d, IPv4-compatible: deprecated, never a public
                // site, and some stacks still route it to the IPv4 address.
                Class::Never("IPv4-compatible (deprecated)")
            } else if (seg[0] & 0xfe00) == 0xfc00 {
                Class::Private("private (unique local)")
            } else if (seg[0] & 0xffc0) == 0xfe80 {
                Class::Private("link-local")
            } else if v6.is_multicast() {
                Class::Never("multicast")
            } else if seg[0] == 0x0064 && seg[1] == 0xff9b {
                // NAT64 embeds an IPv4 address in the last 32 bits.
                classify_v4(low_v4(v6))
            } else if seg[0] == 0x2002 {
                // 6to4 embeds an IPv4 address in bits 16-47: a relay would
                // deliver to it, so it is as public as that address.
                classify_v4(Ipv4Addr::from(((seg[1] as u32) << 16) | seg[2] as u32))
            } else {
                Class::Public
            }
        }
    }
}

/// One entry of an allow list: a network (`10.0.0.0/8`, or one address)
/// or a host name (`feeds.intranet`), matched exactly.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Allowed {
    Net(IpNet),
    Host(String),
}

impl TryFrom<String> for Allowed {
    type Error = String;

    fn try_from(s: String) -> Result<Allowed, String> {
        let t = s.trim();
        if let Ok(net) = t.parse::<IpNet>() {
            return Ok(Allowed::Net(net.trunc()));
        }
        if let Ok(ip) = t.parse::<IpAddr>() {
            return Ok(Allowed::Net(IpNet::from(ip)));
        }
        let name = t.trim_end_matches('.').to_ascii_lowercase();
        let valid = !name.is_empty()
            && name.split('.').all(|l| {
                !l.is_empty()
                    && l.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            });
        if valid {
            Ok(Allowed::Host(name))
        } else {
            Err(format!(
                "{s:?} is neither a host name nor a CIDR network; write e.g. \"feeds.intranet\", \"10.0.0.0/8\" or \"127.0.0.1\" (no scheme, port or path)"
            ))
        }
    }
}

impl From<Allowed> for String {
    fn from(a: Allowed) -> String {
        match a {
            Allowed::Net(net) if net.prefix_len() == net.max_prefix_len() => net.addr().to_string(),
            Allowed::Net(net) => net.to_string(),
            Allowed::Host(h) => h,
        }
    }
}

/// Which non-public addresses may be reached.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Allowance {
    /// Every loopback, private and link-local address.
    pub any_private: bool,
    /// Only these networks and host names.
    pub listed: Vec<Allowed>,
}

impl Allowance {
    fn allows(&self, host: &str, addr: IpAddr) -> bool {
        if self.any_private {
            return true;
        }
        let host = host.trim_end_matches('.');
        self.listed.iter().any(|a| match a {
            Allowed::Net(net) => net.contains(&addr),
            Allowed::Host(h) => h.eq_ignore_ascii_case(host),
        })
    }
}

/// The guard: who asks and what may pass; cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Guard {
    purpose: Purpose,
    allow: Arc<Allowance>,
}

impl Guard {
    pub fn new(purpose: Purpose, allow: Allowance) -> Guard {
        Guard {
            purpose,
            allow: Arc::new(allow),
        }
    }

    /// The webhook sender's guard: `allow_private_targets` lets every
    /// private receiver through.
    pub fn webhook(allow_private_targets: bool) -> Guard {
        Guard::new(
            Purpose::Webhook,
            Allowance {
                any_private: allow_private_targets,
                listed: Vec::new(),
            },
        )
    }

    /// The collector's guard: only what `allow_private_hosts` lists.
    pub fn collect(allow_private_hosts: &[Allowed]) -> Guard {
        Guard::new(
            Purpose::Collect,
            Allowance {
                any_private: false,
                listed: allow_private_hosts.to_vec(),
            },
        )
    }

    /// Checks one address `host` resolved to.
    pub fn check_ip(&self, host: &str, addr: IpAddr) -> Result<(), Refusal> {
        let purpose = self.purpose;
        match classify(addr) {
            Class::Public => Ok(()),
            Class::Private(_) if self.allow.allows(host, addr) => Ok(()),
            Class::Private(kind) => Err(Refusal::Private {
                purpose,
                host: host.to_string(),
                addr,
                kind,
            }),
            Class::Never(kind) => Err(Refusal::Never {
                purpose,
                host: host.to_string(),
                addr,
                kind,
            }),
        }
    }

    /// Checks a URL before a request (and each redirect): the scheme, and
    /// the host when it is an IP literal. Names are checked when resolved.
    pub fn check_url(&self, url: &url::Url) -> Result<(), Refusal> {
        let scheme = || Refusal::Scheme {
            purpose: self.purpose,
            url: url.to_string(),
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(scheme());
        }
        match url.host() {
            Some(url::Host::Ipv4(ip)) => self.check_ip(&ip.to_string(), IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => self.check_ip(&ip.to_string(), IpAddr::V6(ip)),
            Some(url::Host::Domain(_)) => Ok(()),
            None => Err(scheme()),
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
            return Err(ResolveError::Refused(Refusal::NoAddress {
                purpose: self.purpose,
                host: host.to_string(),
            }));
        }
        for a in &addrs {
            self.check_ip(host, a.ip()).map_err(ResolveError::Refused)?;
        }
        Ok(addrs)
    }

    /// A client builder whose every connection goes through this guard.
    pub fn client_builder(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            // A proxy would resolve names itself, out of the guard's sight.
            .no_proxy()
            .dns_resolver(GuardedResolver(self.clone()))
    }

    /// Follows up to `max` redirects, each hop's URL checked first.
    pub fn redirect_policy(&self, max: usize) -> reqwest::redirect::Policy {
        let guard = self.clone();
        reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= max {
                attempt.error(format!("more than {max} redirects"))
            } else if let Err(refusal) = guard.check_url(attempt.url()) {
                attempt.error(refusal)
            } else {
                attempt.follow()
            }
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("{0}")]
    Refused(Refusal),
    #[error("{0}")]
    Lookup(String),
}

/// The refusal behind a failed request (at resolution or on a redirect), if
/// the guard is why it failed.
pub fn refusal_in(e: &reqwest::Error) -> Option<Refusal> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(r) = s.downcast_ref::<Refusal>() {
            return Some(r.clone());
        }
        if let Some(ResolveError::Refused(r)) = s.downcast_ref::<ResolveError>() {
            return Some(r.clone());
        }
        source = s.source();
    }
    None
}

/// The guard as reqwest's resolver, so the addresses connected to are the
/// addresses checked (no gap for DNS rebinding between check and connect).
#[derive(Debug, Clone)]
pub struct GuardedResolver(pub Guard);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
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
        Guard::webhook(allow)
            .check_ip("h", ip.parse().unwrap())
            .is_err()
    }

    fn allowed(list: &[&str]) -> Vec<Allowed> {
        list.iter()
            .map(|s| Allowed::try_from(s.to_string()).unwrap())
            .collect()
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
            "192.0.0.192",
        ] {
            assert!(refused(true, ip), "{ip} should always be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.215.14",
            "2606:4700::1",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.1.1",
            "198.20.0.1",
            "2002:5db8:d70e::1",
        ] {
            assert!(!refused(false, ip), "{ip} is public");
        }
    }

    #[test]
    fn ipv4_compatible_addresses_are_not_public() {
        for ip in [
            "::127.0.0.1",
            "::10.0.0.1",
            "::169.254.169.254",
            "::8.8.8.8",
        ] {
            assert!(refused(false, ip), "{ip} should be refused");
            assert!(refused(true, ip), "{ip} is never a receiver");
        }
    }

    #[test]
    fn six_to_four_wrapping_a_private_address_is_not_public() {
        // 2002:7f00:1:: wraps 127.0.0.1; 2002:a9fe:a9fe:: wraps the metadata address.
        assert!(refused(false, "2002:7f00:1::1"));
        assert!(refused(false, "2002:c0a8:101::"));
        assert!(refused(true, "2002:a9fe:a9fe::1"));
    }

    #[test]
    fn ietf_protocol_assignments_are_not_public() {
        for ip in ["192.0.0.1", "192.0.0.8", "192.0.0.170", "192.0.0.255"] {
            assert!(refused(false, ip), "{ip} should be refused");
        }
    }

    #[test]
    fn benchmarking_networks_are_not_public() {
        for ip in ["198.18.0.1", "198.19.255.254"] {
            assert!(refused(false, ip), "{ip} should be refused");
        }
    }

    #[test]
    fn refusal_names_the_setting() {
        let g = Guard::webhook(false);
        let err = g
            .check_url(&"http://10.0.0.5/hook".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("allow_private_targets = true"), "{err}");
        assert!(err.contains("private"), "{err}");
        let err = g
            .check_url(&"ftp://example.com/".parse().unwrap())
            .unwrap_err();
        assert!(matches!(err, Refusal::Scheme { .. }));
    }

    #[test]
    fn collect_refusal_says_how_to_allow_the_host() {
        let err = Guard::collect(&[])
            .check_url(&"http://127.0.0.2:8080/x".parse().unwrap())
            .unwrap_err()
            .to_string();
        assert!(err.contains("[collect] allow_private_hosts"), "{err}");
        assert!(
            err.contains("allow_private_hosts = [\"127.0.0.2\"]"),
            "{err}"
        );
        assert!(err.contains("loopback"), "{err}");
    }

    #[test]
    fn collect_allowance_covers_exactly_what_it_lists() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let g = Guard::collect(&allowed(&["127.0.0.1", "10.1.0.0/16", "Feeds.Intranet."]));
        assert!(g.check_ip("127.0.0.1", ip("127.0.0.1")).is_ok());
        assert!(g.check_ip("127.0.0.2", ip("127.0.0.2")).is_err());
        assert!(g.check_ip("10.1.9.9", ip("10.1.9.9")).is_ok());
        assert!(g.check_ip("10.2.0.1", ip("10.2.0.1")).is_err());
        assert!(g.check_ip("feeds.intranet", ip("192.168.5.5")).is_ok());
        assert!(g.check_ip("wiki.intranet", ip("192.168.5.5")).is_err());
        // Metadata stays refused, whatever is listed.
        let g = Guard::collect(&allowed(&["169.254.0.0/16"]));
        assert!(g.check_ip("x", ip("169.254.169.254")).is_err());
        assert!(g.check_ip("x", ip("169.254.1.1")).is_ok());
    }

    #[test]
    fn allow_entries_parse_and_explain_mistakes() {
        assert_eq!(
            allowed(&["10.1.2.3/8"]),
            vec![Allowed::Net("10.0.0.0/8".parse().unwrap())]
        );
        assert_eq!(
            String::from(allowed(&["127.0.0.1"])[0].clone()),
            "127.0.0.1"
        );
        let err = Allowed::try_from("http://10.0.0.1:80/".to_string()).unwrap_err();
        assert!(err.contains("no scheme, port or path"), "{err}");
        assert!(Allowed::try_from(String::new()).is_err());
    }

    #[tokio::test]
    async fn names_are_checked_after_resolution() {
        let err = Guard::webhook(false)
            .resolve("localhost")
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("loopback"), "{err}");
        assert!(err.contains("allow_private_targets"), "{err}");
        let by_name = Guard::collect(&allowed(&["localhost"]));
        assert!(by_name.resolve("localhost").await.is_ok());
    }
}
