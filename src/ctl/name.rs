//! A service name given on the command line and the key it is stored under: the reversed
//! labels under the prefix, as SkyDNS lays them out (`1.web.skydns.local` is
//! `/<prefix>/local/skydns/web/1`), through the daemon's own mapping (`core::path`). A name
//! need not be inside the served domain, but every label must make one key segment.

use hickory_proto::rr::Name;
use thiserror::Error;

use crate::core::path::{name_to_path, path_to_key, path_to_name};

/// A name that cannot be a key.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[error("NAME `{name}` {problem}")]
pub struct NameError {
    /// The name as given.
    pub name: String,
    /// What is wrong, completing "NAME `x` ...".
    pub problem: &'static str,
}

/// A valid service name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceName {
    /// The key path relative to the prefix (`local/skydns/web/1`), lowercase.
    pub path: String,
}

impl ServiceName {
    /// Checks `text` (a trailing dot is allowed): no empty label, no `/` in a label, and a
    /// valid domain name otherwise (labels up to 63 bytes, 255 in all).
    pub fn parse(text: &str) -> Result<Self, NameError> {
        let fail = |problem| NameError {
            name: text.to_owned(),
            problem,
        };
        let bare = text.strip_suffix('.').unwrap_or(text);
        if bare.is_empty() {
            return Err(fail("is empty (the root cannot hold a service)"));
        }
        if bare.split('.').any(str::is_empty) {
            return Err(fail("has an empty label"));
        }
        if bare.contains('/') {
            return Err(fail("has a label containing `/`"));
        }
        if bare.contains('\\') || Name::from_ascii(format!("{bare}.")).is_err() {
            return Err(fail(
                "is not a domain name (labels of at most 63 bytes, 255 in all)",
            ));
        }
        Ok(ServiceName {
            path: name_to_path(bare),
        })
    }

    /// The key under `/<prefix>/`.
    pub fn key(&self, prefix: &str) -> String {
        path_to_key(prefix, &self.path)
    }

    /// The name, lowercase and fully qualified.
    pub fn fqdn(&self) -> String {
        path_to_name(&self.path)
    }

    /// True when `path` (relative to the prefix, lowercase) is this name's own key.
    pub fn is_at(&self, path: &str) -> bool {
        path == self.path
    }

    /// True when `path` lies strictly below this name.
    pub fn is_below(&self, path: &str) -> bool {
        path.strip_prefix(self.path.as_str())
            .is_some_and(|rest| rest.starts_with('/'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_reversed_keys() {
        let n = ServiceName::parse("1.Web.skydns.local.").unwrap();
        assert_eq!(n.key("skydns"), "/skydns/local/skydns/web/1");
        assert_eq!(n.fqdn(), "1.web.skydns.local.");
        let outside = ServiceName::parse("db.example.org").unwrap();
        assert_eq!(outside.key("p"), "/p/org/example/db");
    }

    #[test]
    fn bad_names_are_refused_with_the_reason() {
        for (name, problem) in [
            ("", "is empty"),
            (".", "is empty"),
            ("a..b", "empty label"),
            (".a", "empty label"),
            ("a/b.local", "`/`"),
            ("a\\.b.local", "not a domain name"),
        ] {
            let e = ServiceName::parse(name).unwrap_err();
            assert!(e.problem.contains(problem), "{name}: {e}");
            assert!(e.to_string().contains(&format!("`{name}`")), "{e}");
        }
        let long = "x".repeat(64);
        assert!(ServiceName::parse(&format!("{long}.local")).is_err());
    }

    #[test]
    fn subtree_membership_is_by_whole_labels() {
        let web = ServiceName::parse("web.skydns.local").unwrap();
        assert!(web.is_at("local/skydns/web"));
        assert!(web.is_below("local/skydns/web/1"));
        assert!(!web.is_below("local/skydns/web"));
        assert!(!web.is_below("local/skydns/web2/1"));
    }
}
