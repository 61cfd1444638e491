//! What the configuration needs to know about the host, passed in by the caller (the daemon
//! reads it from the system; tests make it up): `/etc/resolv.conf` for the default
//! nameservers, the interface networks for `localnets`, and the sockets skydns serves on, so
//! the default nameservers never point back at skydns itself.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::acl::Network;

/// Facts about the host, read once per load.
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    /// The text of `/etc/resolv.conf`, if it could be read.
    pub resolv_conf: Option<String>,
    /// The networks of the host's interfaces.
    pub networks: Vec<Network>,
    /// The addresses of the sockets skydns serves on, once it holds them (empty before).
    pub own_sockets: Vec<SocketAddr>,
}

/// The addresses of the packaged `skydns.socket`: what skydns serves on under systemd before
/// it knows the sockets it was given.
const PACKAGED_SOCKETS: [SocketAddr; 2] = [
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53),
    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 53),
];

impl HostFacts {
    /// The nameservers of resolv.conf that are not skydns itself. Once skydns is the host's
    /// resolver, resolv.conf names it: never forward to an address skydns serves on (the
    /// sockets it holds; before it holds them, the configured addresses, or under systemd the
    /// packaged socket's).
    pub fn default_nameservers(&self, systemd: bool, addrs: &[SocketAddr]) -> Vec<SocketAddr> {
        let ours: &[SocketAddr] = if !self.own_sockets.is_empty() {
            &self.own_sockets
        } else if systemd {
            &PACKAGED_SOCKETS
        } else {
            addrs
        };
        self.resolv_conf
            .as_deref()
            .map(resolv_conf_nameservers)
            .unwrap_or_default()
            .into_iter()
            .filter(|ns| !self.is_own(ns, ours))
            .collect()
    }

    /// True when a query to `ns` would reach skydns itself: `ns` is one of `ours`, or one of
    /// `ours` listens on every address of the host at that port (`0.0.0.0` for IPv4, `[::]`
    /// for both families).
    fn is_own(&self, ns: &SocketAddr, ours: &[SocketAddr]) -> bool {
        let local = |ip: IpAddr| ip.is_loopback() || self.networks.iter().any(|n| n.addr == ip);
        ours.iter().any(|own| {
            let wildcard = own.ip().is_unspecified() && (own.is_ipv6() || ns.is_ipv4());
            own.port() == ns.port() && (own.ip() == ns.ip() || (wildcard && local(ns.ip())))
        })
    }
}

/// The `nameserver` lines of resolv.conf, port 53.
pub fn resolv_conf_nameservers(text: &str) -> Vec<SocketAddr> {
    text.lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            (words.next() == Some("nameserver"))
                .then(|| words.next())
                .flatten()
                .and_then(|ip| ip.split('%').next()?.parse::<IpAddr>().ok())
                .map(|ip| SocketAddr::new(ip, 53))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn resolv_conf_lines() {
        assert_eq!(
            resolv_conf_nameservers(
                "# c\nnameserver 127.0.0.53\nnameserver fe80::1%eth0\nsearch x\n"
            ),
            vec![addr("127.0.0.53:53"), addr("[fe80::1]:53")]
        );
    }

    #[test]
    fn resolv_conf_never_points_back_at_us() {
        let host = HostFacts {
            resolv_conf: Some(
                "nameserver 127.0.0.1\nnameserver ::1\nnameserver 127.0.0.53\nnameserver 192.0.2.53\n"
                    .into(),
            ),
            ..HostFacts::default()
        };
        let configured = [addr("127.0.0.1:53")];
        assert_eq!(
            host.default_nameservers(false, &configured),
            vec![
                addr("[::1]:53"),
                addr("127.0.0.53:53"),
                addr("192.0.2.53:53")
            ]
        );
        // Under systemd: the packaged socket's addresses are ours, systemd-resolved is not.
        assert_eq!(
            host.default_nameservers(true, &configured),
            vec![addr("127.0.0.53:53"), addr("192.0.2.53:53")]
        );
        // Once the sockets are known: a wildcard socket covers loopback and the host's own
        // addresses on its port.
        let held = HostFacts {
            own_sockets: vec![addr("0.0.0.0:53")],
            networks: vec![Network {
                addr: "192.0.2.53".parse().unwrap(),
                prefix: 24,
            }],
            ..host
        };
        assert_eq!(
            held.default_nameservers(true, &configured),
            vec![addr("[::1]:53")]
        );
    }
}
