//! Configuration: sources, precedence and validation. Defaults < config file (TOML) <
//! environment < flags < `/<prefix>/config` in the store (as SkyDNS). One `validate` turns the
//! merged layer into a [`StartupConfig`] (needs a restart) and a [`RuntimeConfig`] (swapped on
//! reload); a bad value is an error naming the key, never a silent default.

pub mod acl;
pub mod cli;
pub mod layer;
pub mod runtime;
pub mod startup;
mod validate;

use std::path::Path;

use serde_json::Value;
use thiserror::Error;

pub use layer::Layer;
pub use runtime::RuntimeConfig;
pub use startup::{EtcdConfig, LogTarget, StartupConfig, StoreConfig};
pub use validate::{resolv_conf_nameservers, validate, HostFacts};

/// A setting that cannot be used, with where it came from.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("{source_name}: {}{problem}", if key == "-" { String::new() } else { format!("key `{key}` ") })]
pub struct ConfigError {
    pub source_name: String,
    pub key: String,
    pub problem: String,
}

impl ConfigError {
    pub fn new(source: &str, key: &str, problem: impl Into<String>) -> Self {
        ConfigError {
            source_name: source.to_owned(),
            key: key.to_owned(),
            problem: problem.into(),
        }
    }
}

/// Reads our TOML config file into a layer (unknown keys are errors: they are typos).
pub fn read_file(path: &Path) -> Result<Layer, ConfigError> {
    let source = path.display().to_string();
    let parsed = ::config::Config::builder()
        .add_source(::config::File::from(path).format(::config::FileFormat::Toml))
        .build()
        .and_then(|c| c.try_deserialize::<Value>())
        .map_err(|e| ConfigError::new(&source, "-", format!("cannot be read: {e}")))?;
    let map = parsed.as_object().cloned().unwrap_or_default();
    Layer::from_map(&map, &source, true).map(|(layer, _)| layer)
}

/// Parses the JSON value of `/<prefix>/config`. Returns the layer and unknown keys (ignored,
/// as SkyDNS does, but worth a warning).
pub fn read_store_config(key: &str, raw: &[u8]) -> Result<(Layer, Vec<String>), ConfigError> {
    let value: Value = serde_json::from_slice(raw)
        .map_err(|e| ConfigError::new(key, "-", format!("is not valid JSON: {e}")))?;
    match &value {
        Value::Object(map) => Layer::from_map(map, key, false),
        _ => Err(ConfigError::new(key, "-", "must be a JSON object")),
    }
}
