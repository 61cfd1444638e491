//! How skydns reaches etcd: endpoints, TLS (CA, client certificate and key) and user/password.
//! Certificate files are read once, before privileges are dropped. TLS is all or nothing: with
//! TLS settings every endpoint must be `https://`, and a TLS failure is an error, never a fall
//! back to plain text.

use std::path::{Path, PathBuf};
use std::time::Duration;

use etcd_client::{Certificate, Client, ConnectOptions, Identity, TlsOptions};
use thiserror::Error;

use crate::config::EtcdConfig;

/// How long connecting (TCP, TLS, authentication) to one endpoint may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

/// A setting that makes etcd unreachable by construction.
#[derive(Debug, Error)]
pub enum ConnectError {
    /// The endpoint list is empty.
    #[error("no etcd endpoint given (--machines)")]
    NoEndpoints,
    /// A certificate or key file cannot be read.
    #[error("cannot read {what} {path}: {source}")]
    ReadFile {
        /// Which file it is, with its flag, e.g. `CA certificate (--ca-cert)`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Only one of the client certificate and its key is given.
    #[error("--tls-pem and --tls-key go together (only {given} is set)")]
    HalfIdentity {
        /// The flag that is set: `--tls-pem` or `--tls-key`.
        given: &'static str,
    },
    /// TLS settings are given but an endpoint is `http://`.
    #[error(
        "etcd endpoint {endpoint} is not https:// but TLS settings are given; refusing plain text"
    )]
    PlainWithTls {
        /// The endpoint as given.
        endpoint: String,
    },
    /// An endpoint is neither `http://` nor `https://`.
    #[error("etcd endpoint {endpoint} must start with http:// or https://")]
    BadScheme {
        /// The endpoint as given.
        endpoint: String,
    },
    /// A password is given without a user name.
    #[error("--password is set without --username")]
    PasswordWithoutUser,
}

/// Everything needed to open a connection to one endpoint, prepared once.
#[derive(Clone)]
pub struct Connector {
    endpoints: Vec<String>,
    options: ConnectOptions,
}

impl Connector {
    /// Checks the settings and reads the certificate files.
    pub fn new(cfg: &EtcdConfig) -> Result<Self, ConnectError> {
        if cfg.endpoints.is_empty() {
            return Err(ConnectError::NoEndpoints);
        }
        let tls = tls_options(cfg)?;
        for endpoint in &cfg.endpoints {
            let https = endpoint.starts_with("https://");
            if !https && !endpoint.starts_with("http://") {
                return Err(ConnectError::BadScheme {
                    endpoint: endpoint.clone(),
                });
            }
            if tls.is_some() && !https {
                return Err(ConnectError::PlainWithTls {
                    endpoint: endpoint.clone(),
                });
            }
        }
        let mut options = ConnectOptions::new()
            .with_connect_timeout(CONNECT_TIMEOUT)
            .with_require_leader(true);
        if let Some(tls) = tls {
            options = options.with_tls(tls);
        }
        match (&cfg.username, &cfg.password) {
            (Some(user), password) => {
                if password.is_some() {
                    if let Some(plain) = cfg.endpoints.iter().find(|e| e.starts_with("http://")) {
                        tracing::warn!(
                            "the etcd password goes over plain text to {plain}: use https:// endpoints (--ca-cert) or a client certificate"
                        );
                    }
                }
                options = options
                    .with_user(user.clone(), password.clone().unwrap_or_default())
                    .with_auto_token_refresh(true);
            }
            (None, Some(_)) => return Err(ConnectError::PasswordWithoutUser),
            (None, None) => {}
        }
        Ok(Connector {
            endpoints: cfg.endpoints.clone(),
            options,
        })
    }

    /// The endpoints, in the order given.
    pub fn endpoints(&self) -> &[String] {
        &self.endpoints
    }

    /// A client talking to the endpoint with index `i` (modulo the number of endpoints).
    /// Authentication happens here; the connection itself may be opened by the first call.
    pub async fn connect(&self, i: usize) -> Result<Client, etcd_client::Error> {
        let endpoint = &self.endpoints[i % self.endpoints.len()];
        let connecting = Client::connect([endpoint.as_str()], Some(self.options.clone()));
        match tokio::time::timeout(CONNECT_TIMEOUT, connecting).await {
            Ok(result) => result,
            Err(_) => Err(etcd_client::Error::Internal(format!(
                "no connection within {CONNECT_TIMEOUT:?}"
            ))),
        }
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, ConnectError> {
    std::fs::read(path).map_err(|source| ConnectError::ReadFile {
        what,
        path: path.to_owned(),
        source,
    })
}

fn tls_options(cfg: &EtcdConfig) -> Result<Option<TlsOptions>, ConnectError> {
    let identity = match (&cfg.tls_pem, &cfg.tls_key) {
        (Some(pem), Some(key)) => Some(Identity::from_pem(
            read("client certificate (--tls-pem)", pem)?,
            read("client key (--tls-key)", key)?,
        )),
        (Some(_), None) => return Err(ConnectError::HalfIdentity { given: "--tls-pem" }),
        (None, Some(_)) => return Err(ConnectError::HalfIdentity { given: "--tls-key" }),
        (None, None) => None,
    };
    let ca = match &cfg.ca_cert {
        Some(path) => Some(Certificate::from_pem(read(
            "CA certificate (--ca-cert)",
            path,
        )?)),
        None => None,
    };
    if identity.is_none() && ca.is_none() {
        return Ok(None);
    }
    let mut tls = TlsOptions::new();
    if let Some(ca) = ca {
        tls = tls.ca_certificate(ca);
    }
    if let Some(identity) = identity {
        tls = tls.identity(identity);
    }
    Ok(Some(tls))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(endpoints: &[&str]) -> EtcdConfig {
        EtcdConfig {
            endpoints: endpoints
                .iter()
                .map(std::string::ToString::to_string)
                .collect(),
            ca_cert: None,
            tls_pem: None,
            tls_key: None,
            username: None,
            password: None,
        }
    }

    #[test]
    fn tls_settings_refuse_plain_endpoints() {
        let dir = std::env::temp_dir().join(format!("skydns-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, b"not checked here").unwrap();
        let mut c = cfg(&["https://127.0.0.1:1", "http://127.0.0.1:2"]);
        c.ca_cert = Some(ca);
        let err = Connector::new(&c).err().unwrap();
        assert!(
            matches!(err, ConnectError::PlainWithTls { ref endpoint } if endpoint == "http://127.0.0.1:2")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn settings_errors_name_the_problem() {
        assert!(matches!(
            Connector::new(&cfg(&[])).err().unwrap(),
            ConnectError::NoEndpoints
        ));
        assert!(matches!(
            Connector::new(&cfg(&["127.0.0.1:2379"])).err().unwrap(),
            ConnectError::BadScheme { .. }
        ));
        let mut c = cfg(&["http://127.0.0.1:2379"]);
        c.tls_key = Some("/nonexistent/key".into());
        assert!(matches!(
            Connector::new(&c).err().unwrap(),
            ConnectError::HalfIdentity { given: "--tls-key" }
        ));
        c.tls_key = None;
        c.password = Some("x".into());
        assert!(matches!(
            Connector::new(&c).err().unwrap(),
            ConnectError::PasswordWithoutUser
        ));
        c.ca_cert = Some("/nonexistent/ca.pem".into());
        let msg = Connector::new(&c).err().unwrap().to_string();
        assert!(msg.contains("/nonexistent/ca.pem"), "{msg}");
    }
}
