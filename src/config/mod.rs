//! Configuration: every setting stated once (`settings.rs`), layered from its sources by the
//! `config` crate (`sources.rs`: defaults < config file (TOML) < environment < flags <
//! `/<prefix>/config` in the store, as SkyDNS), checked by its type (`values.rs`), and turned
//! into a [`StartupConfig`] (needs a restart) and a [`RuntimeConfig`] (swapped on reload). A
//! bad value is an error naming its source and key, never a silent default. [`load`] is the
//! one way in, at start-up and on every reload.

pub mod acl;
pub mod cli;
pub mod host;
pub mod runtime;
pub mod settings;
pub mod sources;
pub mod startup;
pub mod table;
pub mod values;

use thiserror::Error;

pub use host::HostFacts;
pub use runtime::RuntimeConfig;
use settings::{RuntimeSettings, StartupSettings};
pub use sources::{CommandLine, Effective, Ignored, IgnoredReason, Sources};
pub use startup::{EtcdConfig, LogTarget, MetricsConfig, StartupConfig, StoreConfig};

/// A setting that cannot be used, with where it came from.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{source_name}: {}{problem}", if key == "-" { String::new() } else { format!("key `{key}` ") })]
pub struct ConfigError {
    /// The source: a file name, `/<prefix>/config`, `command line`, `environment`.
    pub source_name: String,
    /// The key, or `-` when the problem is the source as a whole.
    pub key: String,
    /// What is wrong.
    pub problem: String,
}

impl ConfigError {
    /// An error about `key` in `source`.
    pub fn new(source: &str, key: &str, problem: impl Into<String>) -> Self {
        ConfigError {
            source_name: source.to_owned(),
            key: key.to_owned(),
            problem: problem.into(),
        }
    }
}

/// What one load gives.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The start-up settings, as the config file, the environment and the flags give them.
    pub startup: StartupConfig,
    /// The run-time settings, `/<prefix>/config` included.
    pub runtime: RuntimeConfig,
    /// Keys of `/<prefix>/config` that were not used.
    pub ignored: Vec<Ignored>,
}

/// Layers `sources`, checks every value and builds both configs.
pub fn load(sources: &Sources<'_>, host: &HostFacts) -> Result<Loaded, ConfigError> {
    let layered = sources::layer(sources)?;
    let startup = StartupConfig::new(&sources::read::<StartupSettings>(&layered)?)?;
    let runtime = RuntimeConfig::new(&sources::read::<RuntimeSettings>(&layered)?, &startup, host);
    Ok(Loaded {
        startup,
        runtime,
        ignored: layered.ignored,
    })
}

/// Every setting's winning value and source (for `skydns check-config --show`).
pub fn effective(sources: &Sources<'_>) -> Result<Vec<Effective>, ConfigError> {
    Ok(sources::effective(&sources::layer(sources)?))
}

/// The configuration every default gives, on a host with no facts.
pub fn defaults() -> Loaded {
    let command_line = CommandLine::default();
    let sources = Sources {
        command_line: &command_line,
        file: None,
        store: None,
    };
    match load(&sources, &HostFacts::default()) {
        Ok(loaded) => loaded,
        // The defaults are part of the program: a bad one is a bug caught by the tests.
        Err(e) => panic!("the built-in defaults do not load: {e}"),
    }
}
