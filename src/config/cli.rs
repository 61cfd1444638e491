//! The command line and environment, compatible with SkyDNS's flags (`-addr=...` single-dash Go
//! spelling included) and its environment variables.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{Parser, Subcommand};

use super::layer::{parse_duration, split_list, Layer};

/// DNS service discovery on etcd: the successor of SkyDNS 2.
///
/// Services announce themselves as JSON under /<prefix>/<reversed name> in etcd (or in the
/// embedded file store with --file); skydns answers for them over DNS and forwards every other
/// name to upstream resolvers. Settings come from defaults, the --config file, the environment,
/// the flags and finally /<prefix>/config in the store, each overriding the one before.
#[derive(Debug, Parser)]
#[command(
    name = "skydns",
    version,
    disable_version_flag = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Print the version and exit.
    #[arg(long, short = 'V')]
    pub version: bool,

    /// Address(es) to listen on for UDP and TCP, comma separated IP:port. [default: 127.0.0.1:53]
    #[arg(long, env = "SKYDNS_ADDR", value_name = "IP:PORT,...")]
    pub addr: Option<String>,

    /// Domain we are authoritative for. [default: skydns.local.]
    #[arg(long, env = "SKYDNS_DOMAIN")]
    pub domain: Option<String>,

    /// Upstream nameservers for names outside the domain, comma separated IP:port.
    /// [default: the nameserver lines of /etc/resolv.conf]
    #[arg(long, env = "SKYDNS_NAMESERVERS", value_name = "IP:PORT,...")]
    pub nameservers: Option<String>,

    /// Never forward queries for names outside the domain (answer REFUSED).
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub no_rec: Option<bool>,

    /// etcd endpoints, comma separated URLs. [default: http://127.0.0.1:2379]
    #[arg(long, env = "ETCD_MACHINES", value_name = "URL,...")]
    pub machines: Option<String>,

    /// Client private key for etcd TLS.
    #[arg(long, env = "ETCD_TLSKEY", value_name = "FILE")]
    pub tls_key: Option<String>,

    /// Client certificate for etcd TLS.
    #[arg(long, env = "ETCD_TLSPEM", value_name = "FILE")]
    pub tls_pem: Option<String>,

    /// CA certificate that signed the etcd server certificate.
    #[arg(long, env = "ETCD_CACERT", value_name = "FILE")]
    pub ca_cert: Option<String>,

    /// etcd user name.
    #[arg(long, env = "ETCD_USERNAME")]
    pub username: Option<String>,

    /// etcd password.
    #[arg(long, env = "ETCD_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,

    /// Prefix of the keys in the store (data under /<prefix>/, settings in /<prefix>/config).
    /// [default: skydns]
    #[arg(long, env = "SKYDNS_PATH_PREFIX")]
    pub path_prefix: Option<String>,

    /// Use the embedded file store: a JSON object mapping keys to service values, re-read when
    /// it changes. Without it, etcd is the store.
    #[arg(long, env = "SKYDNS_FILE", value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// TOML file with the same keys as /<prefix>/config.
    #[arg(long, env = "SKYDNS_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// DNSSEC key basename, e.g. Kskydns.local.+013+12345 (.key and .private are read).
    #[arg(long, value_name = "BASENAME")]
    pub dnssec: Option<String>,

    /// Name whose services answer queries for local.dns.<domain>.
    #[arg(long, value_name = "NAME")]
    pub local: Option<String>,

    /// SOA hostmaster address; `@` becomes `.`. [default: hostmaster.<domain>]
    #[arg(long)]
    pub hostmaster: Option<String>,

    /// Shuffle A and AAAA records in answers. [default: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub round_robin: Option<bool>,

    /// Spread forwarded queries over the nameservers instead of always asking the first.
    /// [default: true]
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub ns_rotate: Option<bool>,

    /// Timeout of one upstream exchange: Go nanoseconds or a duration like 2s. [default: 2s]
    #[arg(long, visible_alias = "read-timeout", value_name = "DURATION")]
    pub rtimeout: Option<String>,

    /// Forward queries for stub zones registered under stub.dns.<domain>.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub stubzones: Option<bool>,

    /// Log one line per query.
    #[arg(long, visible_alias = "query-log", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub verbose: Option<bool>,

    /// Serve the sockets passed by systemd (LISTEN_FDS) and ignore --addr.
    #[arg(long, env = "SKYDNS_SYSTEMD", value_name = "BOOL", num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub systemd: Option<bool>,

    /// Signature cache capacity. [default: 10000]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub scache: Option<i64>,

    /// Cache capacity for forwarded answers; 0 turns it off. [default: 0]
    #[arg(long, value_name = "N", allow_negative_numbers = true)]
    pub rcache: Option<i64>,

    /// Upper bound (seconds) on how long forwarded answers are cached. [default: 60]
    #[arg(long, value_name = "SECONDS")]
    pub rcache_ttl: Option<u64>,

    /// Labels a name needs before it is forwarded. [default: 2]
    #[arg(long, env = "SKYDNS_NDOTS", value_name = "N")]
    pub ndots: Option<u64>,

    /// Default TTL of records. [default: 3600]
    #[arg(long, value_name = "SECONDS")]
    pub ttl: Option<u64>,

    /// SOA minimum; negative answers use min(SOA TTL, this). [default: 60]
    #[arg(long, value_name = "SECONDS")]
    pub min_ttl: Option<u64>,

    /// SRV priority / MX preference of services that give none. [default: 10]
    #[arg(long)]
    pub priority: Option<u64>,

    /// Clients whose foreign names may be forwarded: CIDRs or localhost, localnets, any.
    /// [default: localhost,localnets]
    #[arg(long, value_name = "LIST")]
    pub forward_allow: Option<String>,

    /// EDNS UDP payload size we advertise and clamp to. [default: 1232]
    #[arg(long, value_name = "BYTES")]
    pub edns_payload: Option<u64>,

    /// User to switch to after binding sockets when started as root. [default: skydns, or
    /// nobody when there is no skydns account]
    #[arg(long)]
    pub user: Option<String>,

    /// Group to switch to. [default: the user's group]
    #[arg(long)]
    pub group: Option<String>,

    /// Log destination: auto (syslog when stderr is neither a terminal nor the journal), syslog
    /// or stderr. [default: auto]
    #[arg(long, env = "SKYDNS_LOG", value_name = "TARGET")]
    pub log: Option<String>,

    /// The system logger's socket (for tests and unusual systems). [default: /dev/log]
    #[arg(long, env = "SKYDNS_SYSLOG_SOCKET", value_name = "PATH", hide = true)]
    pub syslog_socket: Option<PathBuf>,

    /// Log level: error, warn, info, debug or trace. [default: info]
    #[arg(long, value_name = "LEVEL")]
    pub log_level: Option<String>,

    /// Close TCP connections idle for this long. [default: 10s]
    #[arg(long, value_name = "DURATION")]
    pub tcp_idle_timeout: Option<String>,

    /// Concurrent TCP connections; more are accepted and closed at once. [default: 150]
    #[arg(long, value_name = "N")]
    pub tcp_max_connections: Option<u64>,

    /// Accepted for compatibility with SkyDNS; the etcd v3 API is always used.
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true", value_parser = BoolishValueParser::new())]
    pub etcd3: Option<bool>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate every setting (config file, environment, flags and /<prefix>/config in the
    /// store) and exit: 0 when valid, 1 with a message naming the bad key otherwise.
    CheckConfig,
}

impl Cli {
    /// Parses the process arguments, accepting the Go single-dash spelling.
    pub fn parse_args() -> Self {
        Cli::parse_from(go_style_args(std::env::args_os()))
    }

    /// The settings given on the command line or in the environment.
    pub fn layer(&self) -> Result<Layer, super::ConfigError> {
        let duration =
            |key: &str, v: &Option<String>| -> Result<Option<Duration>, super::ConfigError> {
                v.as_deref()
                    .map(|s| match s.trim().parse::<u64>() {
                        Ok(nanos) if key == "rtimeout" => Ok(Duration::from_nanos(nanos)),
                        Ok(secs) => Ok(Duration::from_secs(secs)),
                        Err(_) => parse_duration(s),
                    })
                    .transpose()
                    .map_err(|p| super::ConfigError::new("command line", key, p))
            };
        Ok(Layer {
            dns_addr: self.addr.as_deref().map(split_list),
            domain: self.domain.clone(),
            hostmaster: self.hostmaster.clone(),
            local: self.local.clone(),
            dnssec: self.dnssec.clone(),
            round_robin: self.round_robin,
            ns_rotate: self.ns_rotate,
            nameservers: self.nameservers.as_deref().map(split_list),
            no_rec: self.no_rec,
            read_timeout: duration("rtimeout", &self.rtimeout)?,
            priority: self.priority,
            ttl: self.ttl,
            min_ttl: self.min_ttl,
            scache: self.scache,
            rcache: self.rcache,
            rcache_ttl: self.rcache_ttl,
            ndots: self.ndots,
            systemd: self.systemd,
            stubzones: self.stubzones,
            forward_allow: self.forward_allow.as_deref().map(split_list),
            edns_payload: self.edns_payload,
            query_log: self.verbose,
            machines: self.machines.as_deref().map(split_list),
            tls_key: self.tls_key.clone(),
            tls_pem: self.tls_pem.clone(),
            ca_cert: self.ca_cert.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
            path_prefix: self.path_prefix.clone(),
            file: self.file.as_ref().map(|p| p.display().to_string()),
            user: self.user.clone(),
            group: self.group.clone(),
            log: self.log.clone(),
            log_level: self.log_level.clone(),
            tcp_idle_timeout: duration("tcp-idle-timeout", &self.tcp_idle_timeout)?,
            tcp_max_connections: self.tcp_max_connections,
        })
    }
}

/// Rewrites Go-style `-flag` / `-flag=value` to `--flag...`, leaving `-h`, `-V` and values alone.
pub fn go_style_args<I: IntoIterator<Item = std::ffi::OsString>>(
    args: I,
) -> Vec<std::ffi::OsString> {
    args.into_iter()
        .map(|arg| match arg.to_str() {
            Some(s)
                if s.len() > 2
                    && s.starts_with('-')
                    && !s.starts_with("--")
                    && s.as_bytes()[1].is_ascii_alphabetic() =>
            {
                format!("-{s}").into()
            }
            _ => arg,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(go_style_args(
            std::iter::once("skydns")
                .chain(args.iter().copied())
                .map(Into::into),
        ))
        .unwrap()
    }

    #[test]
    fn go_single_dash_flags() {
        let cli = parse(&[
            "-addr=127.0.0.1:5354",
            "-round-robin=false",
            "-no-rec",
            "-rtimeout=2000000000",
        ]);
        let l = cli.layer().unwrap();
        assert_eq!(l.dns_addr, Some(vec!["127.0.0.1:5354".to_owned()]));
        assert_eq!(l.round_robin, Some(false));
        assert_eq!(l.no_rec, Some(true));
        assert_eq!(l.read_timeout, Some(Duration::from_secs(2)));
    }

    #[test]
    fn double_dash_and_lists() {
        let cli = parse(&[
            "--nameservers",
            "127.0.0.1:53,127.0.0.2:53",
            "--rtimeout",
            "500ms",
        ]);
        let l = cli.layer().unwrap();
        assert_eq!(l.nameservers.unwrap().len(), 2);
        assert_eq!(l.read_timeout, Some(Duration::from_millis(500)));
    }

    #[test]
    fn help_mentions_every_compat_flag() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        for flag in [
            "--addr",
            "--domain",
            "--local",
            "--path-prefix",
            "--round-robin",
            "--hostmaster",
            "--file",
            "--config",
            "--machines",
            "SKYDNS_ADDR",
            "ETCD_MACHINES",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
    }
}
