//! `skydnsctl` on the embedded file store: every change is a read-modify-write of the whole
//! JSON file under an exclusive lock (`flock` on its directory, so concurrent `skydnsctl`s
//! do not lose each other's changes), written to a temporary file in the same directory that
//! keeps the original's mode and owner, synced and renamed over the original: the daemon,
//! which polls the file, sees the old or the new file, never half of one.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{fchown, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg};
use serde_json::{Map, Value};

use super::store::{StoreError, Stored, UpdateError};
use crate::store::file::{raw_value, read_map, FileStoreError};

/// The file store at one path.
pub struct FileCtl {
    path: PathBuf,
    prefix: String,
}

impl FileCtl {
    /// The file store at `path`, keys under `/<prefix>/`.
    pub fn new(path: PathBuf, prefix: String) -> Self {
        FileCtl { path, prefix }
    }

    /// The key prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Every key of the file under `/<prefix>/`, in key order.
    pub fn list(&self) -> Result<Vec<Stored>, StoreError> {
        let under = format!("/{}/", self.prefix);
        Ok(read_map(&self.path)?
            .into_iter()
            .filter(|(key, _)| key.starts_with(&under))
            .map(|(key, value)| Stored {
                key,
                value: raw_value(value),
            })
            .collect())
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(read_map(&self.path)?.remove(key).map(raw_value))
    }

    /// Writes `key` (creating the file when there is none).
    pub fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.modify(|map| {
            map.insert(key.to_owned(), file_value(value));
            Ok::<_, StoreError>(())
        })
        .map_err(flatten)
    }

    /// Removes `keys`; returns how many existed.
    pub fn delete(&self, keys: &[String]) -> Result<usize, StoreError> {
        self.modify(|map| {
            Ok::<_, StoreError>(keys.iter().filter(|key| map.remove(*key).is_some()).count())
        })
        .map_err(flatten)
    }

    /// Replaces the value of `key` by what `change` makes of the current one.
    pub fn update<E>(
        &self,
        key: &str,
        mut change: impl FnMut(Option<&[u8]>) -> Result<Vec<u8>, E>,
    ) -> Result<Vec<u8>, UpdateError<E>> {
        self.modify(|map| {
            let current = map.get(key).cloned().map(raw_value);
            let new = change(current.as_deref())?;
            map.insert(key.to_owned(), file_value(&new));
            Ok(new)
        })
    }

    /// Locks the directory, reads the file (an absent file is empty), applies `edit` and
    /// writes the result atomically. Nothing is written when `edit` fails.
    fn modify<T, E>(
        &self,
        edit: impl FnOnce(&mut Map<String, Value>) -> Result<T, E>,
    ) -> Result<T, UpdateError<E>> {
        let path = self.target();
        let dir = directory(&path);
        let write_error = |error: io::Error| StoreError::Write {
            path: path.clone(),
            error,
        };
        let _lock = File::open(&dir)
            .and_then(|d| Flock::lock(d, FlockArg::LockExclusive).map_err(|(_, e)| e.into()))
            .map_err(|error| StoreError::Write {
                path: dir.clone(),
                error,
            })?;
        let mut map = match read_map(&path) {
            Ok(map) => map,
            Err(FileStoreError::Read { error, .. }) if error.kind() == io::ErrorKind::NotFound => {
                Map::new()
            }
            Err(e) => return Err(StoreError::from(e).into()),
        };
        let out = edit(&mut map).map_err(UpdateError::Refused)?;
        write_atomically(&path, &dir, &file_text(&map)).map_err(write_error)?;
        Ok(out)
    }

    /// The file to write: the target of a symbolic link, so the link stays.
    fn target(&self) -> PathBuf {
        std::fs::canonicalize(&self.path).unwrap_or_else(|_| self.path.clone())
    }
}

/// The `update` of `put` and `delete` cannot be refused: only the store fails.
fn flatten(e: UpdateError<StoreError>) -> StoreError {
    match e {
        UpdateError::Store(e) | UpdateError::Refused(e) => e,
    }
}

/// The directory of `path` (`.` for a bare file name).
fn directory(path: &Path) -> PathBuf {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// A value as the file holds it: a JSON object as itself (as operators write the file),
/// anything else as a string holding the raw value (which the daemon reads as it is).
fn file_value(raw: &[u8]) -> Value {
    match serde_json::from_slice::<Value>(raw) {
        Ok(object @ Value::Object(_)) => object,
        _ => Value::String(String::from_utf8_lossy(raw).into_owned()),
    }
}

/// The file's text: one key per line, values compact, as in `examples/services.json`.
pub fn file_text(map: &Map<String, Value>) -> String {
    let lines: Vec<String> = map
        .iter()
        .map(|(key, value)| format!("  {}: {value}", Value::String(key.clone())))
        .collect();
    if lines.is_empty() {
        "{}\n".to_owned()
    } else {
        format!("{{\n{}\n}}\n", lines.join(",\n"))
    }
}

/// Writes `text` to a new file beside `path` with the original's mode and owner, syncs it and
/// renames it over `path`.
fn write_atomically(path: &Path, dir: &Path, text: &str) -> io::Result<()> {
    let name = path
        .file_name()
        .map_or_else(|| "store".to_owned(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(".{name}.skydnsctl-{}", std::process::id()));
    let original = std::fs::metadata(path).ok();
    let written = (|| {
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(original.as_ref().map_or(0o644, |m| m.mode() & 0o7777))
            .open(&tmp)?;
        if let Some(m) = &original {
            file.set_permissions(m.permissions())?;
            let ours = std::fs::metadata(&tmp)?;
            if (ours.uid(), ours.gid()) != (m.uid(), m.gid()) {
                fchown(&file, Some(m.uid()), Some(m.gid()))?;
            }
        }
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("skydnsctl-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn changes_are_written_whole_keeping_the_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = temp_dir("file");
        let path = dir.join("s.json");
        let store = FileCtl::new(path.clone(), "skydns".into());
        store
            .put("/skydns/local/a", br#"{"host":"10.0.0.1"}"#)
            .unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        store.put("/skydns/local/b", b"not json").unwrap();
        store.put("/other/x", br#"{"host":"10.0.0.3"}"#).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            "{\n  \"/other/x\": {\"host\":\"10.0.0.3\"},\n  \"/skydns/local/a\": {\"host\":\"10.0.0.1\"},\n  \"/skydns/local/b\": \"not json\"\n}\n"
        );
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o640);
        let keys: Vec<String> = store.list().unwrap().into_iter().map(|s| s.key).collect();
        assert_eq!(keys, ["/skydns/local/a", "/skydns/local/b"]);
        assert_eq!(
            store
                .delete(&["/skydns/local/a".into(), "/skydns/none".into()])
                .unwrap(),
            1
        );
        let refused = store.update("/skydns/config", |_| Err::<Vec<u8>, _>("no"));
        assert!(matches!(refused, Err(UpdateError::Refused("no"))));
        assert_eq!(store.list().unwrap().len(), 1);
        let leftovers = std::fs::read_dir(&dir).unwrap().count();
        assert_eq!(leftovers, 1, "no temporary file is left behind");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_broken_file_is_not_overwritten() {
        let dir = temp_dir("broken");
        let path = dir.join("s.json");
        std::fs::write(&path, "{ broken").unwrap();
        let store = FileCtl::new(path.clone(), "skydns".into());
        assert!(store.put("/skydns/a", b"{}").is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{ broken");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
