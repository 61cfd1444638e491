//! `skydnsctl`: the operator's command line for what skydns serves. It registers, removes and
//! lists services and reads and changes `/<prefix>/config`, in etcd or in the file store,
//! built on the daemon's own parts: the settings table and its loading (which store, how to
//! reach it, what a valid setting is), the service parser (what a valid value is), the
//! name-to-key mapping and the etcd connector (TLS, authentication).
//!
//! Modules: [`cli`] (the command line), [`name`] (NAME to key), [`record`] (flags to a
//! service value), [`store`] over [`etcd`] and [`file`], [`listing`] (what `ls` shows),
//! [`lease`] (`put --lease`), [`service`] and [`settings`] (the commands), [`error`] (exit
//! codes).

pub mod cli;
pub mod error;
pub mod etcd;
pub mod file;
pub mod lease;
pub mod listing;
pub mod name;
pub mod record;
pub mod service;
pub mod settings;
pub mod store;

use anyhow::{Context, Result};

use self::cli::{Command, ConfigCommand, Ctl, ServiceCommand};
use self::error::UsageError;
use self::store::Store;
use crate::config::{self, HostFacts, LogTarget, Sources};
use crate::daemon::check_config;
use crate::sys::logging;

/// Runs one `skydnsctl` command; returns the exit code.
pub fn run(ctl: &Ctl) -> Result<i32> {
    if let Command::Completions { shell } = ctl.command {
        let mut command = Ctl::command();
        clap_complete::generate(shell, &mut command, "skydnsctl", &mut std::io::stdout());
        return Ok(0);
    }
    let sources = Sources {
        command_line: &ctl.settings,
        file: ctl.config.as_deref(),
        store: None,
    };
    let loaded = config::load(&sources, &HostFacts::default());
    if let Command::CheckConfig { show } = ctl.command {
        // Invalid settings are what check-config reports: exit 1, as `skydns check-config`.
        let startup = loaded?.startup;
        // The daemon's check reports keys it ignores through the log: show them on stderr.
        logging::init(LogTarget::Stderr, "warn", false, None)?;
        return check_config::run(&ctl.settings, ctl.config.as_deref(), &startup, show);
    }
    let startup = loaded.map_err(UsageError::Setting)?.startup;
    let mut store = Store::open(&startup)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(dispatch(&mut store, &ctl.command))
}

/// The commands that work on the store.
async fn dispatch(store: &mut Store, command: &Command) -> Result<i32> {
    match command {
        Command::Service(ServiceCommand::Put {
            name,
            fields,
            lease,
        }) => service::put(store, name, fields, *lease).await,
        Command::Service(ServiceCommand::Rm { name, recursive }) => {
            service::rm(store, name, *recursive).await
        }
        Command::Service(ServiceCommand::Ls { name, json }) => {
            service::ls(store, name.as_deref(), *json).await
        }
        Command::Config(ConfigCommand::Get) => settings::get(store).await,
        Command::Config(ConfigCommand::Set { settings }) => settings::set(store, settings).await,
        Command::CheckConfig { .. } | Command::Completions { .. } => Ok(0),
    }
}
