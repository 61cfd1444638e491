//! The immutable, indexed record set that queries read. A store builds one from its keys and
//! publishes a new one on every change; readers hold an `Arc<Snapshot>` and never lock.
//!
//! Entries are indexed by their path relative to the prefix (`local/skydns/east/...`) in a
//! persistent ordered map whose order is segment by segment (`a/x` sorts before `a-b/x`), so
//! a name's subtree is one range and the children of a name are consecutive ranges: a
//! wildcard is walked child by child (see [`super::lookup`]) instead of scanning. A second,
//! small index counts the entries that have a given label at a given depth, so a wildcard
//! pattern naming a label that occurs nowhere at its depth is rejected without a walk. Both
//! are persistent: a new snapshot with a few changes shares everything else with the one it
//! came from, so an update costs `O(changes · depth · log n)`, not a copy of the store.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::hash::{BuildHasher, Hasher};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Instant;

use imbl::{HashMap, OrdSet};

use super::path::key_to_path;
use super::service::{Service, ServiceError};

/// One service as the snapshot keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The lowercased key relative to the prefix, e.g. `local/skydns/east/production/rails`
    /// (the index's key: entries are ordered by it).
    pub path: Box<str>,
    /// The service stored there.
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
    /// The key as stored.
    pub key: String,
    /// Why its value was refused.
    pub error: ServiceError,
}

/// A change to the store, in the order the store reports it.
#[derive(Debug, Clone)]
pub enum Change {
    /// A key was written.
    Put {
        /// The key as stored.
        key: String,
        /// The raw value.
        value: Vec<u8>,
        /// When the key's lease runs out, if it has one.
        lease_deadline: Option<Instant>,
    },
    /// A key was removed.
    Delete {
        /// The key as stored.
        key: String,
    },
    /// The key's lease was kept alive: only its deadline moves.
    Lease {
        /// The key as stored.
        key: String,
        /// The new deadline.
        lease_deadline: Option<Instant>,
    },
}

/// A path compared segment by segment: `/` sorts below every other byte, so the entries
/// below a name, and the subtrees of its children, are contiguous ranges of the index.
#[derive(Debug, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct PathStr(str);

impl PathStr {
    fn new(path: &str) -> &PathStr {
        // SAFETY: `PathStr` is a `repr(transparent)` wrapper of `str`, so the pointer cast
        // keeps the layout and the lifetime of the borrowed text.
        unsafe { &*(std::ptr::from_ref::<str>(path) as *const PathStr) }
    }
}

impl Ord for PathStr {
    /// Equal to comparing the byte strings with `/` mapped below every byte: the order is
    /// decided at the first byte that differs (found eight bytes at a time), or by length.
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        let common = a.len().min(b.len());
        let mut i = 0;
        while i + 8 <= common && a[i..i + 8] == b[i..i + 8] {
            i += 8;
        }
        while i < common && a[i] == b[i] {
            i += 1;
        }
        let rank = |b: u8| if b == b'/' { 0 } else { u16::from(b) + 1 };
        match (a.get(i), b.get(i)) {
            (Some(&x), Some(&y)) => rank(x).cmp(&rank(y)),
            _ => a.len().cmp(&b.len()),
        }
    }
}

impl PartialOrd for PathStr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// An element of the index: an entry, ordered and found by its path (the index holds one
/// pointer per service, its key being the entry's own path).
#[derive(Debug, Clone)]
struct Indexed(Arc<Entry>);

impl Indexed {
    fn path(&self) -> &PathStr {
        PathStr::new(&self.0.path)
    }
}

impl Borrow<PathStr> for Indexed {
    fn borrow(&self) -> &PathStr {
        self.path()
    }
}

impl PartialEq for Indexed {
    fn eq(&self, other: &Self) -> bool {
        self.path() == other.path()
    }
}

impl Eq for Indexed {}

impl Ord for Indexed {
    fn cmp(&self, other: &Self) -> Ordering {
        self.path().cmp(other.path())
    }
}

impl PartialOrd for Indexed {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The key of the presence index for `label` at `depth` (0 is the first path segment).
fn presence_key(depth: usize, label: &str) -> u64 {
    let mut hasher = PRESENCE_HASH.build_hasher();
    hasher.write_usize(depth);
    hasher.write(label.as_bytes());
    hasher.finish()
}

/// A fixed hasher: presence keys must be the same in every snapshot of a process.
const PRESENCE_HASH: std::hash::BuildHasherDefault<std::collections::hash_map::DefaultHasher> =
    std::hash::BuildHasherDefault::new();

/// An immutable view of every service under the prefix.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    entries: OrdSet<Indexed>,
    /// How many entries have a given label at a given depth ([`presence_key`]).
    presence: HashMap<u64, u32>,
    /// How many entries have each number of path segments (index: segments - 1), so a name
    /// deeper than every key is known to match nothing without a look.
    depths: Arc<Vec<u32>>,
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
        Snapshot::empty().with_changes(
            prefix,
            serial,
            entries
                .into_iter()
                .map(|(key, value, lease_deadline)| Change::Put {
                    key,
                    value,
                    lease_deadline,
                }),
        )
    }

    /// A new snapshot: this one with `changes` applied in order.
    pub fn with_changes(
        &self,
        prefix: &str,
        serial: u32,
        changes: impl IntoIterator<Item = Change>,
    ) -> (Self, Vec<Rejected>) {
        let mut snap = Snapshot {
            serial,
            ..self.clone()
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
                        snap.remove(&path);
                    }
                }
                Change::Lease {
                    key,
                    lease_deadline,
                } => {
                    let entry =
                        key_to_path(prefix, &key).and_then(|p| snap.entries.get(PathStr::new(&p)));
                    if let Some(Indexed(entry)) = entry {
                        let moved = Entry {
                            lease_deadline,
                            ..Entry::clone(entry)
                        };
                        snap.entries.insert(Indexed(Arc::new(moved)));
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
                    path: path.into_boxed_str(),
                    service,
                    lease_deadline,
                };
                let entry = Arc::new(entry);
                if self.entries.insert(Indexed(entry.clone())).is_none() {
                    self.count_labels(&entry.path, true);
                }
            }
            Err(error) => {
                self.remove(&path);
                rejected.push(Rejected { key, error });
            }
        }
    }

    fn remove(&mut self, path: &str) {
        if self.entries.remove(PathStr::new(path)).is_some() {
            self.count_labels(path, false);
        }
    }

    /// Counts the labels and the depth of a path that came (`added`) or went.
    fn count_labels(&mut self, path: &str, added: bool) {
        let segments = path.split('/').count();
        let depths = Arc::make_mut(&mut self.depths);
        if depths.len() < segments {
            depths.resize(segments, 0);
        }
        let count = &mut depths[segments - 1];
        *count = if added {
            count.saturating_add(1)
        } else {
            count.saturating_sub(1)
        };
        while depths.last() == Some(&0) {
            depths.pop();
        }
        for (depth, label) in path.split('/').enumerate() {
            let key = presence_key(depth, label);
            let count = self.presence.get(&key).copied().unwrap_or(0);
            match (added, count) {
                (true, n) => {
                    self.presence.insert(key, n.saturating_add(1));
                }
                (false, 0 | 1) => {
                    self.presence.remove(&key);
                }
                (false, n) => {
                    self.presence.insert(key, n - 1);
                }
            }
        }
    }

    /// The most path segments any entry has (0 when there is none).
    pub fn max_depth(&self) -> usize {
        self.depths.len()
    }

    /// True when some entry has `label` at `depth`.
    pub fn has_label(&self, depth: usize, label: &str) -> bool {
        self.label_count(depth, label) > 0
    }

    /// How many entries have `label` at `depth`.
    pub fn label_count(&self, depth: usize, label: &str) -> u32 {
        self.presence
            .get(&presence_key(depth, label))
            .copied()
            .unwrap_or(0)
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

    /// Every entry, in index order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Entry>> {
        self.entries.iter().map(|Indexed(entry)| entry)
    }

    /// The service stored exactly at `path`.
    pub fn exact(&self, path: &str) -> Option<&Arc<Entry>> {
        self.entries
            .get(PathStr::new(path))
            .map(|Indexed(entry)| entry)
    }

    /// The entry at `path` and every entry below it, in index order. The root (empty path)
    /// is every entry. In the index's order they are one run that starts at `path` itself
    /// (`/` sorts below every other byte), so one seek finds them, with no bound to build.
    pub fn subtree<'a, 'p>(
        &'a self,
        path: &'p str,
    ) -> impl Iterator<Item = &'a Arc<Entry>> + use<'a, 'p> {
        let from = if path.is_empty() {
            Bound::Unbounded
        } else {
            Bound::Included(PathStr::new(path))
        };
        self.entries
            .range::<_, PathStr>((from, Bound::Unbounded))
            .map(|Indexed(entry)| entry)
            .take_while(move |entry| {
                entry
                    .path
                    .strip_prefix(path)
                    .is_some_and(|rest| path.is_empty() || rest.is_empty() || rest.starts_with('/'))
            })
    }

    /// The first entry at or after `bound` in index order (bounds are paths, possibly ending
    /// in `/` for "just below" or `\u{1}` for "just after the subtree").
    pub fn first_from(&self, bound: &str) -> Option<&Arc<Entry>> {
        self.entries
            .range::<_, PathStr>((Bound::Included(PathStr::new(bound)), Bound::Unbounded))
            .next()
            .map(|Indexed(entry)| entry)
    }
}

/// A snapshot of services at `keys` (below `/skydns/`), each with the same address: the
/// unit tests' store.
#[cfg(test)]
pub(crate) fn test_snapshot(keys: &[&str]) -> Snapshot {
    let items = keys.iter().map(|k| {
        (
            format!("/skydns/{k}"),
            br#"{"host":"10.0.0.1"}"#.to_vec(),
            None,
        )
    });
    Snapshot::build("skydns", 1, items).0
}

#[cfg(test)]
mod tests {
    use super::test_snapshot as snap;
    use super::*;

    fn paths<'a>(v: impl Iterator<Item = &'a Arc<Entry>>) -> Vec<&'a str> {
        v.map(|e| &*e.path).collect()
    }

    #[test]
    fn path_order_is_bytes_with_the_slash_lowest() {
        let reference = |a: &str, b: &str| {
            let rank = |c: u8| if c == b'/' { 0 } else { u16::from(c) + 1 };
            a.bytes().map(rank).cmp(b.bytes().map(rank))
        };
        // Strings over a small alphabet (so that long common prefixes are frequent), from a
        // fixed linear congruential sequence.
        let alphabet = b"/-.a0z";
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1);
            usize::try_from(state >> 33).unwrap_or(0)
        };
        let text = |next: &mut dyn FnMut() -> usize| {
            let len = next() % 20;
            (0..len)
                .map(|_| char::from(alphabet[next() % alphabet.len()]))
                .collect::<String>()
        };
        for _ in 0..20_000 {
            let (a, b) = (text(&mut next), text(&mut next));
            let b = if next() % 3 == 0 {
                format!("{a}{b}")
            } else {
                b
            };
            assert_eq!(
                PathStr::new(&a).cmp(PathStr::new(&b)),
                reference(&a, &b),
                "{a:?} against {b:?}"
            );
        }
    }

    #[test]
    fn subtrees_are_whole_labels_in_segment_order() {
        let s = snap(&["t/mx", "t/mx/a", "t/mx2/b", "t/mx-1", "t/mx.1", "t/mx/b/c"]);
        assert_eq!(paths(s.subtree("t/mx")), vec!["t/mx", "t/mx/a", "t/mx/b/c"]);
        assert_eq!(paths(s.subtree("t/mx2")), vec!["t/mx2/b"]);
        assert!(s.subtree("t/m").next().is_none());
        assert!(s.subtree("t/mx/b/c/d").next().is_none());
        assert_eq!(s.subtree("").count(), 6);
        assert_eq!(
            paths(s.subtree("t")),
            vec!["t/mx", "t/mx/a", "t/mx/b/c", "t/mx-1", "t/mx.1", "t/mx2/b"]
        );
        assert_eq!(s.first_from("t/mx\u{1}").map(|e| &*e.path), Some("t/mx-1"));
        assert_eq!(s.first_from("t/mx/").map(|e| &*e.path), Some("t/mx/a"));
    }

    #[test]
    fn labels_are_counted_by_depth() {
        let s = snap(&["a/b/c", "a/x/c"]);
        assert!(s.has_label(2, "c") && s.has_label(0, "a") && s.has_label(1, "x"));
        assert!(!s.has_label(1, "c") && !s.has_label(3, "c"));
        let (s, _) = s.with_changes(
            "skydns",
            2,
            vec![Change::Delete {
                key: "/skydns/a/x/c".into(),
            }],
        );
        assert!(!s.has_label(1, "x") && s.has_label(2, "c"));
    }

    #[test]
    fn the_deepest_key_sets_the_depth_and_its_removal_lowers_it() {
        let s = snap(&["a/b", "a/b/c/d", "a/b/c/e", "x"]);
        assert_eq!(s.max_depth(), 4);
        let delete = |key: &str| Change::Delete {
            key: format!("/skydns/{key}"),
        };
        let (one_left, _) = s.with_changes("skydns", 2, vec![delete("a/b/c/d")]);
        assert_eq!((one_left.max_depth(), s.max_depth()), (4, 4));
        let (shallow, _) = one_left.with_changes("skydns", 3, vec![delete("a/b/c/e")]);
        assert_eq!(shallow.max_depth(), 2);
        let (empty, _) = shallow.with_changes("skydns", 4, vec![delete("a/b"), delete("x")]);
        assert_eq!(empty.max_depth(), 0);
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
        assert_eq!(paths(s2.subtree("a")), vec!["a/d"]);
        assert_eq!(paths(s1.subtree("a")), vec!["a/b"]);
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

    #[test]
    fn a_kept_alive_lease_moves_only_its_deadline() {
        let s1 = snap(&["a/b", "a/c"]);
        let later = Instant::now() + std::time::Duration::from_secs(30);
        let (s2, _) = s1.with_changes(
            "skydns",
            2,
            [Change::Lease {
                key: "/skydns/a/b".into(),
                lease_deadline: Some(later),
            }],
        );
        let moved = s2.exact("a/b").unwrap();
        assert_eq!(moved.lease_deadline, Some(later));
        assert_eq!(moved.service, s1.exact("a/b").unwrap().service);
        assert_eq!(s1.exact("a/b").unwrap().lease_deadline, None);
        assert_eq!(paths(s2.subtree("a")), vec!["a/b", "a/c"]);
        assert_eq!(s2.len(), 2);
    }
}
