//! `skydnsctl` on etcd: one client, connected on first use to the first endpoint that answers
//! (through the daemon's [`Connector`]: the same TLS, authentication and endpoint checks), and
//! the few calls the commands need, each bounded in time. A failed call drops the client, so
//! the next one connects again (to the next endpoint).

use std::time::Duration;

use etcd_client::{Client, Compare, CompareOp, GetOptions, PutOptions, Txn, TxnOp, TxnOpResponse};

use super::store::{StoreError, Stored, UpdateError};
use crate::config::EtcdConfig;
use crate::store::config_key;
use crate::store::etcd::{load, rpc, Connector, SyncError};

/// Deletes per transaction (etcd refuses more than 128 operations in one by default).
const DELETES_PER_TXN: usize = 100;

/// How often an update is tried while others keep changing the key.
const UPDATE_TRIES: usize = 10;

/// A lease granted by etcd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lease {
    /// The lease ID.
    pub id: i64,
    /// The TTL etcd granted, in seconds (it may raise the one asked for).
    pub ttl: i64,
}

/// How keeping a lease alive ended.
#[derive(Debug)]
pub enum KeepAliveEnd {
    /// etcd says the lease is gone (expired or revoked): its keys are deleted.
    Expired,
    /// The connection or a call failed; `renewed` tells whether any renewal got through
    /// before.
    Failed {
        /// At least one keep-alive was answered.
        renewed: bool,
        /// What failed.
        error: StoreError,
    },
}

/// The etcd store of one prefix.
pub struct EtcdCtl {
    connector: Connector,
    prefix: String,
    client: Option<Client>,
    next_endpoint: usize,
}

impl EtcdCtl {
    /// Checks the settings and reads the TLS files; does not connect yet.
    pub fn new(cfg: &EtcdConfig, prefix: String) -> Result<Self, StoreError> {
        Ok(EtcdCtl {
            connector: Connector::new(cfg)?,
            prefix,
            client: None,
            next_endpoint: 0,
        })
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The client, connecting to the endpoints in turn until one answers a read.
    async fn client(&mut self) -> Result<&mut Client, StoreError> {
        let client = match self.client.take() {
            Some(client) => client,
            None => self.connect().await?,
        };
        Ok(self.client.insert(client))
    }

    async fn connect(&mut self) -> Result<Client, StoreError> {
        let mut last = SyncError::Closed;
        for _ in 0..self.connector.endpoints().len() {
            let i = self.next_endpoint;
            self.next_endpoint = self.next_endpoint.wrapping_add(1);
            let attempt = async {
                let mut client = self.connector.connect(i).await?;
                let probe = GetOptions::new().with_count_only();
                rpc("get", client.get(config_key(&self.prefix), Some(probe))).await?;
                Ok::<_, SyncError>(client)
            };
            match attempt.await {
                Ok(client) => return Ok(client),
                Err(e) => last = e,
            }
        }
        Err(StoreError::Unreachable {
            endpoints: self.connector.endpoints().join(","),
            last,
        })
    }

    /// Keeps the client after a successful call, drops it after a failed one.
    fn checked<T>(&mut self, result: Result<T, SyncError>) -> Result<T, StoreError> {
        if result.is_err() {
            self.client = None;
        }
        Ok(result?)
    }

    /// Every key under the prefix, read at one revision.
    pub async fn list(&mut self) -> Result<Vec<Stored>, StoreError> {
        let prefix = self.prefix.clone();
        let result = load::load(self.client().await?, &prefix).await;
        let loaded = self.checked(result)?;
        Ok(loaded
            .items
            .into_iter()
            .map(|item| Stored {
                key: item.key,
                value: item.value,
            })
            .collect())
    }

    /// The value of `key` and its modification revision (0 when absent).
    async fn get_revision(&mut self, key: &str) -> Result<(Option<Vec<u8>>, i64), StoreError> {
        let result = rpc("get", self.client().await?.get(key, None)).await;
        let resp = self.checked(result)?;
        Ok(match resp.kvs().first() {
            Some(kv) => (Some(kv.value().to_vec()), kv.mod_revision()),
            None => (None, 0),
        })
    }

    /// The value of `key`.
    pub async fn get(&mut self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get_revision(key).await?.0)
    }

    /// Writes `key`.
    pub async fn put(&mut self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let result = rpc("put", self.client().await?.put(key, value, None)).await;
        self.checked(result).map(drop)
    }

    /// Removes `keys`, in transactions of [`DELETES_PER_TXN`]; returns how many existed.
    pub async fn delete(&mut self, keys: &[String]) -> Result<usize, StoreError> {
        let mut deleted = 0;
        for chunk in keys.chunks(DELETES_PER_TXN) {
            let ops: Vec<TxnOp> = chunk
                .iter()
                .map(|key| TxnOp::delete(key.as_str(), None))
                .collect();
            let result = rpc("txn", self.client().await?.txn(Txn::new().and_then(ops))).await;
            let resp = self.checked(result)?;
            for op in resp.op_responses() {
                if let TxnOpResponse::Delete(d) = op {
                    deleted += usize::try_from(d.deleted()).unwrap_or(0);
                }
            }
        }
        Ok(deleted)
    }

    /// Reads `key`, applies `change` and writes the result only if the key has not changed
    /// since it was read (a compare on its modification revision); tries again otherwise.
    pub async fn update<E>(
        &mut self,
        key: &str,
        mut change: impl FnMut(Option<&[u8]>) -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, UpdateError<E>> {
        for _ in 0..UPDATE_TRIES {
            let (current, revision) = self.get_revision(key).await?;
            let new = change(current.as_deref()).map_err(UpdateError::Refused)?;
            let txn = Txn::new()
                .when([Compare::mod_revision(key, CompareOp::Equal, revision)])
                .and_then([TxnOp::put(key, new.clone(), None)]);
            let result = rpc("txn", self.client().await?.txn(txn)).await;
            if self.checked(result)?.succeeded() {
                return Ok(new);
            }
        }
        Err(StoreError::Contended {
            key: key.to_owned(),
            tries: UPDATE_TRIES,
        }
        .into())
    }

    /// Grants a lease of `ttl` seconds and writes `key` with it. When the write fails the
    /// lease is revoked again.
    pub async fn put_leased(
        &mut self,
        key: &str,
        value: &[u8],
        ttl: i64,
    ) -> Result<Lease, StoreError> {
        let result = rpc("lease grant", self.client().await?.lease_grant(ttl, None)).await;
        let grant = self.checked(result)?;
        let lease = Lease {
            id: grant.id(),
            ttl: grant.ttl(),
        };
        let options = PutOptions::new().with_lease(lease.id);
        let result = rpc("put", self.client().await?.put(key, value, Some(options))).await;
        if let Err(e) = self.checked(result) {
            let _ = self.revoke(lease.id).await;
            return Err(e);
        }
        Ok(lease)
    }

    /// Revokes a lease: its keys are deleted at once.
    pub async fn revoke(&mut self, lease: i64) -> Result<(), StoreError> {
        let result = rpc("lease revoke", self.client().await?.lease_revoke(lease)).await;
        self.checked(result).map(drop)
    }

    /// Renews `lease` every `every` until etcd says it is gone or something fails. Each
    /// renewal must be answered within twice `every` (still before the lease runs out when
    /// `every` is a third of its TTL).
    pub async fn keep_alive(&mut self, lease: i64, every: Duration) -> KeepAliveEnd {
        let mut renewed = false;
        let result = match self.client().await {
            Ok(client) => renew(client, lease, every, &mut renewed).await,
            Err(error) => return KeepAliveEnd::Failed { renewed, error },
        };
        match self.checked(result) {
            Ok(()) => KeepAliveEnd::Expired,
            Err(error) => KeepAliveEnd::Failed { renewed, error },
        }
    }
}

/// The renewal loop; `Ok` when the lease is gone.
async fn renew(
    client: &mut Client,
    lease: i64,
    every: Duration,
    renewed: &mut bool,
) -> Result<(), SyncError> {
    let (mut keeper, mut stream) = rpc("lease keep-alive", client.lease_keep_alive(lease)).await?;
    let mut ticker = tokio::time::interval(every);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        keeper.keep_alive().await?;
        let limit = every * 2;
        match tokio::time::timeout(limit, stream.message()).await {
            Err(_) => {
                return Err(SyncError::Timeout {
                    call: "lease keep-alive",
                    after: limit,
                })
            }
            Ok(Ok(Some(resp))) if resp.ttl() > 0 => *renewed = true,
            Ok(Ok(Some(_))) => return Ok(()),
            Ok(Ok(None)) => return Err(SyncError::Closed),
            Ok(Err(e)) => return Err(e.into()),
        }
    }
}
