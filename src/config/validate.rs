//! Turning the merged settings into validated startup and runtime configs.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use hickory_proto::rr::Name;

use super::acl::{Acl, Network};
use super::layer::Layer;
use super::runtime::RuntimeConfig;
use super::startup::{EtcdConfig, LogTarget, StartupConfig, StoreConfig};
use super::ConfigError;

/// What validation needs from the host: the text of `/etc/resolv.conf` (for the default
/// nameservers), the host's own networks (for `localnets`) and the addresses of the sockets
/// skydns serves on, once it holds them (empty before).
#[derive(Debug, Clone, Default)]
pub struct HostFacts {
    pub resolv_conf: Option<String>,
    pub networks: Vec<Network>,
    pub own_sockets: Vec<SocketAddr>,
}

/// The addresses of the packaged `skydns.socket`: what skydns serves on under systemd before
/// it knows the sockets it was given.
const PACKAGED_SOCKETS: [SocketAddr; 2] = [
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 53),
    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 53),
];

/// True when a query to `ns` would reach skydns itself: `ns` is one of `ours`, or one of
/// `ours` listens on every address of the host at that port (`0.0.0.0` for IPv4, `[::]` for
/// both families).
fn is_own(ns: &SocketAddr, ours: &[SocketAddr], host: &HostFacts) -> bool {
    let local = |ip: IpAddr| ip.is_loopback() || host.networks.iter().any(|n| n.addr == ip);
    ours.iter().any(|own| {
        let wildcard = own.ip().is_unspecified() && (own.is_ipv6() || ns.is_ipv4());
        own.port() == ns.port() && (own.ip() == ns.ip() || (wildcard && local(ns.ip())))
    })
}

const SRC: &str = "settings";

fn err(key: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::new(SRC, key, problem)
}

/// Validates everything. Errors name the key.
pub fn validate(
    l: &Layer,
    host: &HostFacts,
) -> Result<(StartupConfig, RuntimeConfig), ConfigError> {
    let defaults = RuntimeConfig::default();
    let startup = startup(l)?;
    let domain = fqdn_name("domain", l.domain.as_deref().unwrap_or(&defaults.domain))?;
    let hostmaster = match l.hostmaster.as_deref().map(str::trim) {
        None | Some("") => format!("hostmaster.{domain}"),
        Some(h) => fqdn_name("hostmaster", &h.replace('@', "."))?,
    };
    let local = match l.local.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(name) => Some(fqdn_name("local", name)?),
    };
    let nameservers = match &l.nameservers {
        Some(list) => list
            .iter()
            .map(|s| host_port("nameservers", s, 53))
            .collect::<Result<Vec<_>, _>>()?,
        // Once skydns is the host's resolver, resolv.conf names skydns itself: never forward
        // to an address skydns serves on (the sockets it holds; before it holds them, the
        // configured addresses, or under systemd the packaged socket's).
        None => {
            let ours: &[SocketAddr] = if !host.own_sockets.is_empty() {
                &host.own_sockets
            } else if startup.systemd {
                &PACKAGED_SOCKETS
            } else {
                &startup.addrs
            };
            host.resolv_conf
                .as_deref()
                .map(resolv_conf_nameservers)
                .unwrap_or_default()
                .into_iter()
                .filter(|ns| !is_own(ns, ours, host))
                .collect()
        }
    };
    let read_timeout = l.read_timeout.unwrap_or(defaults.read_timeout);
    if read_timeout.is_zero() || read_timeout > Duration::from_secs(60) {
        return Err(err("read_timeout", "must be more than 0 and at most 60s"));
    }
    let mut forward_allow = match &l.forward_allow {
        Some(items) => Acl::parse(items).map_err(|e| err("forward_allow", e.to_string()))?,
        None => Acl::default(),
    };
    if forward_allow.localnets {
        forward_allow.host_networks = host.networks.clone();
    }
    let edns_payload = bounded("edns_payload", l.edns_payload, 1232, 512, 4096)?;
    let runtime = RuntimeConfig {
        domain,
        hostmaster,
        local,
        round_robin: l.round_robin.unwrap_or(defaults.round_robin),
        ns_rotate: l.ns_rotate.unwrap_or(defaults.ns_rotate),
        nameservers,
        no_rec: l.no_rec.unwrap_or(false),
        read_timeout,
        priority: bounded("priority", l.priority, 10, 1, 65_535)? as u16,
        ttl: bounded("ttl", l.ttl, 3600, 0, i32::MAX as u64)? as u32,
        min_ttl: bounded("min_ttl", l.min_ttl, 60, 0, i32::MAX as u64)? as u32,
        dnssec: l
            .dnssec
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| PathBuf::from(s.replace(' ', "+"))),
        scache: non_negative("scache", l.scache, 10_000)?,
        rcache: non_negative("rcache", l.rcache, 0)?,
        rcache_ttl: bounded("rcache_ttl", l.rcache_ttl, 60, 0, i32::MAX as u64)? as u32,
        ndots: bounded("ndots", l.ndots, 2, 0, 127)? as usize,
        stubzones: l.stubzones.unwrap_or(false),
        forward_allow,
        edns_payload: edns_payload as u16,
        query_log: l.query_log.unwrap_or(false),
    };
    Ok((startup, runtime))
}

fn startup(l: &Layer) -> Result<StartupConfig, ConfigError> {
    let addrs = l
        .dns_addr
        .clone()
        .unwrap_or_else(|| vec!["127.0.0.1:53".to_owned()])
        .iter()
        .map(|a| host_port("dns_addr", a, 53))
        .collect::<Result<Vec<_>, _>>()?;
    if addrs.is_empty() {
        return Err(err("dns_addr", "must name at least one address"));
    }
    let path_prefix = l
        .path_prefix
        .as_deref()
        .unwrap_or("skydns")
        .trim_matches('/')
        .to_owned();
    if path_prefix.is_empty() || path_prefix.contains("//") {
        return Err(err(
            "path_prefix",
            "must be a non-empty key segment like `skydns`",
        ));
    }
    let store = match l.file.as_deref().filter(|f| !f.is_empty()) {
        Some(file) => StoreConfig::File(PathBuf::from(file)),
        None => StoreConfig::Etcd(etcd(l)?),
    };
    let log = match l.log.as_deref().unwrap_or("auto") {
        "auto" => LogTarget::Auto,
        "syslog" => LogTarget::Syslog,
        "stderr" => LogTarget::Stderr,
        other => {
            return Err(err(
                "log",
                format!("must be auto, syslog or stderr, not `{other}`"),
            ))
        }
    };
    let log_level = l.log_level.clone().unwrap_or_else(|| "info".to_owned());
    if !["error", "warn", "info", "debug", "trace"].contains(&log_level.as_str()) {
        return Err(err(
            "log_level",
            format!("must be error, warn, info, debug or trace, not `{log_level}`"),
        ));
    }
    let tcp_idle_timeout = l.tcp_idle_timeout.unwrap_or(Duration::from_secs(10));
    if tcp_idle_timeout.is_zero() {
        return Err(err("tcp_idle_timeout", "must be more than 0"));
    }
    Ok(StartupConfig {
        addrs,
        systemd: l.systemd.unwrap_or(false),
        store,
        path_prefix,
        user: l.user.clone().filter(|u| !u.is_empty()),
        group: l.group.clone().filter(|g| !g.is_empty()),
        log,
        log_level,
        tcp_idle_timeout,
        tcp_max_connections: bounded("tcp_max_connections", l.tcp_max_connections, 150, 1, 65_535)?
            as usize,
    })
}

fn etcd(l: &Layer) -> Result<EtcdConfig, ConfigError> {
    let endpoints = l
        .machines
        .clone()
        .unwrap_or_else(|| vec!["http://127.0.0.1:2379".to_owned()]);
    if endpoints.is_empty() {
        return Err(err("machines", "must name at least one etcd endpoint"));
    }
    for e in &endpoints {
        if !(e.starts_with("http://") || e.starts_with("https://")) {
            return Err(err(
                "machines",
                format!("`{e}` is not an endpoint URL like http://127.0.0.1:2379"),
            ));
        }
    }
    let path = |v: &Option<String>| v.as_deref().filter(|s| !s.is_empty()).map(PathBuf::from);
    let (tls_pem, tls_key) = (path(&l.tls_pem), path(&l.tls_key));
    if tls_pem.is_some() != tls_key.is_some() {
        return Err(err(
            if tls_pem.is_some() {
                "tls_key"
            } else {
                "tls_pem"
            },
            "must be given together with the client certificate/key",
        ));
    }
    Ok(EtcdConfig {
        endpoints,
        ca_cert: path(&l.ca_cert),
        tls_pem,
        tls_key,
        username: l.username.clone().filter(|s| !s.is_empty()),
        password: l.password.clone(),
    })
}

fn non_negative(key: &str, v: Option<i64>, default: usize) -> Result<usize, ConfigError> {
    match v {
        None => Ok(default),
        Some(n) => usize::try_from(n).map_err(|_| err(key, format!("must be 0 or more, not {n}"))),
    }
}

fn bounded(
    key: &str,
    v: Option<u64>,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let v = v.unwrap_or(default);
    if v < min || v > max {
        return Err(err(
            key,
            format!("must be between {min} and {max}, not {v}"),
        ));
    }
    Ok(v)
}

/// A lowercase, dot-terminated domain name.
fn fqdn_name(key: &str, text: &str) -> Result<String, ConfigError> {
    let mut t = text.trim().to_ascii_lowercase();
    if !t.ends_with('.') {
        t.push('.');
    }
    if t == "." || t.starts_with('.') || t.contains("..") || Name::from_ascii(&t).is_err() {
        return Err(err(key, format!("`{text}` is not a valid domain name")));
    }
    Ok(t)
}

/// `IP:port`, `[IPv6]:port` or a bare IP (then `default_port`).
fn host_port(key: &str, text: &str, default_port: u16) -> Result<SocketAddr, ConfigError> {
    let text = text.trim();
    if let Ok(sa) = text.parse::<SocketAddr>() {
        if sa.port() == 0 {
            return Err(err(
                key,
                format!("`{text}` needs a port between 1 and 65535"),
            ));
        }
        return Ok(sa);
    }
    if let Ok(ip) = text
        .trim_matches(|c| c == '[' || c == ']')
        .parse::<IpAddr>()
    {
        return Ok(SocketAddr::new(ip, default_port));
    }
    Err(err(
        key,
        format!("`{text}` is not an address like 127.0.0.1:53 or [::1]:53"),
    ))
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

    #[test]
    fn defaults_are_skydns_defaults() {
        let (s, r) = validate(&Layer::default(), &HostFacts::default()).unwrap();
        assert_eq!(r.domain, "skydns.local.");
        assert_eq!(r.hostmaster, "hostmaster.skydns.local.");
        assert_eq!((r.ttl, r.min_ttl, r.priority, r.ndots), (3600, 60, 10, 2));
        assert_eq!((r.scache, r.rcache, r.rcache_ttl), (10_000, 0, 60));
        assert_eq!(r.read_timeout, Duration::from_secs(2));
        assert_eq!(r.edns_payload, 1232);
        assert_eq!(
            (s.tcp_idle_timeout, s.tcp_max_connections),
            (Duration::from_secs(10), 150)
        );
        assert_eq!(s.addrs, vec!["127.0.0.1:53".parse().unwrap()]);
        assert!(
            matches!(s.store, StoreConfig::Etcd(ref e) if e.endpoints == ["http://127.0.0.1:2379"])
        );
    }

    #[test]
    fn nameservers_default_to_resolv_conf() {
        let host = HostFacts {
            resolv_conf: Some("# c\nnameserver 127.0.0.53\nnameserver ::1\nsearch x\n".into()),
            ..HostFacts::default()
        };
        let (_, r) = validate(&Layer::default(), &host).unwrap();
        assert_eq!(
            r.nameservers,
            vec![
                "127.0.0.53:53".parse().unwrap(),
                "[::1]:53".parse().unwrap()
            ]
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
        let (_, r) = validate(&Layer::default(), &host).unwrap();
        assert_eq!(
            r.nameservers,
            vec![
                "[::1]:53".parse().unwrap(),
                "127.0.0.53:53".parse().unwrap(),
                "192.0.2.53:53".parse().unwrap()
            ]
        );
        let systemd = Layer {
            systemd: Some(true),
            ..Layer::default()
        };
        // Under systemd: the packaged socket's addresses are ours, systemd-resolved is not.
        let (_, r) = validate(&systemd, &host).unwrap();
        assert_eq!(
            r.nameservers,
            vec![
                "127.0.0.53:53".parse().unwrap(),
                "192.0.2.53:53".parse().unwrap()
            ]
        );
        // Once the sockets are known: a wildcard socket covers loopback and the host's own
        // addresses on its port.
        let held = HostFacts {
            own_sockets: vec!["0.0.0.0:53".parse().unwrap()],
            networks: vec![Network {
                addr: "192.0.2.53".parse().unwrap(),
                prefix: 24,
            }],
            ..host
        };
        let (_, r) = validate(&systemd, &held).unwrap();
        assert_eq!(r.nameservers, vec!["[::1]:53".parse().unwrap()]);
    }

    #[test]
    fn bad_values_name_their_key() {
        let bad = |l: Layer| validate(&l, &HostFacts::default()).unwrap_err().key;
        assert_eq!(
            bad(Layer {
                domain: Some("a..b".into()),
                ..Layer::default()
            }),
            "domain"
        );
        assert_eq!(
            bad(Layer {
                nameservers: Some(vec!["dns.google".into()]),
                ..Layer::default()
            }),
            "nameservers"
        );
        assert_eq!(
            bad(Layer {
                edns_payload: Some(100),
                ..Layer::default()
            }),
            "edns_payload"
        );
        assert_eq!(
            bad(Layer {
                machines: Some(vec!["127.0.0.1:2379".into()]),
                ..Layer::default()
            }),
            "machines"
        );
    }

    #[test]
    fn hostmaster_mail_form() {
        let l = Layer {
            hostmaster: Some("ops@Example.org".into()),
            ..Layer::default()
        };
        let (_, r) = validate(&l, &HostFacts::default()).unwrap();
        assert_eq!(r.hostmaster, "ops.example.org.");
    }
}
