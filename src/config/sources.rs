//! Where settings come from and which one wins: defaults < the TOML file (`--config`) <
//! environment variables < flags < `/<prefix>/config` in the store (which wins, as in
//! SkyDNS). Each becomes one source of the `config` crate, which layers them; every value
//! remembers its source, so an error names the source and the key.
//!
//! Keys match case-insensitively, with `-` read as `_`, and SkyDNS's alternative spellings
//! (`ndot`, `verbose`) are accepted. An unknown key is an error in the TOML file (a typo there
//! is ours to report) and is reported and ignored in the store, as SkyDNS ignores it;
//! start-up settings in the store are reported and ignored too.

use std::path::Path;

use clap::parser::ValueSource;
use clap::ArgMatches;
use config::{Config, Source, Value, ValueKind};

use super::settings::{RuntimeSettings, StartupSettings};
use super::table::{Spec, Table};
use super::ConfigError;

/// Keys SkyDNS knew that mean nothing here (its etcd v2/v3 switch and version): accepted and
/// dropped without a word.
const OBSOLETE_KEYS: [&str; 2] = ["etcd3", "version"];

/// Every setting: start-up ones first.
pub fn all_specs() -> impl Iterator<Item = &'static Spec> {
    StartupSettings::SPECS
        .iter()
        .chain(RuntimeSettings::SPECS.iter())
}

/// What the command line gave: values from environment variables and from flags, by key
/// (clap's defaults are left out: the table's defaults are the lowest source).
#[derive(Debug, Clone, Default)]
pub struct CommandLine {
    env: Vec<(&'static str, String)>,
    flags: Vec<(&'static str, String)>,
}

impl CommandLine {
    /// Sorts the settings clap parsed by where each came from. Settings the command does not
    /// define (`skydnsctl` takes only some) are left out.
    pub fn from_matches(matches: &ArgMatches) -> Self {
        let mut line = CommandLine::default();
        for spec in all_specs() {
            let Some(value) = matches
                .try_get_raw(spec.key)
                .ok()
                .flatten()
                .and_then(|mut values| values.next())
                .map(|v| v.to_string_lossy().into_owned())
            else {
                continue;
            };
            match matches.value_source(spec.key) {
                Some(ValueSource::EnvVariable) => line.env.push((spec.key, value)),
                Some(ValueSource::CommandLine) => line.flags.push((spec.key, value)),
                _ => {}
            }
        }
        line
    }
}

/// The sources of one load.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// Environment variables and flags.
    pub command_line: &'a CommandLine,
    /// The TOML file named by `--config`, read on every load.
    pub file: Option<&'a Path>,
    /// The store's `/<prefix>/config`: its key and raw JSON value.
    pub store: Option<(&'a str, &'a [u8])>,
}

/// A key of `/<prefix>/config` that was not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    /// The key as written.
    pub key: String,
    /// Why it was not used.
    pub reason: IgnoredReason,
}

/// Why a key of `/<prefix>/config` was not used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IgnoredReason {
    /// No such setting.
    Unknown,
    /// A start-up setting: it cannot change once the sockets and the store exist.
    StartupOnly,
}

impl IgnoredReason {
    /// What is wrong with such a key, completing "key `x` ...".
    pub fn problem(self) -> &'static str {
        match self {
            IgnoredReason::Unknown => "is not a known setting",
            IgnoredReason::StartupOnly => {
                "is a start-up setting, which the store cannot change; set it in the config file, the environment or the flags"
            }
        }
    }
}

/// The sources layered, and the store keys that were left out.
pub struct Layered {
    /// Every key of every setting, from the source that wins for it.
    pub config: Config,
    /// The source that wins, by key.
    origins: std::collections::HashMap<String, String>,
    /// Keys of `/<prefix>/config` that were not used.
    pub ignored: Vec<Ignored>,
}

impl Layered {
    /// The source the value of `key` comes from.
    fn origin(&self, key: &str) -> &str {
        self.origins.get(key).map_or("settings", String::as_str)
    }
}

/// One layer: values by canonical key, each remembering its source.
#[derive(Debug, Clone)]
struct Layer(config::Map<String, Value>);

impl Source for Layer {
    fn clone_into_box(&self) -> Box<dyn Source + Send + Sync> {
        Box::new(self.clone())
    }

    fn collect(&self) -> Result<config::Map<String, Value>, config::ConfigError> {
        Ok(self.0.clone())
    }
}

impl Layer {
    fn of_text<'a>(origin: &str, items: impl IntoIterator<Item = (&'a str, &'a str)>) -> Layer {
        let origin = origin.to_owned();
        Layer(
            items
                .into_iter()
                .map(|(key, text)| (key.to_owned(), Value::new(Some(&origin), text)))
                .collect(),
        )
    }
}

/// The setting a key names (case-insensitive, `-` as `_`, aliases); `Err(true)` for an
/// obsolete SkyDNS key, `Err(false)` for an unknown one.
pub fn canonical(key: &str) -> Result<&'static Spec, bool> {
    let key = key.to_ascii_lowercase().replace('-', "_");
    all_specs()
        .find(|s| s.key == key || s.key_alias == Some(key.as_str()))
        .ok_or_else(|| OBSOLETE_KEYS.contains(&key.as_str()))
}

/// Layers the sources.
pub fn layer(sources: &Sources<'_>) -> Result<Layered, ConfigError> {
    let defaults = Layer::of_text(
        "defaults",
        all_specs().map(|s| (s.key, s.default.unwrap_or(""))),
    );
    let line = sources.command_line;
    let env = Layer::of_text(
        "environment",
        line.env.iter().map(|(k, v)| (*k, v.as_str())),
    );
    let flags = Layer::of_text(
        "command line",
        line.flags.iter().map(|(k, v)| (*k, v.as_str())),
    );
    let mut layers = vec![defaults];
    if let Some(path) = sources.file {
        layers.push(file_layer(path)?);
    }
    layers.extend([env, flags]);
    let mut ignored = Vec::new();
    if let Some((key, raw)) = sources.store {
        let (store, left_out) = store_layer(key, raw)?;
        layers.push(store);
        ignored = left_out;
    }
    let mut origins = std::collections::HashMap::new();
    let mut builder = Config::builder();
    for layer in layers {
        for (key, value) in &layer.0 {
            origins.insert(key.clone(), value.origin().unwrap_or_default().to_owned());
        }
        builder = builder.add_source(layer);
    }
    let config = builder
        .build()
        .map_err(|e| ConfigError::new("settings", "-", e.to_string()))?;
    Ok(Layered {
        config,
        origins,
        ignored,
    })
}

/// The TOML file: every key must be a setting.
fn file_layer(path: &Path) -> Result<Layer, ConfigError> {
    let origin = path.display().to_string();
    let parsed = Config::builder()
        .add_source(config::File::from(path).format(config::FileFormat::Toml))
        .build()
        .and_then(|c| c.collect())
        .map_err(|e| ConfigError::new(&origin, "-", format!("cannot be read: {e}")))?;
    let mut layer = config::Map::new();
    for (key, value) in parsed {
        match canonical(&key) {
            Ok(spec) => {
                layer.insert(spec.key.to_owned(), Value::new(Some(&origin), value.kind));
            }
            Err(true) => {}
            Err(false) => return Err(ConfigError::new(&origin, &key, "is not a known setting")),
        }
    }
    Ok(Layer(layer))
}

/// `/<prefix>/config`: a JSON object; its run-time settings, and the keys left out.
fn store_layer(key: &str, raw: &[u8]) -> Result<(Layer, Vec<Ignored>), ConfigError> {
    let value: serde_json::Value = serde_json::from_slice(raw)
        .map_err(|e| ConfigError::new(key, "-", format!("is not valid JSON: {e}")))?;
    let serde_json::Value::Object(map) = value else {
        return Err(ConfigError::new(key, "-", "must be a JSON object"));
    };
    let origin = key.to_owned();
    let mut layer = config::Map::new();
    let mut ignored = Vec::new();
    for (name, value) in map {
        let reason = match canonical(&name) {
            Ok(spec) if RuntimeSettings::SPECS.iter().any(|s| s.key == spec.key) => {
                layer.insert(spec.key.to_owned(), Value::new(Some(&origin), kind(value)));
                continue;
            }
            Ok(_) => IgnoredReason::StartupOnly,
            Err(true) => continue,
            Err(false) => IgnoredReason::Unknown,
        };
        ignored.push(Ignored { key: name, reason });
    }
    ignored.sort_by(|a, b| a.key.cmp(&b.key));
    Ok((Layer(layer), ignored))
}

/// A JSON value as a `config` value.
fn kind(value: serde_json::Value) -> ValueKind {
    match value {
        serde_json::Value::Null => ValueKind::Nil,
        serde_json::Value::Bool(b) => ValueKind::Boolean(b),
        serde_json::Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => ValueKind::U64(u),
            (None, Some(i)) => ValueKind::I64(i),
            _ => ValueKind::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        serde_json::Value::String(s) => ValueKind::String(s),
        serde_json::Value::Array(items) => ValueKind::Array(
            items
                .into_iter()
                .map(|item| Value::new(None, kind(item)))
                .collect(),
        ),
        serde_json::Value::Object(map) => ValueKind::Table(
            map.into_iter()
                .map(|(k, v)| (k, Value::new(None, kind(v))))
                .collect(),
        ),
    }
}

/// Reads one group of settings from the layered sources. An invalid value is reported with
/// the source it came from and its key.
pub fn read<T: serde::de::DeserializeOwned>(layered: &Layered) -> Result<T, ConfigError> {
    layered.config.clone().try_deserialize().map_err(|e| {
        let (key, problem) = match e {
            config::ConfigError::At { error, key, .. } => (key, error.to_string()),
            config::ConfigError::Type {
                key,
                unexpected,
                expected,
                ..
            } => (key, format!("must be {expected}, not {unexpected}")),
            other => (None, other.to_string()),
        };
        match key {
            Some(key) => ConfigError::new(layered.origin(&key), &key, problem),
            None => ConfigError::new("settings", "-", problem),
        }
    })
}

/// One setting as the sources give it: the winning value and its source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Effective {
    /// The key.
    pub key: &'static str,
    /// The value as its source wrote it (secrets hidden); empty when unset.
    pub value: String,
    /// The source: `defaults`, the config file, `environment`, `command line` or
    /// `/<prefix>/config`.
    pub source: String,
}

/// Every setting with the value that wins and where it comes from, in table order.
pub fn effective(layered: &Layered) -> Vec<Effective> {
    all_specs()
        .map(|spec| {
            let source = layered.origin(spec.key).to_owned();
            let text = layered
                .config
                .get::<super::values::Raw>(spec.key)
                .map(|raw| raw.plain())
                .unwrap_or_default();
            let value = if spec.shape.secret && !text.is_empty() {
                "(hidden)".to_owned()
            } else {
                text
            };
            Effective {
                key: spec.key,
                value,
                source,
            }
        })
        .collect()
}

/// The clap arguments of every setting.
pub fn args() -> impl Iterator<Item = clap::Arg> {
    args_where(|_| true)
}

/// The clap arguments of the settings `keep` selects.
pub fn args_where(keep: impl Fn(&Spec) -> bool) -> impl Iterator<Item = clap::Arg> {
    all_specs()
        .filter(move |spec| keep(spec))
        .map(super::table::arg)
}

/// The start-up settings whose values differ between `a` and `b`, by key.
pub fn differing_startup_keys(a: &StartupSettings, b: &StartupSettings) -> Vec<&'static str> {
    let (Ok(a), Ok(b)) = (serde_json::to_value(a), serde_json::to_value(b)) else {
        return Vec::new();
    };
    StartupSettings::SPECS
        .iter()
        .map(|s| s.key)
        .filter(|key| a.get(key) != b.get(key))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_match_case_insensitively_with_aliases() {
        assert_eq!(canonical("TTL").map(|s| s.key), Ok("ttl"));
        assert_eq!(canonical("read-timeout").map(|s| s.key), Ok("read_timeout"));
        assert_eq!(canonical("ndot").map(|s| s.key), Ok("ndots"));
        assert_eq!(canonical("Verbose").map(|s| s.key), Ok("query_log"));
        assert_eq!(canonical("etcd3").map(|s| s.key), Err(true));
        assert_eq!(canonical("tll").map(|s| s.key), Err(false));
    }

    #[test]
    fn the_store_keys_are_start_up_settings() {
        for key in super::super::startup::STORE_KEYS {
            assert!(
                StartupSettings::SPECS.iter().any(|s| s.key == key),
                "{key} is not a start-up setting"
            );
        }
    }

    #[test]
    fn store_keys_that_cannot_apply_are_reported() {
        let (layer, ignored) = store_layer(
            "/skydns/config",
            br#"{"Domain":"x.test","dns_addr":"127.0.0.1:53","whatever":1,"version":2}"#,
        )
        .unwrap();
        assert!(layer.0.contains_key("domain"));
        assert_eq!(
            ignored,
            vec![
                Ignored {
                    key: "dns_addr".into(),
                    reason: IgnoredReason::StartupOnly
                },
                Ignored {
                    key: "whatever".into(),
                    reason: IgnoredReason::Unknown
                }
            ]
        );
    }
}
