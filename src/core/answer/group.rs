//! Groups (SkyDNS `msg.Group`): when the shallowest service of a subtree names a group, a
//! subtree answer is limited to that group plus the services without one; services at the same
//! depth that disagree on the group cancel the restriction.

use std::sync::Arc;

use crate::core::snapshot::Entry;

/// Applies the group rule to the services of one lookup (in lookup order).
pub fn apply(entries: Vec<&Arc<Entry>>) -> Vec<&Arc<Entry>> {
    let Some(first) = entries.first() else {
        return entries;
    };
    if entries.iter().all(|e| e.service.group().is_empty()) {
        return entries;
    }
    let mut group: &str = first.service.group();
    let mut depth = first.depth();
    for entry in &entries {
        if entry.depth() < depth {
            if entry.service.group().is_empty() {
                break;
            }
            depth = entry.depth();
            group = entry.service.group();
        }
    }
    if group.is_empty() {
        return entries;
    }
    let disagreement = entries
        .iter()
        .any(|e| !e.service.group().is_empty() && e.depth() == depth && e.service.group() != group);
    if disagreement {
        return entries;
    }
    let group = group.to_owned();
    entries
        .into_iter()
        .filter(|e| e.service.group().is_empty() || e.service.group() == group)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::snapshot::Snapshot;

    fn groups_of(items: &[(&str, &str)]) -> Vec<String> {
        let (snap, _) = Snapshot::build(
            "skydns",
            1,
            items.iter().map(|(k, g)| {
                (
                    format!("/skydns/{k}"),
                    format!(r#"{{"host":"10.0.0.1","group":"{g}"}}"#).into_bytes(),
                    None,
                )
            }),
        );
        apply(snap.subtree("x").collect())
            .iter()
            .map(|e| e.path.to_string())
            .collect()
    }

    #[test]
    fn same_group_keeps_all() {
        assert_eq!(groups_of(&[("x/a", "g1"), ("x/b", "g1")]).len(), 2);
    }

    #[test]
    fn groupless_services_stay() {
        assert_eq!(groups_of(&[("x/a", "g1"), ("x/b", "")]).len(), 2);
    }

    #[test]
    fn shallow_group_wins_over_deep_one() {
        assert_eq!(groups_of(&[("x/a/b", "g2"), ("x/b", "g1")]), vec!["x/b"]);
    }

    #[test]
    fn disagreement_at_same_depth_returns_all() {
        assert_eq!(groups_of(&[("x/a", "g1"), ("x/b", "g2")]).len(), 2);
    }
}
