//! Every setting, stated once: its key (in the TOML file and in `/<prefix>/config`), type
//! (which says what is valid), flag, environment variable, default and help. Settings that
//! need new sockets, a new identity or a new store are start-up settings; the others are
//! swapped while running. Adding a setting is one entry here plus the code that uses it.

use super::table::settings;
use super::values::{
    Addrs, Bounded, ByteSize, Capacity, Endpoints, FilePath, Fqdn, HttpPath, KeyBasename,
    ListenAddr, ListenAddrs, LogLevel, LogTarget, Mailbox, Maybe, MetricName, Networks, Prefix,
    Secret, Span, Text, Toggle,
};

/// The largest TTL a record may carry (RFC 2181 §8: 2^31 − 1).
pub type Ttl = Bounded<0, 2_147_483_647>;

/// A duration whose integer form counts seconds.
pub type Seconds<const MAX_SECS: u64> = Span<1_000_000_000, MAX_SECS>;

/// A duration whose integer form counts nanoseconds (Go's `time.Duration` in SkyDNS's JSON).
pub type GoDuration<const MAX_SECS: u64> = Span<1, MAX_SECS>;

settings! {
    /// Settings fixed for the life of the process: listening, the store, identity, logging
    /// output and the TCP limits. A reload reports a change of these as "restart required";
    /// in `/<prefix>/config` they are ignored (the sockets and the store exist before it is
    /// read).
    pub struct StartupSettings {
        /// Address(es) to listen on for UDP and TCP, comma separated IP:port.
        dns_addr: ListenAddrs, flag "addr", env "SKYDNS_ADDR", default "127.0.0.1:53";
        /// Serve the sockets passed by systemd (LISTEN_FDS) and ignore --addr.
        systemd: Toggle, flag "systemd", env "SKYDNS_SYSTEMD", default "false";
        /// etcd endpoints, comma separated URLs.
        machines: Endpoints, flag "machines", env "ETCD_MACHINES", default "http://127.0.0.1:2379";
        /// Client private key for etcd TLS.
        tls_key: Maybe<FilePath>, flag "tls-key", env "ETCD_TLSKEY";
        /// Client certificate for etcd TLS.
        tls_pem: Maybe<FilePath>, flag "tls-pem", env "ETCD_TLSPEM";
        /// CA certificate that signed the etcd server certificate.
        ca_cert: Maybe<FilePath>, flag "ca-cert", env "ETCD_CACERT";
        /// etcd user name.
        username: Maybe<Text>, flag "username", env "ETCD_USERNAME";
        /// etcd password.
        password: Maybe<Secret>, flag "password", env "ETCD_PASSWORD";
        /// Prefix of the keys in the store (data under /<prefix>/, settings in
        /// /<prefix>/config).
        path_prefix: Prefix, flag "path-prefix", env "SKYDNS_PATH_PREFIX", default "skydns";
        /// Use the embedded file store: a JSON object mapping keys to service values, re-read
        /// when it changes. Without it, etcd is the store.
        file: Maybe<FilePath>, flag "file", env "SKYDNS_FILE";
        /// User to switch to after binding sockets when started as root. [default: skydns, or
        /// nobody when there is no skydns account]
        user: Maybe<Text>, flag "user";
        /// Group to switch to. [default: the user's group]
        group: Maybe<Text>, flag "group";
        /// Log destination: auto (syslog when stderr is neither a terminal nor the journal),
        /// syslog or stderr.
        log: LogTarget, flag "log", env "SKYDNS_LOG", default "auto";
        /// Close TCP connections idle for this long (a duration like 10s, or seconds).
        tcp_idle_timeout: Seconds<86_400>, flag "tcp-idle-timeout", default "10s";
        /// Concurrent TCP connections; more are accepted and closed at once.
        tcp_max_connections: Bounded<1, 65_535>, flag "tcp-max-connections", default "150";
        /// Concurrent TCP connections of one client address; one more closes its oldest idle
        /// connection.
        tcp_max_per_client: Bounded<1, 65_535>, flag "tcp-max-per-client", default "20";
        /// HTTP listener for /metrics, /health and /ready: IP:port, or a port alone for
        /// 127.0.0.1 (SkyDNS's PROMETHEUS_PORT); empty turns it off.
        metrics_addr: Maybe<ListenAddr>, flag "metrics-addr", env "PROMETHEUS_PORT", default "127.0.0.1:9153";
        /// Path of the Prometheus metrics on that listener.
        metrics_path: HttpPath, flag "metrics-path", env "PROMETHEUS_PATH", default "/metrics";
        /// First part of every metric name (skydns_dns_requests_total); empty for none.
        metrics_namespace: Maybe<MetricName>, flag "metrics-namespace", env "PROMETHEUS_NAMESPACE", default "skydns";
        /// Part of every metric name after the namespace (skydns_SUBSYSTEM_dns_...).
        /// [default: none]
        metrics_subsystem: Maybe<MetricName>, flag "metrics-subsystem", env "PROMETHEUS_SUBSYSTEM";
    }
}

settings! {
    /// Settings that can change while running: read again on every reload and swapped as a
    /// whole.
    pub struct RuntimeSettings {
        /// Domain we are authoritative for.
        domain: Fqdn, flag "domain", env "SKYDNS_DOMAIN", default "skydns.local.";
        /// SOA hostmaster address; `@` becomes `.`. [default: hostmaster.<domain>]
        hostmaster: Maybe<Mailbox>, flag "hostmaster";
        /// Name whose services answer queries for local.dns.<domain>.
        local: Maybe<Fqdn>, flag "local";
        /// DNSSEC key basename, e.g. Kskydns.local.+013+12345 (.key and .private are read).
        dnssec: Maybe<KeyBasename>, flag "dnssec";
        /// Shuffle A and AAAA records in answers.
        round_robin: Toggle, flag "round-robin", default "true";
        /// Spread forwarded queries over the nameservers instead of always asking the first.
        ns_rotate: Toggle, flag "ns-rotate", default "true";
        /// Upstream nameservers for names outside the domain, comma separated IP:port.
        /// [default: the nameserver lines of /etc/resolv.conf]
        nameservers: Maybe<Addrs>, flag "nameservers", env "SKYDNS_NAMESERVERS";
        /// Never forward queries for names outside the domain (answer REFUSED).
        no_rec: Toggle, flag "no-rec", default "false";
        /// Timeout of one upstream exchange: Go nanoseconds or a duration like 2s.
        read_timeout: GoDuration<60>, flag "rtimeout" / "read-timeout", default "2s";
        /// SRV priority / MX preference of services that give none.
        priority: Bounded<1, 65_535>, flag "priority", default "10";
        /// Default TTL of records, in seconds.
        ttl: Ttl, flag "ttl", default "3600";
        /// SOA minimum, in seconds; negative answers use min(SOA TTL, this).
        min_ttl: Ttl, flag "min-ttl", default "60";
        /// Signature cache capacity.
        scache: Capacity, flag "scache", default "10000";
        /// Cache capacity for forwarded answers; 0 turns it off.
        rcache: Capacity, flag "rcache", default "0";
        /// Memory for cached forwarded answers (bytes, or with a unit: 8MiB); with rcache, a
        /// bound on both.
        rcache_size: ByteSize, flag "rcache-size", default "8MiB";
        /// Upper bound (seconds) on how long forwarded answers are cached.
        rcache_ttl: Ttl, flag "rcache-ttl", default "60";
        /// Labels a name needs before it is forwarded.
        ndots: Bounded<0, 127>, flag "ndots", key "ndot", env "SKYDNS_NDOTS", default "2";
        /// Forward queries for stub zones registered under stub.dns.<domain>.
        stubzones: Toggle, flag "stubzones", default "false";
        /// Clients whose foreign names may be forwarded: CIDRs or localhost, localnets, any.
        forward_allow: Networks, flag "forward-allow", default "localhost,localnets";
        /// EDNS UDP payload size we advertise and clamp to, in bytes.
        edns_payload: Bounded<512, 4096>, flag "edns-payload", default "1232";
        /// Log one line per query.
        query_log: Toggle, flag "verbose" / "query-log", key "verbose", default "false";
        /// Log level: error, warn, info, debug or trace.
        log_level: LogLevel, flag "log-level", default "info";
        /// Memory for compiled answers (bytes, or with a unit: 8MiB); 0 compiles every reply
        /// for its query.
        answer_cache: ByteSize, flag "answer-cache", default "8MiB";
        /// Response rate limiting: UDP responses per second to one client network (IPv4 /24,
        /// IPv6 /56) of one kind (answer, NXDOMAIN, NODATA, error ...) for one name or zone;
        /// 0 turns it off.
        rrl: Bounded<0, 1_000_000>, flag "rrl", default "0";
        /// Of the responses rate limiting holds back, every Nth is sent as an empty truncated
        /// reply (TC) so that real clients retry over TCP; 0 sends none, 1 sends all.
        rrl_slip: Bounded<0, 100>, flag "rrl-slip", default "2";
        /// Clients never rate limited: CIDRs or localhost, localnets, any. [default: none]
        rrl_exempt: Networks, flag "rrl-exempt";
        /// /ready answers 503 once the etcd store has been out of touch with etcd this long
        /// (a duration like 30s); answers keep coming from the last snapshot.
        ready_stale_after: Seconds<86_400>, flag "ready-stale-after", default "30s";
    }
}
