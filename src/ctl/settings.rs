//! `skydnsctl config get|set`: the settings in `/<prefix>/config`. `set` merges the new keys
//! into the stored object and checks the result with the daemon's own loading (`config::load`)
//! before writing it, so a key skydns would ignore or a value it would refuse is reported in
//! its words and nothing is written.

use anyhow::Result;
use serde_json::{Map, Value};

use super::error::{Failure, UsageError};
use super::store::{Store, UpdateError};
use crate::config::sources::canonical;
use crate::config::{self, CommandLine, ConfigError, HostFacts, Sources};
use crate::store::config_key;

/// `config get`: prints the stored settings, pretty-printed when they are JSON.
pub async fn get(store: &mut Store) -> Result<i32> {
    let key = config_key(store.prefix());
    match store.get(&key).await? {
        None => println!("{{}}"),
        Some(raw) => match serde_json::from_slice::<Value>(&raw) {
            Ok(value) => println!("{}", serde_json::to_string_pretty(&value)?),
            Err(_) => println!("{}", String::from_utf8_lossy(&raw)),
        },
    }
    Ok(0)
}

/// One `KEY=VALUE` argument: the key as its setting's name when it names one, the value as
/// JSON when it is JSON, else as text.
fn parse_assignment(arg: &str) -> Result<(String, Value), UsageError> {
    let (key, value) = arg
        .split_once('=')
        .filter(|(key, _)| !key.trim().is_empty())
        .ok_or_else(|| UsageError::NotKeyValue(arg.to_owned()))?;
    let key = key.trim();
    let key = canonical(key).map_or_else(|_| key.to_owned(), |spec| spec.key.to_owned());
    let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
    Ok((key, value))
}

/// `current` with `assignments` merged in: a key replaces every spelling of the same setting.
fn merge(
    settings_key: &str,
    current: Option<&[u8]>,
    assignments: &[(String, Value)],
) -> Result<Map<String, Value>, Failure> {
    let not_an_object = |problem: String| Failure::SettingsNotAnObject {
        key: settings_key.to_owned(),
        problem,
    };
    let mut map = match current.map(serde_json::from_slice::<Value>) {
        None => Map::new(),
        Some(Ok(Value::Object(map))) => map,
        Some(Ok(other)) => return Err(not_an_object(format!("it holds {other}"))),
        Some(Err(e)) => return Err(not_an_object(format!("not valid JSON: {e}"))),
    };
    for (key, value) in assignments {
        map.retain(|existing, _| match canonical(existing) {
            Ok(spec) => spec.key != key,
            Err(_) => existing != key,
        });
        map.insert(key.clone(), value.clone());
    }
    Ok(map)
}

/// Loads `value` as the daemon loads `/<prefix>/config`; refuses the keys of `assignments`
/// that it would not use.
fn check(
    settings_key: &str,
    value: &[u8],
    assignments: &[(String, Value)],
) -> Result<(), SetError> {
    let ours = |key: &str| assignments.iter().any(|(k, _)| k == key);
    let command_line = CommandLine::default();
    let sources = Sources {
        command_line: &command_line,
        file: None,
        store: Some((settings_key, value)),
    };
    let loaded = config::load(&sources, &HostFacts::default()).map_err(|e| {
        if ours(&e.key) {
            SetError::Usage(UsageError::Setting(e))
        } else {
            SetError::Failure(Failure::StoredSetting(e))
        }
    })?;
    if let Some(ignored) = loaded.ignored.iter().find(|i| ours(&i.key)) {
        let e = ConfigError::new(settings_key, &ignored.key, ignored.reason.problem());
        return Err(SetError::Usage(UsageError::Setting(e)));
    }
    if let Some((key, _)) = assignments
        .iter()
        .find(|(k, _)| matches!(canonical(k), Err(true)))
    {
        let e = ConfigError::new(
            settings_key,
            key,
            "is a SkyDNS setting that means nothing here",
        );
        return Err(SetError::Usage(UsageError::Setting(e)));
    }
    Ok(())
}

/// Why `config set` writes nothing.
#[derive(Debug, thiserror::Error)]
enum SetError {
    #[error(transparent)]
    Usage(UsageError),
    #[error(transparent)]
    Failure(Failure),
}

/// `config set KEY=VALUE...`: merges, checks, writes; prints the settings written.
pub async fn set(store: &mut Store, args: &[String]) -> Result<i32> {
    let assignments = args
        .iter()
        .map(|arg| parse_assignment(arg))
        .collect::<Result<Vec<_>, _>>()?;
    let key = config_key(store.prefix());
    let written = store
        .update(&key, |current| {
            let map = merge(&key, current, &assignments).map_err(SetError::Failure)?;
            let value = Value::Object(map).to_string().into_bytes();
            check(&key, &value, &assignments)?;
            Ok::<_, SetError>(value)
        })
        .await
        .map_err(|e| match e {
            UpdateError::Store(e) => anyhow::Error::from(e),
            UpdateError::Refused(SetError::Usage(e)) => e.into(),
            UpdateError::Refused(SetError::Failure(e)) => e.into(),
        })?;
    println!("{key} = {}", String::from_utf8_lossy(&written));
    eprintln!("skydns applies it on its next reload (systemctl reload skydns, or SIGHUP)");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assignments(args: &[&str]) -> Vec<(String, Value)> {
        args.iter().map(|a| parse_assignment(a).unwrap()).collect()
    }

    #[test]
    fn values_are_json_or_text_and_keys_their_settings_names() {
        let a = assignments(&[
            "TTL=60",
            "no-rec=true",
            "domain=example.org",
            "nameservers=[\"127.0.0.1:53\"]",
        ]);
        assert_eq!(a[0], ("ttl".to_owned(), Value::from(60)));
        assert_eq!(a[1], ("no_rec".to_owned(), Value::Bool(true)));
        assert_eq!(a[2], ("domain".to_owned(), Value::from("example.org")));
        assert!(a[3].1.is_array());
        assert!(parse_assignment("ttl").is_err());
        assert!(parse_assignment("=1").is_err());
    }

    #[test]
    fn merging_replaces_every_spelling_of_a_setting() {
        let current = br#"{"TTL":30,"ndot":3,"domain":"a.test."}"#;
        let map = merge(
            "/skydns/config",
            Some(current),
            &assignments(&["ttl=60", "ndots=2"]),
        )
        .unwrap();
        assert_eq!(
            Value::Object(map).to_string(),
            r#"{"domain":"a.test.","ndots":2,"ttl":60}"#
        );
        assert!(merge("/skydns/config", Some(b"[1]"), &[]).is_err());
    }

    #[test]
    fn bad_keys_and_values_are_refused_in_the_daemons_words() {
        let refused = |args: &[&str]| {
            let a = assignments(args);
            let value = Value::Object(merge("/skydns/config", None, &a).unwrap()).to_string();
            check("/skydns/config", value.as_bytes(), &a)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            refused(&["ttl=abc"]),
            "/skydns/config: key `ttl` must be a non-negative integer, not \"abc\""
        );
        assert_eq!(
            refused(&["nosuchkey=1"]),
            "/skydns/config: key `nosuchkey` is not a known setting"
        );
        assert!(
            refused(&["dns_addr=127.0.0.1:53"]).contains("key `dns_addr` is a start-up setting")
        );
        assert!(refused(&["etcd3=true"]).contains("key `etcd3`"));
        let fine = assignments(&["ttl=60", "nameservers=127.0.0.1:53"]);
        let value = Value::Object(merge("/skydns/config", None, &fine).unwrap()).to_string();
        assert!(check("/skydns/config", value.as_bytes(), &fine).is_ok());
    }
}
