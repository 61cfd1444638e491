//! The host's own networks (for the `localnets` word of `forward_allow`) and its resolvers.

use std::net::{IpAddr, SocketAddr};

use nix::ifaddrs::getifaddrs;

use crate::config::acl::Network;
use crate::config::HostFacts;

/// Networks of the host's interfaces (address and prefix of each).
pub fn host_networks() -> Vec<Network> {
    let Ok(addrs) = getifaddrs() else {
        return Vec::new();
    };
    addrs
        .filter_map(|ifa| {
            let addr = ifa.address?;
            let mask = ifa.netmask?;
            if let (Some(a), Some(m)) = (addr.as_sockaddr_in(), mask.as_sockaddr_in()) {
                return Some(Network {
                    addr: IpAddr::V4(a.ip()),
                    // At most 32 (IPv4) or 128 (IPv6) bits are set.
                    prefix: u8::try_from(m.ip().to_bits().count_ones()).unwrap_or(u8::MAX),
                });
            }
            if let (Some(a), Some(m)) = (addr.as_sockaddr_in6(), mask.as_sockaddr_in6()) {
                return Some(Network {
                    addr: IpAddr::V6(a.ip()),
                    // At most 32 (IPv4) or 128 (IPv6) bits are set.
                    prefix: u8::try_from(m.ip().to_bits().count_ones()).unwrap_or(u8::MAX),
                });
            }
            None
        })
        .collect()
}

/// What config loading needs to know about this host; `own_sockets` are the addresses skydns
/// serves on (empty before it holds its sockets).
pub fn host_facts(own_sockets: &[SocketAddr]) -> HostFacts {
    HostFacts {
        resolv_conf: std::fs::read_to_string("/etc/resolv.conf").ok(),
        networks: host_networks(),
        own_sockets: own_sockets.to_vec(),
    }
}
