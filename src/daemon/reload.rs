//! Applying configuration while serving: after the first snapshot and on every SIGHUP, load
//! the settings again (the config file and `/<prefix>/config` are read anew, the command line
//! is kept) and publish the new settings and the signer that goes with them as one value
//! (queries in flight keep the one they loaded). A bad configuration keeps the running one
//! and says why in the log and in STATUS=. Start-up settings that changed are reported as
//! "restart required"; those in `/<prefix>/config` are reported as ignored.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Result;

use crate::config::cli::Cli;
use crate::config::{self, Ignored, IgnoredReason, Loaded, RuntimeConfig, StartupConfig};
use crate::dnssec::{self, Signer};
use crate::metrics::Metrics;
use crate::net::serving::{Serving, ServingCell};
use crate::store::{config_key, StoreState};
use crate::sys::logging::LogControl;
use crate::sys::{interfaces, notify};

/// Owns the only writer of the serving configuration.
pub(super) struct Reloader {
    cli: Cli,
    /// The settings the process was started with (sockets, identity, store, logging).
    running: StartupConfig,
    serving: Arc<ServingCell>,
    store: Arc<StoreState>,
    log: LogControl,
    /// The addresses skydns serves on (never default nameservers).
    own_sockets: Vec<SocketAddr>,
    reloads: u64,
    last_status: String,
    /// Where reloads are counted by result, when metrics are on.
    metrics: Option<Arc<Metrics>>,
}

impl Reloader {
    /// The reloader of a process started with `running`.
    pub(super) fn new(
        cli: Cli,
        running: StartupConfig,
        serving: Arc<ServingCell>,
        store: Arc<StoreState>,
        log: LogControl,
        own_sockets: Vec<SocketAddr>,
        metrics: Option<Arc<Metrics>>,
    ) -> Self {
        Reloader {
            cli,
            running,
            serving,
            store,
            log,
            own_sockets,
            reloads: 0,
            last_status: String::new(),
            metrics,
        }
    }

    /// Applies the configuration including the store's first `/<prefix>/config`; an invalid one
    /// is a start-up error.
    pub(super) fn apply_first(&mut self) -> Result<()> {
        let next = self.load()?;
        // The key the files and flags name was read before the privilege drop: keep it unless
        // the store's configuration names another one.
        let signer = match self.serving.load().signer.clone() {
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
    pub(super) fn reload(&mut self) {
        notify::reloading();
        self.reloads += 1;
        let n = self.reloads;
        tracing::info!("reload #{n}: reading the configuration");
        let next = self
            .load()
            .and_then(|next| Ok((self.next_signer(&next.runtime)?, next)));
        if let Some(metrics) = &self.metrics {
            metrics.reloads.note(next.is_ok());
        }
        self.last_status = match next {
            Ok((signer, next)) => self.apply(next, signer, &format!("reload #{n} applied")),
            Err(e) => {
                let why = crate::sys::report::error_line(&e);
                tracing::error!(
                    "reload #{n} failed, still serving the previous configuration: {why}"
                );
                format!("reload #{n} failed, previous configuration kept: {why}")
            }
        };
        notify::ready(&format!("serving; {}", self.last_status));
    }

    /// The STATUS= text of the last configuration change.
    pub(super) fn status(&self) -> &str {
        &self.last_status
    }

    /// Loads the settings once: the command line, the config file and the store's value.
    fn load(&self) -> Result<Loaded> {
        let key = config_key(&self.running.path_prefix);
        let value = self.store.config_value();
        let sources = self
            .cli
            .sources(value.as_deref().map(|v| (key.as_str(), v.as_slice())));
        Ok(config::load(
            &sources,
            &interfaces::host_facts(&self.own_sockets),
        )?)
    }

    /// True when `runtime` names the same key, zone and cache size as the running config.
    fn same_key_settings(&self, runtime: &RuntimeConfig) -> bool {
        let running = self.serving.load();
        running.cfg.dnssec == runtime.dnssec
            && running.cfg.domain == runtime.domain
            && running.cfg.scache == runtime.scache
            && running.signer.is_some() == runtime.dnssec.is_some()
    }

    /// The signer for `runtime`: the key files are read again, so a new key under the same
    /// basename is picked up. When the key settings are unchanged and the files cannot be read
    /// (they may be readable by root only, read before the privilege drop), the loaded key
    /// stays; when they changed, a key that cannot be loaded rejects the configuration.
    fn next_signer(&self, runtime: &RuntimeConfig) -> Result<Option<Arc<Signer>>> {
        let current = self.serving.load().signer.clone();
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

    /// Publishes the settings and `signer` as one value, applies the log filter, reports
    /// start-up settings it cannot apply. Returns the status text.
    fn apply(&mut self, next: Loaded, signer: Option<Arc<Signer>>, done: &str) -> String {
        let current = self.serving.load_full();
        let same_signer = match (&current.signer, &signer) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (a, b) => a.is_none() && b.is_none(),
        };
        let changed = current.cfg != next.runtime || !same_signer;
        self.log
            .set_filter(&next.runtime.log_level, next.runtime.query_log);
        self.serving
            .store(Arc::new(Serving::new(next.runtime, signer, Some(&current))));
        let unchanged = self.reloads > 0 && !changed;
        let mut status = format!("{done}{}", if unchanged { " (no change)" } else { "" });
        let pending = self.running.restart_required(&next.startup);
        if !pending.is_empty() {
            let keys = pending.join(", ");
            tracing::warn!("restart required to apply: {keys}; these keep their running values");
            status.push_str(&format!("; restart required for: {keys}"));
        }
        report_ignored(&config_key(&self.running.path_prefix), &next.ignored);
        tracing::info!("{status}");
        status
    }
}

/// Logs the keys of `/<prefix>/config` (named `key`) that were not used.
pub(super) fn report_ignored(key: &str, ignored: &[Ignored]) {
    let (unknown, startup): (Vec<_>, Vec<_>) = ignored
        .iter()
        .partition(|i| i.reason == IgnoredReason::Unknown);
    for i in unknown {
        tracing::warn!(key = %i.key, "ignoring unknown key in {key}");
    }
    if !startup.is_empty() {
        let keys: Vec<&str> = startup.iter().map(|i| i.key.as_str()).collect();
        tracing::warn!(
            "ignoring start-up settings in {key}: {}; set them in the config file, the environment or the flags",
            keys.join(", ")
        );
    }
}

fn log_signer(signer: &Signer, scache: usize) {
    let key = signer.key();
    tracing::info!(zone = %key.zone, key_tag = key.key_tag, algorithm = %key.algorithm, scache, "signing with DNSSEC key");
}

#[cfg(test)]
mod tests {
    use crate::config::cli::Cli;
    use crate::config::{load, HostFacts, StartupConfig};

    fn startup(args: &[&str]) -> StartupConfig {
        let cli = Cli::try_parse_from(
            ["skydns", "--file=/tmp/x.json"]
                .iter()
                .chain(args)
                .map(Into::into),
        )
        .unwrap();
        load(&cli.sources(None), &HostFacts::default())
            .unwrap()
            .startup
    }

    #[test]
    fn names_the_settings_that_need_a_restart() {
        let running = startup(&[]);
        let changed = startup(&["--addr=127.0.0.1:5353", "--user=other", "--log-level=debug"]);
        assert_eq!(running.restart_required(&changed), vec!["dns_addr", "user"]);
        assert!(running.restart_required(&startup(&[])).is_empty());
    }
}
