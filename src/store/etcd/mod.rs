//! The etcd v3 store: a watch-synced mirror of `/<prefix>/`. One Range at revision R loads the
//! prefix, a Watch from R+1 applies every change as a new snapshot, and nothing on the query
//! path ever waits on etcd.
//!
//! Failures (unreachable endpoint, a TLS or auth error, a silent or restarted etcd, a lost
//! leader) end the session: the last snapshot keeps being served and is marked stale, and the
//! next attempt goes to the next endpoint after a capped, jittered backoff (one log line per
//! attempt). A session resumes the watch after the last revision it applied, or loads the
//! prefix again when that revision has been compacted.
//!
//! Submodules: [`connect`] (endpoints, TLS, auth), [`load`] (the paged Range), [`mirror`]
//! (events to snapshots), [`leases`] (lease deadlines), [`watch`] (one session's watch loop),
//! [`backoff`].

pub mod backoff;
pub mod connect;
pub mod leases;
pub mod load;
pub mod mirror;
pub mod watch;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::Client;
use thiserror::Error;

use self::backoff::Backoff;
pub use self::connect::{ConnectError, Connector};
use self::mirror::{Mirror, Update};
use super::StoreState;

/// How long one unary call (a Range page, a lease look-up) may take.
pub const RPC_TIMEOUT: Duration = Duration::from_secs(5);

/// A session in sync at least this long resets the backoff when it ends.
const STABLE_SESSION: Duration = Duration::from_secs(5);

/// While etcd is unreachable, leases are held until the next attempt plus this margin.
const LEASE_HOLD_MARGIN: Duration = Duration::from_secs(2);

/// Why a session with etcd ended.
#[derive(Debug, Error)]
pub enum SyncError {
    /// The etcd client failed: connecting, authenticating or a call.
    #[error("{0}")]
    Etcd(#[from] etcd_client::Error),
    /// A call got no answer in time.
    #[error("{call} got no answer within {after:?}")]
    Timeout {
        /// What was called, e.g. `get`.
        call: &'static str,
        /// The time it was given.
        after: Duration,
    },
    /// The watch was canceled because the revision it needs is compacted away; the next
    /// session loads everything again.
    #[error("watched revision {revision} has been compacted (oldest kept: {compacted})")]
    Compacted {
        /// The etcd revision the watch needed.
        revision: i64,
        /// The oldest revision etcd still keeps.
        compacted: i64,
    },
    /// etcd canceled the watch for another reason; holds the reason etcd gave.
    #[error("watch canceled by etcd: {0}")]
    Canceled(String),
    /// The watch stream ended (or no endpoint was tried).
    #[error("watch stream closed by etcd")]
    Closed,
    /// A progress request got no answer within this time.
    #[error("etcd did not answer a progress request within {0:?}")]
    Silent(Duration),
}

/// Runs one unary call with [`RPC_TIMEOUT`].
pub async fn rpc<T>(
    call: &'static str,
    fut: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, SyncError> {
    rpc_within(call, RPC_TIMEOUT, fut).await
}

/// Runs one unary call that must answer within `limit`.
pub async fn rpc_within<T>(
    call: &'static str,
    limit: Duration,
    fut: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, SyncError> {
    match tokio::time::timeout(limit, fut).await {
        Ok(result) => Ok(result?),
        Err(_) => Err(SyncError::Timeout { call, after: limit }),
    }
}

/// The etcd store for one prefix.
pub struct EtcdStore {
    connector: Connector,
    prefix: String,
}

impl EtcdStore {
    /// The store of the keys under `/<prefix>/`, reached through `connector`.
    pub fn new(connector: Connector, prefix: &str) -> Self {
        EtcdStore {
            connector,
            prefix: prefix.to_owned(),
        }
    }

    /// Keeps `state` in sync with etcd, forever: whatever fails is retried with backoff while
    /// the last snapshot keeps being served.
    pub async fn run(self, state: Arc<StoreState>) {
        let mut mirror = Mirror::new(&self.prefix);
        let mut backoff = Backoff::default();
        let mut endpoint = 0usize;
        loop {
            let started = Instant::now();
            let error = match self.session(endpoint, &mut mirror, &state).await {
                Session::Synced(error) => {
                    // A session that was in sync for a while starts the backoff over; one
                    // that fails right after its watch started keeps backing off.
                    if started.elapsed() >= STABLE_SESSION {
                        backoff.reset();
                    }
                    error
                }
                Session::Failed(error) => error,
            };
            state.note_reconnect();
            if let SyncError::Compacted { .. } = error {
                tracing::warn!(error = %error, "loading the whole prefix again");
                mirror.needs_reload();
                continue;
            }
            let delay = backoff.next_delay(&mut rand::rng());
            if state.is_loaded() {
                let horizon = delay + LEASE_HOLD_MARGIN;
                if let Some(update) = mirror.hold_leases(&state.snapshot(), Instant::now(), horizon)
                {
                    state.publish_held(update.snapshot, update.config_value, &update.rejected);
                }
            }
            state.mark_stale();
            let endpoints = self.connector.endpoints();
            let failed = &endpoints[endpoint % endpoints.len()];
            endpoint = endpoint.wrapping_add(1);
            let serving = if state.is_loaded() {
                "serving the last snapshot"
            } else {
                "answering SERVFAIL until the first load"
            };
            tracing::warn!(
                endpoint = %failed,
                error = %error,
                attempt = backoff.failures(),
                retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                next_endpoint = %endpoints[endpoint % endpoints.len()],
                "etcd unavailable; {serving}"
            );
            tokio::time::sleep(delay).await;
        }
    }

    async fn session(&self, endpoint: usize, mirror: &mut Mirror, state: &StoreState) -> Session {
        let client = match self.connector.connect(endpoint).await {
            Ok(c) => c,
            Err(e) => return Session::Failed(e.into()),
        };
        if mirror.revision() == 0 {
            match self.full_load(&client, mirror).await {
                Ok(update) => {
                    let services = update.snapshot.len();
                    publish(state, update);
                    tracing::info!(
                        services,
                        revision = mirror.revision(),
                        "loaded the etcd prefix /{}/",
                        self.prefix
                    );
                }
                Err(e) => return Session::Failed(e),
            }
        }
        watch::follow(&client, &self.prefix, mirror, state).await
    }

    async fn full_load(&self, client: &Client, mirror: &mut Mirror) -> Result<Update, SyncError> {
        let loaded = load::load(client, &self.prefix).await?;
        mirror.load(client, loaded).await
    }
}

/// How a session ended.
pub enum Session {
    /// The session was in sync (its watch was running) before it failed.
    Synced(SyncError),
    /// The session failed before it was in sync.
    Failed(SyncError),
}

/// Publishes an update into the shared state.
pub fn publish(state: &StoreState, update: Update) {
    state.publish(update.snapshot, update.config_value, &update.rejected);
}

/// Reads the raw `/<prefix>/config` value once (for `skydns check-config`), trying every
/// endpoint in turn within `limit`.
pub async fn read_config_value(
    connector: &Connector,
    prefix: &str,
    limit: Duration,
) -> Result<Option<Vec<u8>>, SyncError> {
    let key = super::config_key(prefix);
    let attempt = async {
        let mut last = None;
        for i in 0..connector.endpoints().len() {
            let result = async {
                let mut client = connector.connect(i).await?;
                let resp = rpc("get", client.get(key.as_str(), None)).await?;
                Ok::<_, SyncError>(resp.kvs().first().map(|kv| kv.value().to_vec()))
            };
            match result.await {
                Ok(value) => return Ok(value),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or(SyncError::Closed))
    };
    match tokio::time::timeout(limit, attempt).await {
        Ok(result) => result,
        Err(_) => Err(SyncError::Timeout {
            call: "reading the config key",
            after: limit,
        }),
    }
}
