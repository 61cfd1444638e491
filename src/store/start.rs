//! Starting a store: what must happen before the privilege drop (reading the etcd TLS files)
//! and after it (the first load and the task that keeps the snapshot current).

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::task::JoinHandle;

use super::etcd::{Connector, EtcdStore};
use super::{file, StoreState};
use crate::config::{StartupConfig, StoreConfig};

/// A store ready to start: its files that may need privileges (etcd TLS certificates and
/// keys) are already read, so it can start after the privilege drop.
pub enum StoreSource {
    /// The embedded file store.
    File {
        /// The JSON file.
        path: PathBuf,
        /// The key prefix.
        prefix: String,
    },
    /// etcd.
    Etcd(Box<EtcdStore>),
}

impl StoreSource {
    /// Reads what the store of `startup` needs read as root.
    pub fn prepare(startup: &StartupConfig) -> Result<Self> {
        let prefix = startup.path_prefix.clone();
        Ok(match &startup.store {
            StoreConfig::File(path) => StoreSource::File {
                path: path.clone(),
                prefix,
            },
            StoreConfig::Etcd(cfg) => {
                let connector = Connector::new(cfg)?;
                tracing::info!(endpoints = ?connector.endpoints(), "loading /{prefix}/ from etcd");
                StoreSource::Etcd(Box::new(EtcdStore::new(connector, &prefix)))
            }
        })
    }

    /// Starts the store's task, which keeps `state` current. The file store loads its first
    /// snapshot before this returns (off the query threads; an unreadable file stops
    /// start-up); the etcd store in the task (queries get SERVFAIL until then).
    pub async fn start(self, state: Arc<StoreState>) -> Result<JoinHandle<()>> {
        match self {
            StoreSource::File { path, prefix } => {
                let (p, pre, st) = (path.clone(), prefix.clone(), state.clone());
                tokio::task::spawn_blocking(move || file::load_into(&p, &pre, &st))
                    .await
                    .context("the file store reader failed")??;
                Ok(tokio::spawn(file::watch(path, prefix, state)))
            }
            StoreSource::Etcd(etcd) => Ok(tokio::spawn(etcd.run(state))),
        }
    }
}
