//! Recursion access control (RFC 5358): which clients may have foreign names forwarded.
//! Entries are networks in CIDR form or the words `localhost`, `localnets` and `any`.

use std::net::IpAddr;

use thiserror::Error;

/// An entry of the list that is neither a network nor one of the words; holds the entry.
#[derive(Debug, Error, PartialEq, Eq)]
#[error(
    "`{0}` is not a network (CIDR like 10.0.0.0/8 or ::1/128) nor one of localhost, localnets, any"
)]
pub struct AclError(pub String);

/// One allowed network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    /// The network's address (host bits may be set; they are ignored when matching).
    pub addr: IpAddr,
    /// Prefix length in bits: at most 32 for IPv4, 128 for IPv6.
    pub prefix: u8,
}

impl Network {
    /// True when `ip` (an IPv4-mapped IPv6 address counts as IPv4) is inside the network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The parsed list. `localnets` is resolved against the host's interface networks, which the
/// caller supplies (see `sys::interfaces`), so matching itself stays pure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// `any`: every client is allowed.
    pub any: bool,
    /// `localhost`: loopback clients are allowed.
    pub localhost: bool,
    /// `localnets`: clients in [`host_networks`](Self::host_networks) are allowed.
    pub localnets: bool,
    /// The networks listed in CIDR form.
    pub networks: Vec<Network>,
    /// The host's own networks, filled in when `localnets` is used.
    pub host_networks: Vec<Network>,
}

impl Default for Acl {
    fn default() -> Self {
        Acl {
            any: false,
            localhost: true,
            localnets: true,
            networks: Vec::new(),
            host_networks: Vec::new(),
        }
    }
}

impl Acl {
    /// Parses the words and networks of `forward_allow`.
    pub fn parse<S: AsRef<str>>(items: &[S]) -> Result<Self, AclError> {
        let mut acl = Acl {
            any: false,
            localhost: false,
            localnets: false,
            networks: Vec::new(),
            host_networks: Vec::new(),
        };
        for item in items {
            let item = item.as_ref().trim();
            match item {
                "any" => acl.any = true,
                "localhost" => acl.localhost = true,
                "localnets" => acl.localnets = true,
                _ => acl.networks.push(parse_network(item)?),
            }
        }
        Ok(acl)
    }

    /// May this client have names outside our zone forwarded?
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.any
            || (self.localhost && ip.is_loopback())
            || (self.localnets && self.host_networks.iter().any(|n| n.contains(ip)))
            || self.networks.iter().any(|n| n.contains(ip))
    }
}

fn parse_network(text: &str) -> Result<Network, AclError> {
    let err = || AclError(text.to_owned());
    let (addr, prefix) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr.parse().map_err(|_| err())?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p.parse::<u8>().ok().filter(|p| *p <= max).ok_or_else(err)?,
        None => max,
    };
    Ok(Network { addr, prefix })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn words_and_networks() {
        let acl = Acl::parse(&["127.0.0.1/32", "10.1.0.0/16", "2001:db8::/32"]).unwrap();
        assert!(acl.allows(ip("127.0.0.1")));
        assert!(!acl.allows(ip("127.0.0.2")));
        assert!(acl.allows(ip("10.1.200.3")));
        assert!(acl.allows(ip("::ffff:10.1.0.9")));
        assert!(acl.allows(ip("2001:db8::5")));
        assert!(!acl.allows(ip("10.2.0.1")));
        let any = Acl::parse(&["any"]).unwrap();
        assert!(any.allows(ip("192.0.2.1")));
        let default = Acl::default();
        assert!(default.allows(ip("127.0.0.2")) && default.allows(ip("::1")));
        assert!(!default.allows(ip("192.0.2.1")));
    }

    #[test]
    fn bad_entries_are_named() {
        assert_eq!(
            Acl::parse(&["10.0.0.0/33"]).unwrap_err(),
            AclError("10.0.0.0/33".into())
        );
        assert!(Acl::parse(&["everyone"]).is_err());
    }
}
