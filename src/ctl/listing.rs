//! What `service ls` shows: the stored services at or below a name, as a table of their
//! fields (as the daemon reads them) or as JSON in the file store's format (so the output of
//! `ls --json` can serve as a `--file`). Keys are matched as the daemon matches them: by whole
//! labels and case-insensitively; the settings key is never a service.

use serde_json::{Map, Value};

use super::file::file_text;
use super::name::ServiceName;
use super::store::Stored;
use crate::core::path::{key_to_path, path_to_name};
use crate::core::service::{Host, Service};
use crate::store::CONFIG_PATH;

/// A stored service key with its path relative to the prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The path (lowercase).
    pub path: String,
    /// The key and value as stored.
    pub stored: Stored,
}

/// The service keys of `stored` (every key under the prefix), sorted by name.
pub fn services(prefix: &str, stored: Vec<Stored>) -> Vec<Found> {
    let mut found: Vec<Found> = stored
        .into_iter()
        .filter_map(|stored| {
            let path = key_to_path(prefix, &stored.key)?;
            (path != CONFIG_PATH).then_some(Found { path, stored })
        })
        .collect();
    found.sort_by(|a, b| a.path.cmp(&b.path).then(a.stored.key.cmp(&b.stored.key)));
    found
}

/// The services at `name` and those below it.
pub fn at_and_below(name: &ServiceName, found: Vec<Found>) -> (Vec<Found>, Vec<Found>) {
    let (at, rest): (Vec<Found>, Vec<Found>) = found.into_iter().partition(|f| name.is_at(&f.path));
    let below = rest
        .into_iter()
        .filter(|f| name.is_below(&f.path))
        .collect();
    (at, below)
}

/// The table header.
const COLUMNS: [&str; 10] = [
    "NAME",
    "HOST",
    "PORT",
    "PRIORITY",
    "WEIGHT",
    "TTL",
    "MAIL",
    "TARGETSTRIP",
    "GROUP",
    "TEXT",
];

/// One table row: the fields as the daemon reads them, `-` for those not given; a value the
/// daemon refuses shows `(invalid)` and why.
fn row(found: &Found) -> Vec<String> {
    let name = path_to_name(&found.path);
    let service = match Service::parse(&found.stored.value) {
        Ok(service) => service,
        Err(e) => {
            let mut cells = vec![name, "(invalid)".to_owned()];
            cells.extend(std::iter::repeat_n("-".to_owned(), COLUMNS.len() - 3));
            cells.push(format!("not served: {e}"));
            return cells;
        }
    };
    let given = |n: u64| {
        if n == 0 {
            "-".to_owned()
        } else {
            n.to_string()
        }
    };
    vec![
        name,
        match &service.host {
            Host::None => "-".to_owned(),
            Host::Ip(ip) => ip.to_string(),
            Host::Name(target) => target.to_string(),
        },
        service.port.to_string(),
        given(service.priority.into()),
        given(service.weight.into()),
        given(service.ttl.into()),
        if service.mail { "yes" } else { "-" }.to_owned(),
        given(service.target_strip.into()),
        if service.group().is_empty() {
            "-".to_owned()
        } else {
            service.group().escape_debug().to_string()
        },
        service.text().escape_debug().to_string(),
    ]
}

/// The services as an aligned table with a header line.
pub fn table(found: &[Found]) -> String {
    let rows: Vec<Vec<String>> = std::iter::once(COLUMNS.map(str::to_owned).to_vec())
        .chain(found.iter().map(row))
        .collect();
    let widths: Vec<usize> = (0..COLUMNS.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// The keys and values in the file store's format: a value that is JSON as itself, any other
/// as a string.
pub fn json(found: &[Found]) -> String {
    let map: Map<String, Value> = found
        .iter()
        .map(|f| {
            let value = serde_json::from_slice(&f.stored.value).unwrap_or_else(|_| {
                Value::String(String::from_utf8_lossy(&f.stored.value).into_owned())
            });
            (f.stored.key.clone(), value)
        })
        .collect();
    file_text(&map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(key: &str, value: &str) -> Stored {
        Stored {
            key: key.to_owned(),
            value: value.as_bytes().to_vec(),
        }
    }

    fn sample() -> Vec<Found> {
        services(
            "skydns",
            vec![
                stored("/skydns/config", r#"{"ttl":60}"#),
                stored(
                    "/skydns/local/skydns/web/2",
                    r#"{"host":"10.0.0.2","port":80,"priority":5,"mail":true}"#,
                ),
                stored(
                    "/skydns/local/skydns/web",
                    r#"{"host":"Web.Example.org","text":"a\tb"}"#,
                ),
                stored("/skydns/local/skydns/web2", r#"{"host":"10.0.0.9"}"#),
                stored("/skydns/local/skydns/web/bad", r#"{"port":"x"}"#),
            ],
        )
    }

    #[test]
    fn the_settings_key_is_no_service_and_names_match_by_labels() {
        let found = sample();
        assert_eq!(found.len(), 4);
        let web = ServiceName::parse("web.skydns.local").unwrap();
        let (at, below) = at_and_below(&web, found);
        assert_eq!(at.len(), 1);
        let below: Vec<&str> = below.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(below, ["local/skydns/web/2", "local/skydns/web/bad"]);
    }

    #[test]
    fn table_shows_fields_as_the_daemon_reads_them() {
        let text = table(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("NAME  "), "{text}");
        assert!(lines[1].starts_with("web.skydns.local. "), "{text}");
        assert!(lines[1].contains("web.example.org."), "{text}");
        assert!(lines[1].ends_with("a\\tb"), "{text}");
        let two = lines[2].split_whitespace().collect::<Vec<_>>();
        assert_eq!(
            two,
            [
                "2.web.skydns.local.",
                "10.0.0.2",
                "80",
                "5",
                "-",
                "-",
                "yes",
                "-",
                "-"
            ]
        );
        assert!(
            lines[3].contains("(invalid)") && lines[3].contains("field `port`"),
            "{text}"
        );
    }

    #[test]
    fn json_is_a_file_store() {
        let text = json(&sample()[..1]);
        assert_eq!(
            text,
            "{\n  \"/skydns/local/skydns/web\": {\"host\":\"Web.Example.org\",\"text\":\"a\\tb\"}\n}\n"
        );
    }
}
