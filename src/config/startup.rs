//! The settings fixed for the life of the process, in the form the daemon uses: listening,
//! the store, identity, logging output and TCP limits. A reload that changes them reports
//! "restart required" instead of half-applying them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::settings::StartupSettings;
use super::sources::differing_startup_keys;
pub use super::values::LogTarget;
use super::ConfigError;

/// The settings that say which store holds the data and how to reach it: what a client of
/// the store (`skydnsctl`) takes besides the config file.
pub const STORE_KEYS: [&str; 8] = [
    "machines",
    "tls_key",
    "tls_pem",
    "ca_cert",
    "username",
    "password",
    "path_prefix",
    "file",
];

/// Which store the data comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreConfig {
    /// The embedded JSON file store.
    File(PathBuf),
    /// etcd v3.
    Etcd(EtcdConfig),
}

/// How to reach etcd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcdConfig {
    /// Endpoint URLs.
    pub endpoints: Vec<String>,
    /// The CA certificate that signed the servers' certificates.
    pub ca_cert: Option<PathBuf>,
    /// Our client certificate.
    pub tls_pem: Option<PathBuf>,
    /// Our client key.
    pub tls_key: Option<PathBuf>,
    /// The etcd user.
    pub username: Option<String>,
    /// The etcd user's password.
    pub password: Option<String>,
}

/// The HTTP listener for `/metrics`, `/health` and `/ready`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The path of the metrics.
    pub path: String,
    /// What every metric name starts with: namespace and subsystem joined by `_` (empty
    /// when both are).
    pub prefix: String,
}

/// Paths the listener serves besides the metrics.
pub const HEALTH_PATHS: [&str; 2] = ["/health", "/ready"];

/// Settings that need a restart to change.
#[derive(Debug, Clone, PartialEq)]
pub struct StartupConfig {
    /// Addresses to bind when not socket-activated.
    pub addrs: Vec<SocketAddr>,
    /// Serve the sockets systemd passed.
    pub systemd: bool,
    /// Where the data comes from.
    pub store: StoreConfig,
    /// The key prefix in the store.
    pub path_prefix: String,
    /// The user to run as when started as root.
    pub user: Option<String>,
    /// The group to run as.
    pub group: Option<String>,
    /// Where log lines go.
    pub log: LogTarget,
    /// Idle TCP connections are closed after this.
    pub tcp_idle_timeout: Duration,
    /// Concurrent TCP connections at most.
    pub tcp_max_connections: usize,
    /// Concurrent TCP connections of one client address at most.
    pub tcp_max_per_client: usize,
    /// The metrics listener, unless turned off.
    pub metrics: Option<MetricsConfig>,
    /// The settings this was made from, to tell which of them a reload changed.
    settings: StartupSettings,
}

impl StartupConfig {
    /// Builds the start-up config; settings that only make sense together are checked here.
    pub fn new(s: &StartupSettings) -> Result<Self, ConfigError> {
        let path = |v: &super::values::Maybe<super::values::FilePath>| v.get().map(|p| p.0.clone());
        let store = match path(&s.file) {
            Some(file) => StoreConfig::File(file),
            None => {
                let (tls_pem, tls_key) = (path(&s.tls_pem), path(&s.tls_key));
                if tls_pem.is_some() != tls_key.is_some() {
                    let missing = if tls_pem.is_some() {
                        "tls_key"
                    } else {
                        "tls_pem"
                    };
                    return Err(ConfigError::new(
                        "settings",
                        missing,
                        "must be given together with the client certificate/key",
                    ));
                }
                StoreConfig::Etcd(EtcdConfig {
                    endpoints: s.machines.0.clone(),
                    ca_cert: path(&s.ca_cert),
                    tls_pem,
                    tls_key,
                    username: s.username.get().map(|u| u.0.clone()),
                    password: s.password.get().map(|p| p.0.clone()),
                })
            }
        };
        Ok(StartupConfig {
            addrs: s.dns_addr.0.clone(),
            systemd: s.systemd.0,
            store,
            path_prefix: s.path_prefix.0.clone(),
            user: s.user.get().map(|u| u.0.clone()),
            group: s.group.get().map(|g| g.0.clone()),
            log: s.log,
            tcp_idle_timeout: s.tcp_idle_timeout.0,
            tcp_max_connections: s.tcp_max_connections.as_usize(),
            tcp_max_per_client: s.tcp_max_per_client.as_usize(),
            metrics: metrics(s)?,
            settings: s.clone(),
        })
    }

    /// The keys of the settings that differ in `new` (they need a restart to apply).
    pub fn restart_required(&self, new: &StartupConfig) -> Vec<&'static str> {
        differing_startup_keys(&self.settings, &new.settings)
    }
}

/// The metrics listener the settings describe (`None`: turned off).
fn metrics(s: &StartupSettings) -> Result<Option<MetricsConfig>, ConfigError> {
    let Some(addr) = s.metrics_addr.get() else {
        return Ok(None);
    };
    let path = s.metrics_path.0.clone();
    if HEALTH_PATHS.contains(&path.as_str()) {
        return Err(ConfigError::new(
            "settings",
            "metrics_path",
            format!("cannot be {path}, which the listener serves itself"),
        ));
    }
    let parts = [s.metrics_namespace.get(), s.metrics_subsystem.get()];
    let prefix: Vec<&str> = parts.iter().flatten().map(|p| p.0.as_str()).collect();
    Ok(Some(MetricsConfig {
        addr: addr.0,
        path,
        prefix: prefix.join("_"),
    }))
}

#[cfg(test)]
mod tests {
    use crate::config::cli::Cli;
    use crate::config::{load, HostFacts, MetricsConfig};

    fn metrics(args: &[&str]) -> Result<Option<MetricsConfig>, String> {
        let cli = Cli::try_parse_from(["skydns"].iter().chain(args).map(Into::into))
            .map_err(|e| e.to_string())?;
        load(&cli.sources(None), &HostFacts::default())
            .map(|l| l.startup.metrics)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_listener_its_path_and_the_name_prefix() {
        let default = metrics(&[]).unwrap().unwrap();
        assert_eq!(default.addr.to_string(), "127.0.0.1:9153");
        assert_eq!(default.path, "/metrics");
        assert_eq!(default.prefix, "skydns");
        let set = metrics(&[
            "--metrics-addr=9200",
            "--metrics-path=/m",
            "--metrics-subsystem=dns1",
        ])
        .unwrap()
        .unwrap();
        assert_eq!(
            (set.addr.to_string(), set.path, set.prefix),
            (
                "127.0.0.1:9200".to_owned(),
                "/m".to_owned(),
                "skydns_dns1".to_owned()
            )
        );
        let bare = metrics(&["--metrics-namespace=", "--metrics-subsystem=x"]).unwrap();
        assert_eq!(bare.unwrap().prefix, "x");
        assert_eq!(metrics(&["--metrics-addr="]).unwrap(), None);
        let clash = metrics(&["--metrics-path=/ready"]).unwrap_err();
        assert!(clash.contains("metrics_path"), "{clash}");
    }
}
