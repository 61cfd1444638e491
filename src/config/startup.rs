//! Settings fixed for the life of the process: listening, the store, identity and logging.
//! A reload that changes them reports "restart required" instead of half-applying them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    pub endpoints: Vec<String>,
    pub ca_cert: Option<PathBuf>,
    pub tls_pem: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub username: Option<String>,
    pub password: Option<String>,
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogTarget {
    /// syslog when running as a service (stderr is not a terminal and no journal stream),
    /// stderr otherwise.
    Auto,
    Syslog,
    Stderr,
}

/// Settings that need a restart to change.
#[derive(Debug, Clone, PartialEq)]
pub struct StartupConfig {
    pub addrs: Vec<SocketAddr>,
    pub systemd: bool,
    pub store: StoreConfig,
    pub path_prefix: String,
    pub user: Option<String>,
    pub group: Option<String>,
    pub log: LogTarget,
    pub log_level: String,
    pub tcp_idle_timeout: Duration,
    pub tcp_max_connections: usize,
}
