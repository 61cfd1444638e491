//! The embedded file store for one host, quick starts and tests: a JSON object mapping
//! etcd-style keys to service values (objects, or strings holding them), exactly what one would
//! `etcdctl put`. The file is polled and re-read when it changes; a broken file is reported and
//! the last good data keeps being served.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use thiserror::Error;

use super::StoreState;
use crate::core::snapshot::Rejected;
use crate::core::Snapshot;

/// How often the file is checked for changes.
pub const POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Why the file cannot be loaded.
#[derive(Debug, Error)]
pub enum FileStoreError {
    /// The file cannot be read.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The file is not valid JSON.
    #[error("{path} is not valid JSON: {error}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The parser's error (with line and column).
        error: serde_json::Error,
    },
    /// The file's JSON is not an object.
    #[error("{path} must hold a JSON object mapping keys to values")]
    NotAnObject {
        /// The file.
        path: PathBuf,
    },
    /// The blocking task that reads the file failed (panicked or was cancelled); holds why.
    #[error("the file store reader failed: {0}")]
    Task(String),
}

/// What one read of the file gives.
pub struct Loaded {
    /// The services of the file.
    pub snapshot: Snapshot,
    /// The value of the `/<prefix>/config` key (a string's contents, else its JSON text);
    /// `None` when absent.
    pub config_value: Option<Vec<u8>>,
    /// Keys whose values were left out of the snapshot, to be logged.
    pub rejected: Vec<Rejected>,
}

/// The bytes of the file.
fn read_text(path: &Path) -> Result<Vec<u8>, FileStoreError> {
    std::fs::read(path).map_err(|error| FileStoreError::Read {
        path: path.to_owned(),
        error,
    })
}

/// Reads the file: its keys and their values as written.
pub fn read_map(path: &Path) -> Result<Map<String, Value>, FileStoreError> {
    let text = read_text(path)?;
    let value: Value = serde_json::from_slice(&text).map_err(|error| FileStoreError::Json {
        path: path.to_owned(),
        error,
    })?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(FileStoreError::NotAnObject {
            path: path.to_owned(),
        }),
    }
}

/// The raw value of a key of the file, as etcd would hold it: a string's contents, else the
/// JSON text of the value.
pub fn raw_value(value: Value) -> Vec<u8> {
    match value {
        Value::String(s) => s.into_bytes(),
        other => other.to_string().into_bytes(),
    }
}

/// Reads the file's keys and raw values in file order, without a tree of the whole document
/// (which would take ten times the file's size: 100 MB at 100,000 services).
fn read_items(path: &Path) -> Result<Vec<(String, Vec<u8>)>, FileStoreError> {
    let text = read_text(path)?;
    if text.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(FileStoreError::NotAnObject {
            path: path.to_owned(),
        });
    }
    let Items(items) = serde_json::from_slice(&text).map_err(|error| FileStoreError::Json {
        path: path.to_owned(),
        error,
    })?;
    Ok(items)
}

/// The entries of the file's object, each value as etcd would hold it (see [`raw_value`]).
struct Items(Vec<(String, Vec<u8>)>);

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entries;
        impl<'de> Visitor<'de> for Entries {
            type Value = Items;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object mapping keys to values")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Items, A::Error> {
                let mut items = Vec::with_capacity(map.size_hint().unwrap_or(0));
                while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
                    let text = value.get();
                    let raw = if text.starts_with('"') {
                        serde_json::from_str::<String>(text)
                            .map_err(A::Error::custom)?
                            .into_bytes()
                    } else {
                        text.as_bytes().to_vec()
                    };
                    items.push((key, raw));
                }
                Ok(Items(items))
            }
        }
        deserializer.deserialize_map(Entries)
    }
}

/// Reads and indexes the file. The serial is the file's modification time.
pub fn load(path: &Path, prefix: &str) -> Result<Loaded, FileStoreError> {
    let entries = read_items(path)?;
    let config_key = super::config_key(prefix);
    let mut config_value = None;
    let mut items = Vec::with_capacity(entries.len());
    for (key, raw) in entries {
        if key == config_key {
            config_value = Some(raw);
        } else {
            items.push((key, raw, None));
        }
    }
    let (snapshot, rejected) = Snapshot::build(prefix, serial_of(path), items);
    Ok(Loaded {
        snapshot,
        config_value,
        rejected,
    })
}

// SOA serials are 32-bit serial numbers (RFC 1982): the low 32 bits of the Unix seconds are
// the serial, and they wrap in 2106 as serial arithmetic allows.
#[allow(clippy::cast_possible_truncation)]
fn serial_of(path: &Path) -> u32 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|_| SystemTime::now())
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

/// What identifies a version of the file on disk.
fn fingerprint(path: &Path) -> Option<(SystemTime, u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    Some((m.modified().ok()?, m.len(), m.ino()))
}

/// Loads the file into `state` and returns the first load's error, if any.
pub fn load_into(path: &Path, prefix: &str, state: &StoreState) -> Result<(), FileStoreError> {
    let loaded = load(path, prefix)?;
    state.publish(loaded.snapshot, loaded.config_value, &loaded.rejected);
    Ok(())
}

/// Watches the file and republishes it on every change, until the task is dropped.
pub async fn watch(path: PathBuf, prefix: String, state: Arc<StoreState>) {
    let mut last = fingerprint(&path);
    let mut last_error: Option<String> = None;
    let mut ticker = tokio::time::interval(POLL_INTERVAL);
    loop {
        ticker.tick().await;
        let now = fingerprint(&path);
        if now == last {
            continue;
        }
        last = now;
        let started = Instant::now();
        // Reading and parsing a big file blocks: keep it off the threads that answer queries.
        let (p, pre) = (path.clone(), prefix.clone());
        let result = tokio::task::spawn_blocking(move || load(&p, &pre))
            .await
            .unwrap_or_else(|e| Err(FileStoreError::Task(e.to_string())));
        match result {
            Ok(loaded) => {
                let services = loaded.snapshot.len();
                state.publish(loaded.snapshot, loaded.config_value, &loaded.rejected);
                last_error = None;
                tracing::info!(
                    file = %path.display(),
                    services,
                    elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                    "reloaded file store"
                );
            }
            Err(e) => {
                let message = e.to_string();
                if last_error.as_deref() != Some(message.as_str()) {
                    tracing::error!(error = %message, "file store not reloaded; still serving the last good data");
                }
                state.mark_stale();
                last_error = Some(message);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (PathBuf, impl Drop) {
        struct Remove(PathBuf);
        impl Drop for Remove {
            fn drop(&mut self) {
                let _ = std::fs::remove_file(&self.0);
            }
        }
        let path = std::env::temp_dir().join(format!(
            "skydns-file-store-{}-{}.json",
            std::process::id(),
            text.len()
        ));
        std::fs::write(&path, text).unwrap();
        (path.clone(), Remove(path))
    }

    #[test]
    fn values_are_read_as_etcd_holds_them_in_file_order() {
        let (path, _guard) = file(
            r#" {"/skydns/b": {"host": "10.0.0.1", "port": 80},
                "/skydns/a\u002fx": "{\"host\":\"x\\u0041\"}",
                "/skydns/config": {"ttl": 5}} "#,
        );
        let items = read_items(&path).unwrap();
        let keys: Vec<&str> = items.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["/skydns/b", "/skydns/a/x", "/skydns/config"]);
        assert_eq!(items[0].1, br#"{"host": "10.0.0.1", "port": 80}"#);
        assert_eq!(items[1].1, br#"{"host":"x\u0041"}"#);
        let loaded = load(&path, "skydns").unwrap();
        assert_eq!(loaded.snapshot.len(), 2);
        assert_eq!(loaded.config_value.as_deref(), Some(&br#"{"ttl": 5}"#[..]));
    }

    #[test]
    fn a_file_that_is_not_an_object_or_not_json_is_refused_by_name() {
        for (text, want) in [
            ("[1, 2]", "must hold a JSON object"),
            ("  \"x\"", "must hold a JSON object"),
            ("{\"/skydns/a\": ", "EOF"),
            ("{\"/skydns/a\": \"\\q\"}", "escape"),
        ] {
            let (path, _guard) = file(text);
            let error = load(&path, "skydns").err().expect(text).to_string();
            assert!(error.contains(want), "{text}: {error}");
            assert!(error.contains(&path.display().to_string()), "{error}");
        }
    }
}
