//! `skydns check-config` (and `skydnsctl check-config`): validates every setting, those in
//! the store's `/<prefix>/config` included, and the DNSSEC key they name, then exits;
//! `--show` lists every setting with the value in force and its source. etcd gets a bounded
//! time to answer.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::{self, CommandLine, Sources, StartupConfig, StoreConfig};
use crate::dnssec;
use crate::store::etcd::{self, Connector};
use crate::store::{config_key, file};
use crate::sys::interfaces;

/// How long `skydns check-config` waits for etcd.
const CHECK_CONFIG_TIMEOUT: Duration = Duration::from_secs(5);

/// Checks the configuration that `command_line` (flags and environment), the config file and
/// the store of `startup` give; prints "configuration is valid" (after every setting with its
/// value and source, with `show`) and returns 0, or an error naming the source and key.
/// Starts its own runtime: call it outside one.
pub fn run(
    command_line: &CommandLine,
    config_file: Option<&Path>,
    startup: &StartupConfig,
    show: bool,
) -> Result<i32> {
    let store_value = match &startup.store {
        StoreConfig::File(path) => file::load(path, &startup.path_prefix)?.config_value,
        StoreConfig::Etcd(cfg) => {
            let connector = Connector::new(cfg)?;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the async runtime")?;
            runtime
                .block_on(etcd::read_config_value(
                    &connector,
                    &startup.path_prefix,
                    CHECK_CONFIG_TIMEOUT,
                ))
                .context("cannot read the configuration from etcd")?
        }
    };
    let key = config_key(&startup.path_prefix);
    let sources = Sources {
        command_line,
        file: config_file,
        store: store_value.as_deref().map(|v| (key.as_str(), v)),
    };
    let loaded = config::load(&sources, &interfaces::host_facts(&[]))?;
    super::reload::report_ignored(&key, &loaded.ignored);
    dnssec::load_signer(&loaded.runtime)?;
    if show {
        for setting in config::effective(&sources)? {
            println!(
                "{} = {:?}  # {}",
                setting.key, setting.value, setting.source
            );
        }
    }
    println!("configuration is valid");
    Ok(0)
}
