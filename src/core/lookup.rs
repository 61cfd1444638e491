//! Finding the services a name answers with, in work bounded per query. A name without
//! wildcards is one range of the index (its subtree). A name with `*` or `any` labels is a
//! pattern, walked through the index label by label from the literal labels before its first
//! wildcard: a literal label is one step down, a wildcard enumerates the children of the
//! names reached so far (one index seek per child, never an entry scan). A pattern naming a
//! label that no entry has at its depth is rejected by the presence index without a walk, and
//! a name deeper than every key by the snapshot's depth count.
//!
//! Where the rest of a pattern has no literal label, or only labels that many entries have at
//! their depth, the matches are dense: the subtree reached is read in order and each entry
//! checked against the pattern, which costs less per match than a seek per child.
//!
//! Every entry looked at and every seek is charged to the query's [`Budget`]; a walk that
//! runs out ends with what it found (and says so), so no query costs more than the budget
//! however the store or the name is shaped.

use std::cell::Cell;
use std::ops::ControlFlow;
use std::sync::Arc;

use super::path::is_wildcard_label;
use super::snapshot::{Entry, Snapshot};

/// Budget units one index seek costs (looking at one entry costs 1).
const SEEK_COST: u32 = 8;

/// A literal label that at least this many entries have at its depth is common: the rest of
/// a pattern whose literals are all common is matched by reading the subtree.
const COMMON_LABEL: u32 = 256;

/// The index work one query may do, in units of entries looked at.
#[derive(Debug)]
pub struct Budget(Cell<u32>);

impl Budget {
    /// A budget of `units`.
    pub fn new(units: u32) -> Self {
        Budget(Cell::new(units))
    }

    /// Takes `units` from the budget; false (and the budget empty) when not enough is left.
    fn take(&self, units: u32) -> bool {
        let left = self.0.get();
        self.0.set(left.saturating_sub(units));
        left >= units
    }

    /// Units not spent yet.
    pub fn left(&self) -> u32 {
        self.0.get()
    }
}

/// How a visit ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// Every matching entry was offered (or the visitor stopped).
    Done,
    /// The budget ran out first.
    OutOfBudget,
}

/// Offers every entry that `path` (lowercase, `/`-separated, `*`/`any` as wildcards)
/// answers with to `f`, in index order, until `f` breaks or the budget runs out.
pub fn visit<'a>(
    snap: &'a Snapshot,
    path: &str,
    budget: &Budget,
    f: &mut dyn FnMut(&'a Arc<Entry>) -> ControlFlow<()>,
) -> Visit {
    let segments: Vec<&str> = if path.is_empty() {
        Vec::new()
    } else {
        path.split('/').collect()
    };
    if segments.len() > snap.max_depth() {
        // Every entry it answers with would be at least this deep: there is none.
        return Visit::Done;
    }
    let Some(first_wild) = segments.iter().position(|s| is_wildcard_label(s)) else {
        return offer_subtree(snap, path, budget, f).1;
    };
    let named_nowhere = segments
        .iter()
        .enumerate()
        .skip(first_wild + 1)
        .any(|(depth, s)| !is_wildcard_label(s) && !snap.has_label(depth, s));
    if named_nowhere {
        return Visit::Done;
    }
    let mut walk = Walk {
        snap,
        segments: &segments,
        budget,
        bound: String::new(),
    };
    let base = segments[..first_wild].join("/");
    match walk.descend(&base, first_wild, f) {
        (_, Visit::OutOfBudget) => Visit::OutOfBudget,
        _ => Visit::Done,
    }
}

/// Offers the subtree of `path` to `f`; says whether `f` broke and how the visit ended.
fn offer_subtree<'a>(
    snap: &'a Snapshot,
    path: &str,
    budget: &Budget,
    f: &mut dyn FnMut(&'a Arc<Entry>) -> ControlFlow<()>,
) -> (ControlFlow<()>, Visit) {
    if !budget.take(SEEK_COST) {
        return (ControlFlow::Continue(()), Visit::OutOfBudget);
    }
    for entry in snap.subtree(path) {
        if !budget.take(1) {
            return (ControlFlow::Continue(()), Visit::OutOfBudget);
        }
        if f(entry).is_break() {
            return (ControlFlow::Break(()), Visit::Done);
        }
    }
    (ControlFlow::Continue(()), Visit::Done)
}

/// One pattern walk.
struct Walk<'s, 'p> {
    snap: &'s Snapshot,
    segments: &'p [&'p str],
    budget: &'p Budget,
    /// Scratch space for index bounds.
    bound: String,
}

impl<'s> Walk<'s, '_> {
    /// Matches `segments[pos..]` below `node` (the path matched so far).
    fn descend(
        &mut self,
        node: &str,
        pos: usize,
        f: &mut dyn FnMut(&'s Arc<Entry>) -> ControlFlow<()>,
    ) -> (ControlFlow<()>, Visit) {
        let Some(segment) = self.segments.get(pos) else {
            return offer_subtree(self.snap, node, self.budget, f);
        };
        if !is_wildcard_label(segment) {
            let child = join(node, segment);
            return self.descend(&child, pos + 1, f);
        }
        let rarest = self.segments[pos..]
            .iter()
            .enumerate()
            .filter(|(_, s)| !is_wildcard_label(s))
            .map(|(i, s)| self.snap.label_count(pos + i, s))
            .min();
        if rarest.is_none_or(|count| count >= COMMON_LABEL) {
            return self.read_matching(node, pos, f);
        }
        // Every child of `node`: the first entry below it names the first child; the first
        // entry after that child's subtree names the next one.
        let below = if node.is_empty() {
            String::new()
        } else {
            format!("{node}/")
        };
        self.bound.clear();
        self.bound.push_str(&below);
        loop {
            if !self.budget.take(SEEK_COST) {
                return (ControlFlow::Continue(()), Visit::OutOfBudget);
            }
            let Some(next) = self.snap.first_from(&self.bound) else {
                return (ControlFlow::Continue(()), Visit::Done);
            };
            let Some(rest) = next.path.strip_prefix(below.as_str()) else {
                return (ControlFlow::Continue(()), Visit::Done);
            };
            let label = rest.split('/').next().unwrap_or(rest);
            let child = join(node, label);
            match self.descend(&child, pos + 1, f) {
                (ControlFlow::Continue(()), Visit::Done) => {}
                ended => return ended,
            }
            self.bound.clear();
            self.bound.push_str(&child);
            self.bound.push('\u{1}');
        }
    }
}

impl<'s> Walk<'s, '_> {
    /// Reads the subtree of `node` in order, offering the entries that match
    /// `segments[pos..]` below it.
    fn read_matching(
        &mut self,
        node: &str,
        pos: usize,
        f: &mut dyn FnMut(&'s Arc<Entry>) -> ControlFlow<()>,
    ) -> (ControlFlow<()>, Visit) {
        let pattern = &self.segments[pos..];
        let skip = if node.is_empty() { 0 } else { node.len() + 1 };
        let matching = |entry: &Entry| {
            // Split as bytes: a segment is short, and a char search costs more than a loop.
            let below = entry.path.as_bytes().get(skip..).unwrap_or_default();
            let mut labels = below.split(|&b| b == b'/');
            pattern.iter().all(|want| {
                labels.next().is_some_and(|have| {
                    !have.is_empty() && (is_wildcard_label(want) || want.as_bytes() == have)
                })
            })
        };
        let mut matched = |entry: &'s Arc<Entry>| {
            if matching(entry) {
                f(entry)
            } else {
                ControlFlow::Continue(())
            }
        };
        offer_subtree(self.snap, node, self.budget, &mut matched)
    }
}

fn join(node: &str, label: &str) -> String {
    if node.is_empty() {
        label.to_owned()
    } else {
        format!("{node}/{label}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::snapshot::test_snapshot as snap;

    fn found(s: &Snapshot, path: &str, units: u32) -> (Vec<String>, Visit) {
        let mut out = Vec::new();
        let ended = visit(s, path, &Budget::new(units), &mut |e| {
            out.push(e.path.to_string());
            ControlFlow::Continue(())
        });
        (out, ended)
    }

    #[test]
    fn wildcards_match_any_label_and_deeper_keys() {
        let s = snap(&[
            "local/skydns/east/staging/rails/4",
            "local/skydns/west/staging/rails/5",
            "local/skydns/east/production/rails/1",
            "local/skydns/east-2/staging/web",
        ]);
        assert_eq!(
            found(&s, "local/skydns/*/staging", 1000).0,
            vec![
                "local/skydns/east/staging/rails/4",
                "local/skydns/east-2/staging/web",
                "local/skydns/west/staging/rails/5"
            ]
        );
        assert_eq!(found(&s, "local/skydns/any/any/rails", 1000).0.len(), 3);
        assert!(found(&s, "local/skydns/*/nothing", 1000).0.is_empty());
        assert_eq!(found(&s, "*/skydns", 1000).0.len(), 4);
        assert_eq!(found(&s, "local/skydns/east", 1000).0.len(), 2);
    }

    #[test]
    fn a_label_that_occurs_nowhere_costs_nothing() {
        let keys: Vec<String> = (0..2000).map(|i| format!("local/skydns/s{i}/a")).collect();
        let s = snap(&keys.iter().map(String::as_str).collect::<Vec<_>>());
        let budget = Budget::new(100);
        let mut pattern = String::from("local/skydns/*");
        for _ in 0..120 {
            pattern.push_str("/z");
        }
        let ended = visit(&s, &pattern, &budget, &mut |_| ControlFlow::Continue(()));
        assert_eq!(ended, Visit::Done);
        assert_eq!(budget.left(), 100, "rejected by the presence index");
    }

    #[test]
    fn a_name_deeper_than_every_key_costs_nothing() {
        let keys: Vec<String> = (0..2000).map(|i| format!("local/skydns/s{i}/a")).collect();
        let s = snap(&keys.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(s.max_depth(), 4);
        for pattern in ["local/skydns/*/*/*", "*/*/*/*/*", "local/skydns/s1/a/b"] {
            let budget = Budget::new(100);
            let ended = visit(&s, pattern, &budget, &mut |_| ControlFlow::Continue(()));
            assert_eq!((ended, budget.left()), (Visit::Done, 100), "{pattern}");
        }
        assert_eq!(found(&s, "*/*/*/*", 100_000).0.len(), 2000);
    }

    #[test]
    fn a_walk_over_many_children_stops_at_the_budget() {
        let mut keys: Vec<String> = (0..2000).map(|i| format!("local/skydns/s{i}/a")).collect();
        keys.push("local/skydns/x/b".into());
        let s = snap(&keys.iter().map(String::as_str).collect::<Vec<_>>());
        // `b` exists at that depth, so the walk has to look under every child.
        let (hits, ended) = found(&s, "local/skydns/*/b", 400);
        assert_eq!(ended, Visit::OutOfBudget);
        assert!(hits.is_empty());
        let (hits, ended) = found(&s, "local/skydns/*/b", 100_000);
        assert_eq!(
            (hits, ended),
            (vec!["local/skydns/x/b".to_owned()], Visit::Done)
        );
    }
}
