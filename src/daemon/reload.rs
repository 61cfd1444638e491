//! Applying configuration while serving: after the first snapshot and on every SIGHUP, re-read
//! the config file and `/<prefix>/config` from the store, merge them with the command line,
//! validate, and swap the [`RuntimeConfig`] atomically (queries in flight keep the one they
//! loaded). A bad configuration keeps the running one and says why in the log and in STATUS=.
//! Settings that need new sockets or a new identity are reported as "restart required".

use std::sync::Arc;

use anyhow::Result;
use arc_swap::{ArcSwap, ArcSwapOption};

use super::{base_layer, resolve_config};
use crate::config::cli::Cli;
use crate::config::{RuntimeConfig, StartupConfig};
use crate::dnssec::{self, Signer};
use crate::store::StoreState;
use crate::sys::logging::LogControl;
use crate::sys::notify;

/// Owns the only writer of the runtime config.
pub struct Reloader {
    cli: Cli,
    /// The settings the process was started with (sockets, identity, store, logging).
    running: StartupConfig,
    runtime: Arc<ArcSwap<RuntimeConfig>>,
    /// The DNSSEC signer the handler uses; swapped together with the runtime config.
    signer: Arc<ArcSwapOption<Signer>>,
    store: Arc<StoreState>,
    log: LogControl,
    reloads: u64,
    last_status: String,
    /// The log level in force (reloadable).
    log_level: String,
}

/// A configuration read anew: what applies, and the startup settings as the config file,
/// environment and flags alone give them (startup settings in `/<prefix>/config` are not used:
/// the sockets and the store exist before it is read).
struct Resolved {
    startup: StartupConfig,
    runtime: RuntimeConfig,
    without_store: StartupConfig,
}

impl Reloader {
    pub fn new(
        cli: Cli,
        running: StartupConfig,
        runtime: Arc<ArcSwap<RuntimeConfig>>,
        signer: Arc<ArcSwapOption<Signer>>,
        store: Arc<StoreState>,
        log: LogControl,
    ) -> Self {
        Reloader {
            cli,
            running,
            runtime,
            signer,
            store,
            log,
            reloads: 0,
            last_status: String::new(),
            log_level: String::new(),
        }
    }

    /// Applies the configuration including the store's first `/<prefix>/config`; an invalid one
    /// is a start-up error.
    pub fn apply_first(&mut self) -> Result<()> {
        let next = self.resolve()?;
        // The key the files and flags name was read before the privilege drop: keep it unless
        // the store's configuration names another one.
        let signer = match self.signer.load_full() {
            Some(loaded) if self.same_key_settings(&next.runtime) => {
                log_signer(&loaded, next.runtime.scache);
                Some(loaded)
            }
            _ => self.next_signer(&next.runtime)?,
        };
        self.last_status = self.apply(next, signer, "configuration loaded");
        Ok(())
    }

    /// A reload (SIGHUP): RELOADING=1, apply or keep the old config, then READY=1 with STATUS=.
    pub fn reload(&mut self) {
        notify::reloading();
        self.reloads += 1;
        let n = self.reloads;
        tracing::info!("reload #{n}: reading the configuration");
        let next = self
            .resolve()
            .and_then(|next| Ok((self.next_signer(&next.runtime)?, next)));
        self.last_status = match next {
            Ok((signer, next)) => self.apply(next, signer, &format!("reload #{n} applied")),
            Err(e) => {
                tracing::error!(
                    "reload #{n} failed, still serving the previous configuration: {}",
                    crate::sys::report::error_line(&e)
                );
                format!(
                    "reload #{n} failed, previous configuration kept: {}",
                    crate::sys::report::error_line(&e)
                )
            }
        };
        notify::ready(&format!("serving; {}", self.last_status));
    }

    /// The STATUS= text of the last configuration change.
    pub fn status(&self) -> &str {
        &self.last_status
    }

    fn resolve(&self) -> Result<Resolved> {
        let base = base_layer(&self.cli)?;
        let value = self.store.config_value();
        let prefix = &self.running.path_prefix;
        let (startup, runtime) =
            resolve_config(&base, prefix, value.as_deref().map(Vec::as_slice))?;
        let (without_store, _) = resolve_config(&base, prefix, None)?;
        Ok(Resolved {
            startup,
            runtime,
            without_store,
        })
    }

    /// True when `runtime` names the same key, zone and cache size as the running config.
    fn same_key_settings(&self, runtime: &RuntimeConfig) -> bool {
        let running = self.runtime.load();
        running.dnssec == runtime.dnssec
            && running.domain == runtime.domain
            && running.scache == runtime.scache
            && self.signer.load().is_some() == runtime.dnssec.is_some()
    }

    /// The signer for `runtime`: the key files are read again, so a new key under the same
    /// basename is picked up. When the key settings are unchanged and the files cannot be read
    /// (they may be readable by root only, read before the privilege drop), the loaded key
    /// stays; when they changed, a key that cannot be loaded rejects the configuration.
    fn next_signer(&self, runtime: &RuntimeConfig) -> Result<Option<Arc<Signer>>> {
        let current = self.signer.load_full();
        let same_settings = self.same_key_settings(runtime);
        match dnssec::load_signer(runtime) {
            Ok(Some(new)) => match current {
                // The same key keeps its signature cache.
                Some(cur) if same_settings && cur.key().dnskey == new.key().dnskey => Ok(Some(cur)),
                _ => {
                    log_signer(&new, runtime.scache);
                    Ok(Some(new))
                }
            },
            Ok(None) => Ok(None),
            Err(e) if same_settings => {
                tracing::warn!("cannot read the DNSSEC key again, keeping the loaded one: {e}");
                Ok(current)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Swaps in `runtime` and `signer`, applies the log filter, reports startup settings it
    /// cannot apply. Returns the status text.
    fn apply(&mut self, next: Resolved, signer: Option<Arc<Signer>>, done: &str) -> String {
        let Resolved {
            startup,
            runtime,
            without_store,
        } = next;
        let same_signer = match (self.signer.load_full(), &signer) {
            (Some(a), Some(b)) => Arc::ptr_eq(&a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        let changed =
            **self.runtime.load() != runtime || !same_signer || self.log_level != startup.log_level;
        self.log.set_filter(&startup.log_level, runtime.query_log);
        self.log_level = startup.log_level.clone();
        self.signer.store(signer);
        self.runtime.store(Arc::new(runtime));
        let unchanged = self.reloads > 0 && !changed;
        let mut status = format!("{done}{}", if unchanged { " (no change)" } else { "" });
        let pending = restart_required(&self.running, &without_store);
        if !pending.is_empty() {
            let keys = pending.join(", ");
            tracing::warn!("restart required to apply: {keys}; these keep their running values");
            status.push_str(&format!("; restart required for: {keys}"));
        }
        let ignored = restart_required(&without_store, &startup);
        if !ignored.is_empty() {
            let keys = ignored.join(", ");
            tracing::warn!(
                "ignoring start-up settings in /{}/config: {keys}; set them in the config file, the environment or the flags",
                self.running.path_prefix
            );
        }
        tracing::info!("{status}");
        status
    }
}

fn log_signer(signer: &Signer, scache: usize) {
    let key = signer.key();
    tracing::info!(zone = %key.zone, key_tag = key.key_tag, algorithm = %key.algorithm, scache, "signing with DNSSEC key");
}

/// The startup settings that differ (by their config key). The log level is not among them: it
/// is applied while running.
pub fn restart_required(running: &StartupConfig, new: &StartupConfig) -> Vec<&'static str> {
    let checks = [
        (running.addrs != new.addrs, "dns_addr"),
        (running.systemd != new.systemd, "systemd"),
        (
            running.store != new.store,
            "store (file, machines, etcd TLS and credentials)",
        ),
        (running.path_prefix != new.path_prefix, "path_prefix"),
        (running.user != new.user, "user"),
        (running.group != new.group, "group"),
        (running.log != new.log, "log"),
        (
            running.tcp_idle_timeout != new.tcp_idle_timeout,
            "tcp_idle_timeout",
        ),
        (
            running.tcp_max_connections != new.tcp_max_connections,
            "tcp_max_connections",
        ),
    ];
    checks
        .into_iter()
        .filter_map(|(differs, key)| differs.then_some(key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{validate, HostFacts, Layer};

    fn startup(layer: Layer) -> StartupConfig {
        validate(&layer, &HostFacts::default()).unwrap().0
    }

    #[test]
    fn names_the_settings_that_need_a_restart() {
        let base = Layer {
            file: Some("/tmp/x.json".into()),
            ..Layer::default()
        };
        let running = startup(base.clone());
        let changed = startup(base.clone().merged(Layer {
            dns_addr: Some(vec!["127.0.0.1:5353".into()]),
            user: Some("other".into()),
            log_level: Some("debug".into()),
            ..Layer::default()
        }));
        assert_eq!(
            restart_required(&running, &changed),
            vec!["dns_addr", "user"]
        );
        assert!(restart_required(&running, &startup(base)).is_empty());
    }
}
