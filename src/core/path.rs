//! Domain names <-> store keys. `rails.production.east.skydns.local.` is stored under
//! `/<prefix>/local/skydns/east/production/rails`; inside the snapshot keys are kept relative to
//! the prefix (`local/skydns/east/production/rails`) and lowercased, so lookups are
//! case-insensitive while answers keep the question's case.

use hickory_proto::rr::Name;

/// The two labels that match any label in a query name.
pub fn is_wildcard_label(label: &str) -> bool {
    label == "*" || label == "any"
}

/// The lowercase, dot-terminated text form of a name (`a.b.c.`), or `None` when a label holds
/// bytes that cannot appear in a store key (a `/`, a dot inside a label, a control character, or
/// non-UTF-8).
pub fn name_text(name: &Name) -> Option<String> {
    let mut out = String::with_capacity(name.len() + 1);
    for label in name {
        let label = std::str::from_utf8(label).ok()?;
        if !usable_label(label) {
            return None;
        }
        out.push_str(label);
        out.push('.');
    }
    if out.is_empty() {
        out.push('.');
    }
    out.make_ascii_lowercase();
    Some(out)
}

/// True when a key segment can hold `label`: no `/`, no `.`, no control character (the index
/// orders segments with bytes below the printable ones as separators).
pub fn usable_label(label: &str) -> bool {
    !label.bytes().any(|b| b == b'/' || b == b'.' || b < 0x20)
}

/// The lowercase text of the longest suffix of `name` whose labels a key can hold (see
/// [`name_text`]); the root when even the last label cannot.
pub fn usable_suffix(name: &Name) -> String {
    let labels: Vec<&[u8]> = name.iter().collect();
    let usable = labels
        .iter()
        .rev()
        .take_while(|l| std::str::from_utf8(l).is_ok_and(usable_label))
        .count();
    let mut out = String::new();
    for label in &labels[labels.len() - usable..] {
        out.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
        out.push('.');
    }
    if out.is_empty() {
        out.push('.');
    }
    out
}

/// `rails.production.east.skydns.local.` -> `local/skydns/east/production/rails`.
/// The root name gives the empty path.
pub fn name_to_path(name: &str) -> String {
    let trimmed = name.trim_end_matches('.');
    if trimmed.is_empty() {
        return String::new();
    }
    let mut path = reversed(trimmed, '.', '/');
    path.make_ascii_lowercase();
    path
}

/// The `sep`-separated parts of `text` in reverse order, joined with `join` (one allocation:
/// these run for every query).
fn reversed(text: &str, sep: char, join: char) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, part) in text.rsplit(sep).enumerate() {
        if i > 0 {
            out.push(join);
        }
        out.push_str(part);
    }
    out
}

/// `local/skydns/east/production/rails` -> `rails.production.east.skydns.local.`
pub fn path_to_name(path: &str) -> String {
    if path.is_empty() {
        return ".".to_owned();
    }
    let mut name = reversed(path, '/', '.');
    name.push('.');
    name
}

/// The store key of a path: `/<prefix>/<path>` (the inverse of [`key_to_path`]).
pub fn path_to_key(prefix: &str, path: &str) -> String {
    format!("/{prefix}/{path}")
}

/// Strips `/<prefix>/` from a store key and lowercases the rest; `None` for keys outside the
/// prefix, with empty segments (`//`, trailing `/`) or with control characters.
pub fn key_to_path(prefix: &str, key: &str) -> Option<String> {
    let rest = key
        .strip_prefix('/')?
        .strip_prefix(prefix)?
        .strip_prefix('/')?;
    // Control characters order below `/` in the index's segment order: keys holding them are
    // left out.
    if rest.is_empty()
        || rest
            .split('/')
            .any(|s| s.is_empty() || s.bytes().any(|b| b < 0x20))
    {
        return None;
    }
    Some(rest.to_ascii_lowercase())
}

/// True when `name` equals `zone` or lies below it (both lowercase, dot-terminated).
pub fn in_zone(name: &str, zone: &str) -> bool {
    zone == "."
        || name == zone
        || (name.ends_with(zone) && name[..name.len() - zone.len()].ends_with('.'))
}

/// Number of labels of a dot-terminated name (the root has 0).
pub fn label_count(name: &str) -> usize {
    name.trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
        .count()
}

/// Removes `strip` labels from the left of `name`, unless that would remove every label.
pub fn strip_labels(name: &str, strip: usize) -> &str {
    if strip == 0 || strip >= label_count(name) {
        return name;
    }
    let mut rest = name;
    for _ in 0..strip {
        match rest.find('.') {
            Some(i) => rest = &rest[i + 1..],
            None => return name,
        }
    }
    rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_names_to_paths_and_back() {
        assert_eq!(
            name_to_path("Rails.Production.east.skydns.local."),
            "local/skydns/east/production/rails"
        );
        assert_eq!(
            path_to_name("local/skydns/east/production/rails"),
            "rails.production.east.skydns.local."
        );
        assert_eq!(name_to_path("."), "");
        assert_eq!(
            name_to_path("1.0.0.10.in-addr.arpa."),
            "arpa/in-addr/10/0/0/1"
        );
    }

    #[test]
    fn keys_relative_to_prefix() {
        assert_eq!(
            key_to_path("skydns", "/skydns/local/skydns/x").as_deref(),
            Some("local/skydns/x")
        );
        assert_eq!(key_to_path("mydns", "/mydns/a/B").as_deref(), Some("a/b"));
        assert_eq!(key_to_path("skydns", "/skydnsx/a"), None);
        assert_eq!(key_to_path("skydns", "/skydns/a//b"), None);
        assert_eq!(key_to_path("skydns", "/skydns/"), None);
        let key = path_to_key("skydns", "local/skydns/x");
        assert_eq!(key, "/skydns/local/skydns/x");
        assert_eq!(
            key_to_path("skydns", &key).as_deref(),
            Some("local/skydns/x")
        );
    }

    #[test]
    fn zones_match_on_label_boundaries() {
        assert!(in_zone("a.skydns.local.", "skydns.local."));
        assert!(in_zone("skydns.local.", "skydns.local."));
        assert!(!in_zone("askydns.local.", "skydns.local."));
        assert!(in_zone("x.", "."));
    }

    #[test]
    fn strips_labels_unless_everything_would_go() {
        assert_eq!(strip_labels("x.bar.skydns.test.", 1), "bar.skydns.test.");
        assert_eq!(strip_labels("a.b.", 2), "a.b.");
        assert_eq!(strip_labels("a.b.", 0), "a.b.");
    }

    #[test]
    fn the_usable_suffix_stops_at_a_label_no_key_can_hold() {
        let name = Name::from_labels(vec![&b"a/b"[..], b"Big", b"skydns", b"local"]).unwrap();
        assert_eq!(usable_suffix(&name), "big.skydns.local.");
        let dotted = Name::from_labels(vec![&b"x"[..], b"a.b", b"local"]).unwrap();
        assert_eq!(usable_suffix(&dotted), "local.");
    }

    #[test]
    fn parts_reverse_as_split_reverse_join_would() {
        for text in ["a.b.c", "a", "", ".a", "a.", "a..b", "..", "Ab.cD"] {
            let mut parts: Vec<&str> = text.split('.').collect();
            parts.reverse();
            assert_eq!(reversed(text, '.', '/'), parts.join("/"), "{text:?}");
        }
    }

    #[test]
    fn name_text_rejects_slashes() {
        let n = Name::from_ascii("A.b.").unwrap();
        assert_eq!(name_text(&n).as_deref(), Some("a.b."));
        assert_eq!(name_text(&Name::root()).as_deref(), Some("."));
        let bad = Name::from_labels(vec![b"a/b".to_vec()]).unwrap();
        assert_eq!(name_text(&bad), None);
    }
}
