//! The immutable, indexed record set that queries read. A store builds one from its keys and
//! publishes a new one on every change; readers hold an `Arc<Snapshot>` and never lock.
//!
//! Entries are indexed by their path relative to the prefix (`local/skydns/east/...`), in key
//! order, so a name's subtree is two ordered range scans (`O(log n + k)`) and never a walk over
//! the whole store. The index is a persistent ordered map: a new snapshot with a few changes
//! shares everything else with the one it came from, so an update costs `O(changes · log n)`,
//! not a copy of the store.

use std::ops::Bound;
use std::sync::Arc;
use std::time::Instant;

use imbl::OrdMap;

use super::path::{is_wildcard_label, key_to_path};
use super::service::{Service, ServiceError};

/// Upper bound on the services one lookup returns; a reply cannot carry more anyway (a 64 KiB
/// TCP message holds about 4000 address records), and it keeps a query for the apex of a huge
/// zone cheap.
pub const MAX_LOOKUP_RESULTS: usize = 4096;

/// Upper bound on the entries a wildcard look-up examines: `x.*.<domain>` walks the subtree
/// above its first wildcard, which may be most of the store; past this many entries the look-up
/// ends with what it found.
pub const MAX_WILDCARD_SCAN: usize = 50_000;

/// One service as the snapshot keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key exactly as stored (for logs).
    pub key: String,
    /// The lowercased key relative to the prefix, e.g. `local/skydns/east/production/rails`.
    pub path: String,
    /// The parsed value.
    pub service: Service,
    /// When the key's lease (etcd) runs out; the record TTL never exceeds what is left of it.
    pub lease_deadline: Option<Instant>,
}

impl Entry {
    /// Number of `/`-separated segments of the path (the depth used by groups).
    pub fn depth(&self) -> usize {
        self.path.split('/').count()
    }
}

/// A key whose value could not be used; it is left out of the snapshot and reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The key exactly as stored.
    pub key: String,
    /// Why its value was rejected.
    pub error: ServiceError,
}

/// A change to the store, in the order the store reports it.
#[derive(Debug, Clone)]
pub enum Change {
    /// A key was written (created or replaced).
    Put {
        /// The full key, prefix included.
        key: String,
        /// The value exactly as stored.
        value: Vec<u8>,
        /// When its lease runs out; `None` for a key without a lease.
        lease_deadline: Option<Instant>,
    },
    /// A key was removed.
    Delete {
        /// The full key, prefix included.
        key: String,
    },
    /// The key's lease was kept alive: only its deadline moves.
    Lease {
        /// The full key, prefix included.
        key: String,
        /// The lease's new deadline.
        lease_deadline: Option<Instant>,
    },
}

/// An immutable view of every service under the prefix.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    entries: OrdMap<Arc<str>, Arc<Entry>>,
    serial: u32,
}

impl Snapshot {
    /// An empty snapshot with serial 0.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds a snapshot from every key under the prefix. Keys outside the prefix and the
    /// `/<prefix>/config` key are ignored; values that do not parse are returned as rejected.
    pub fn build(
        prefix: &str,
        serial: u32,
        entries: impl IntoIterator<Item = (String, Vec<u8>, Option<Instant>)>,
    ) -> (Self, Vec<Rejected>) {
        let mut snap = Snapshot {
            entries: OrdMap::new(),
            serial,
        };
        let mut rejected = Vec::new();
        for (key, value, lease_deadline) in entries {
            snap.put(prefix, key, &value, lease_deadline, &mut rejected);
        }
        (snap, rejected)
    }

    /// A new snapshot: this one with `changes` applied in order.
    pub fn with_changes(
        &self,
        prefix: &str,
        serial: u32,
        changes: impl IntoIterator<Item = Change>,
    ) -> (Self, Vec<Rejected>) {
        let mut snap = Snapshot {
            entries: self.entries.clone(),
            serial,
        };
        let mut rejected = Vec::new();
        for change in changes {
            match change {
                Change::Put {
                    key,
                    value,
                    lease_deadline,
                } => snap.put(prefix, key, &value, lease_deadline, &mut rejected),
                Change::Delete { key } => {
                    if let Some(path) = key_to_path(prefix, &key) {
                        snap.entries.remove(path.as_str());
                    }
                }
                Change::Lease {
                    key,
                    lease_deadline,
                } => {
                    let entry =
                        key_to_path(prefix, &key).and_then(|p| snap.entries.get_mut(p.as_str()));
                    if let Some(entry) = entry {
                        *entry = Arc::new(Entry {
                            lease_deadline,
                            ..Entry::clone(entry)
                        });
                    }
                }
            }
        }
        (snap, rejected)
    }

    fn put(
        &mut self,
        prefix: &str,
        key: String,
        value: &[u8],
        lease_deadline: Option<Instant>,
        rejected: &mut Vec<Rejected>,
    ) {
        let Some(path) = key_to_path(prefix, &key) else {
            return;
        };
        if path == "config" {
            return;
        }
        match Service::parse(value) {
            Ok(service) => {
                let entry = Entry {
                    key,
                    path: path.clone(),
                    service,
                    lease_deadline,
                };
                self.entries.insert(Arc::from(path), Arc::new(entry));
            }
            Err(error) => {
                self.entries.remove(path.as_str());
                rejected.push(Rejected { key, error });
            }
        }
    }

    /// The SOA serial of this snapshot (the store revision or load time).
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// Number of services.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no services.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every entry in key order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Entry>> {
        self.entries.values()
    }

    /// The service stored exactly at `path`.
    pub fn exact(&self, path: &str) -> Option<&Arc<Entry>> {
        self.entries.get(path)
    }

    /// The entry at `path` and every entry below it, in key order.
    pub fn subtree(&self, path: &str) -> impl Iterator<Item = &Arc<Entry>> {
        self.subtree_owned(path.to_owned())
    }

    /// The services a name answers with: the subtree of its path, where `*` and `any` segments
    /// match any segment (keys deeper than the name still match). Empty means the name does not
    /// exist. At most [`MAX_LOOKUP_RESULTS`] entries are returned.
    pub fn lookup(&self, path: &str) -> Vec<&Arc<Entry>> {
        self.matches(path).take(MAX_LOOKUP_RESULTS).collect()
    }

    /// True when the name of `path` has an entry accepted by `live` at or below it (wildcards
    /// as in `lookup`). Stops at the first one.
    pub fn exists_where(&self, path: &str, live: impl Fn(&Entry) -> bool) -> bool {
        self.matches(path).any(|e| live(e))
    }

    fn matches<'a>(&'a self, path: &str) -> Box<dyn Iterator<Item = &'a Arc<Entry>> + 'a> {
        let Some(first_wild) = path.split('/').position(is_wildcard_label) else {
            return Box::new(self.subtree_owned(path.to_owned()));
        };
        let segments: Vec<String> = path.split('/').map(str::to_owned).collect();
        let base = segments[..first_wild].join("/");
        Box::new(
            self.subtree_owned(base)
                .take(MAX_WILDCARD_SCAN)
                .filter(move |entry| wildcard_match(&segments, &entry.path)),
        )
    }

    // Owned so that the returned iterator borrows only `self`, whatever the capture rules.
    #[allow(clippy::needless_pass_by_value)]
    fn subtree_owned(&self, path: String) -> impl Iterator<Item = &Arc<Entry>> {
        let exact = self.entries.get(path.as_str());
        let below = if path.is_empty() {
            self.entries
                .range::<_, str>((Bound::Unbounded, Bound::Unbounded))
        } else {
            let lo = format!("{path}/");
            let hi = format!("{path}0");
            self.entries
                .range::<_, str>((Bound::Included(lo.as_str()), Bound::Excluded(hi.as_str())))
        };
        exact.into_iter().chain(below.map(|(_, e)| e))
    }
}

fn wildcard_match(name_segments: &[String], key_path: &str) -> bool {
    let mut key_segments = key_path.split('/');
    name_segments.iter().all(|want| match key_segments.next() {
        Some(have) => is_wildcard_label(want) || want == have,
        None => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snap(keys: &[&str]) -> Snapshot {
        let items = keys.iter().map(|k| {
            (
                format!("/skydns/{k}"),
                br#"{"host":"10.0.0.1"}"#.to_vec(),
                None,
            )
        });
        Snapshot::build("skydns", 1, items).0
    }

    fn paths(v: Vec<&Arc<Entry>>) -> Vec<&str> {
        v.into_iter().map(|e| e.path.as_str()).collect()
    }

    #[test]
    fn subtree_matches_whole_labels_only() {
        let s = snap(&["t/mx", "t/mx/a", "t/mx2/b", "t/mx-1", "t/mx.1"]);
        assert_eq!(paths(s.lookup("t/mx")), vec!["t/mx", "t/mx/a"]);
        assert_eq!(paths(s.lookup("t/mx2")), vec!["t/mx2/b"]);
        assert!(s.lookup("t/m").is_empty());
        assert!(s.exists_where("t", |_| true));
        assert!(!s.exists_where("u", |_| true));
    }

    #[test]
    fn wildcards_match_any_segment_and_deeper_keys() {
        let s = snap(&[
            "local/skydns/east/staging/rails/4",
            "local/skydns/west/staging/rails/5",
            "local/skydns/east/production/rails/1",
        ]);
        assert_eq!(
            paths(s.lookup("local/skydns/*/staging")),
            vec![
                "local/skydns/east/staging/rails/4",
                "local/skydns/west/staging/rails/5"
            ]
        );
        assert_eq!(s.lookup("local/skydns/any/any/rails").len(), 3);
        assert!(s.lookup("local/skydns/*/nothing").is_empty());
    }

    #[test]
    fn changes_make_a_new_snapshot_and_keep_the_old() {
        let s1 = snap(&["a/b"]);
        let (s2, rejected) = s1.with_changes(
            "skydns",
            2,
            vec![
                Change::Delete {
                    key: "/skydns/a/b".into(),
                },
                Change::Put {
                    key: "/skydns/a/c".into(),
                    value: b"{bad".to_vec(),
                    lease_deadline: None,
                },
                Change::Put {
                    key: "/skydns/a/d".into(),
                    value: br#"{"host":"::1"}"#.to_vec(),
                    lease_deadline: None,
                },
            ],
        );
        assert_eq!(rejected.len(), 1);
        assert_eq!(rejected[0].key, "/skydns/a/c");
        assert_eq!(paths(s2.lookup("a")), vec!["a/d"]);
        assert_eq!(paths(s1.lookup("a")), vec!["a/b"]);
        assert_eq!(s2.serial(), 2);
    }

    #[test]
    fn config_key_and_foreign_keys_are_not_services() {
        let (s, rejected) = Snapshot::build(
            "skydns",
            1,
            vec![
                ("/skydns/config".to_owned(), b"{}".to_vec(), None),
                ("/other/x".to_owned(), b"{}".to_vec(), None),
            ],
        );
        assert!(s.is_empty());
        assert!(rejected.is_empty());
    }
}
