//! The store `skydnsctl` reads and writes: etcd, or the embedded file store, chosen by the
//! same settings as the daemon's (`--file` or `--machines`, `--path-prefix`). Both offer the
//! same few operations on whole keys; the commands never know which one they talk to.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

use super::etcd::EtcdCtl;
use super::file::FileCtl;
use crate::config::{StartupConfig, StoreConfig};
use crate::store::etcd::{ConnectError, SyncError};
use crate::store::file::FileStoreError;

/// One key as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    /// The whole key, prefix included.
    pub key: String,
    /// The value as the daemon reads it.
    pub value: Vec<u8>,
}

/// Why the store cannot be read or written.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The etcd settings cannot work (no endpoint, unreadable certificate ...).
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// No endpoint answered.
    #[error("no etcd endpoint answered ({endpoints}): {last}")]
    Unreachable {
        /// The endpoints tried.
        endpoints: String,
        /// The last endpoint's error.
        last: SyncError,
    },
    /// An etcd call failed.
    #[error("etcd: {0}")]
    Etcd(#[from] SyncError),
    /// The file store cannot be read.
    #[error(transparent)]
    File(#[from] FileStoreError),
    /// The file store cannot be written.
    #[error("cannot write {path}: {error}")]
    Write {
        /// The file (or its directory).
        path: PathBuf,
        /// The I/O error.
        error: io::Error,
    },
    /// A key kept changing while it was being updated.
    #[error("{key} kept changing while being updated ({tries} tries); try again")]
    Contended {
        /// The key.
        key: String,
        /// How often the update was tried.
        tries: usize,
    },
}

/// Why an update of one key did not happen.
#[derive(Debug, Error)]
pub enum UpdateError<E> {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The new value was refused by the caller's check.
    #[error(transparent)]
    Refused(E),
}

/// A store, opened from the start-up settings.
pub enum Store {
    /// etcd v3.
    Etcd(Box<EtcdCtl>),
    /// The embedded JSON file store.
    File(FileCtl),
}

impl Store {
    /// The store `startup` names; etcd is connected on first use.
    pub fn open(startup: &StartupConfig) -> Result<Store, StoreError> {
        let prefix = startup.path_prefix.clone();
        Ok(match &startup.store {
            StoreConfig::File(path) => Store::File(FileCtl::new(path.clone(), prefix)),
            StoreConfig::Etcd(cfg) => Store::Etcd(Box::new(EtcdCtl::new(cfg, prefix)?)),
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        match self {
            Store::Etcd(etcd) => etcd.prefix(),
            Store::File(file) => file.prefix(),
        }
    }

    /// Every key under `/<prefix>/`, in key order.
    pub async fn list(&mut self) -> Result<Vec<Stored>, StoreError> {
        match self {
            Store::Etcd(etcd) => etcd.list().await,
            Store::File(file) => file.list(),
        }
    }

    /// The value of one key.
    pub async fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        match self {
            Store::Etcd(etcd) => etcd.get(key).await,
            Store::File(file) => file.get(key),
        }
    }

    /// Writes one key.
    pub async fn put(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        match self {
            Store::Etcd(etcd) => etcd.put(key, value).await,
            Store::File(file) => file.put(key, value),
        }
    }

    /// Removes `keys`; returns how many existed.
    pub async fn delete(&mut self, keys: &[String]) -> Result<usize, StoreError> {
        match self {
            Store::Etcd(etcd) => etcd.delete(keys).await,
            Store::File(file) => file.delete(keys),
        }
    }

    /// Replaces the value of `key` by what `change` makes of the current one (`None` when
    /// absent), with no other write in between: `change` may run more than once. Returns the
    /// value written.
    pub async fn update<E>(
        &mut self,
        key: &str,
        change: impl FnMut(Option<&[u8]>) -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, UpdateError<E>> {
        match self {
            Store::Etcd(etcd) => etcd.update(key, change).await,
            Store::File(file) => file.update(key, change),
        }
    }
}
