//! One source of settings (config file, command line and environment, or `/<prefix>/config`
//! in the store) as optional values. Layers are merged, later ones winning, then validated.
//! Keys are SkyDNS's JSON keys; they match case-insensitively in JSON.

use std::time::Duration;

use serde_json::{Map, Value};

use super::ConfigError;

/// Every setting, each optional.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Layer {
    pub dns_addr: Option<Vec<String>>,
    pub domain: Option<String>,
    pub hostmaster: Option<String>,
    pub local: Option<String>,
    pub dnssec: Option<String>,
    pub round_robin: Option<bool>,
    pub ns_rotate: Option<bool>,
    pub nameservers: Option<Vec<String>>,
    pub no_rec: Option<bool>,
    pub read_timeout: Option<Duration>,
    pub priority: Option<u64>,
    pub ttl: Option<u64>,
    pub min_ttl: Option<u64>,
    pub scache: Option<i64>,
    pub rcache: Option<i64>,
    pub rcache_ttl: Option<u64>,
    pub ndots: Option<u64>,
    pub systemd: Option<bool>,
    pub stubzones: Option<bool>,
    pub forward_allow: Option<Vec<String>>,
    pub edns_payload: Option<u64>,
    pub query_log: Option<bool>,
    // Settings that need a restart.
    pub machines: Option<Vec<String>>,
    pub tls_key: Option<String>,
    pub tls_pem: Option<String>,
    pub ca_cert: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub path_prefix: Option<String>,
    pub file: Option<String>,
    pub user: Option<String>,
    pub group: Option<String>,
    pub log: Option<String>,
    pub log_level: Option<String>,
    pub tcp_idle_timeout: Option<Duration>,
    pub tcp_max_connections: Option<u64>,
}

macro_rules! merge_fields {
    ($base:ident, $top:ident, $($f:ident),*) => {
        $( if $top.$f.is_some() { $base.$f = $top.$f; } )*
    };
}

impl Layer {
    /// This layer with every value set in `top` replaced by `top`'s.
    pub fn merged(mut self, top: Layer) -> Layer {
        merge_fields!(
            self,
            top,
            dns_addr,
            domain,
            hostmaster,
            local,
            dnssec,
            round_robin,
            ns_rotate,
            nameservers,
            no_rec,
            read_timeout,
            priority,
            ttl,
            min_ttl,
            scache,
            rcache,
            rcache_ttl,
            ndots,
            systemd,
            stubzones,
            forward_allow,
            edns_payload,
            query_log,
            machines,
            tls_key,
            tls_pem,
            ca_cert,
            username,
            password,
            path_prefix,
            file,
            user,
            group,
            log,
            log_level,
            tcp_idle_timeout,
            tcp_max_connections
        );
        self
    }

    /// Reads a JSON/TOML-style object. `source` names it in errors. Unknown keys are errors
    /// when `strict` (our config file) and ignored otherwise (`/<prefix>/config`, as SkyDNS).
    /// Returns the layer and the unknown keys.
    pub fn from_map(
        map: &Map<String, Value>,
        source: &str,
        strict: bool,
    ) -> Result<(Layer, Vec<String>), ConfigError> {
        let mut l = Layer::default();
        let mut unknown = Vec::new();
        for (raw_key, v) in map {
            let key = raw_key.to_ascii_lowercase().replace('-', "_");
            let f = Field {
                source,
                key: raw_key,
                value: v,
            };
            match key.as_str() {
                "dns_addr" => l.dns_addr = Some(f.list()?),
                "domain" => l.domain = Some(f.string()?),
                "hostmaster" => l.hostmaster = Some(f.string()?),
                "local" => l.local = Some(f.string()?),
                "dnssec" => l.dnssec = Some(f.string()?),
                "round_robin" => l.round_robin = Some(f.boolean()?),
                "ns_rotate" => l.ns_rotate = Some(f.boolean()?),
                "nameservers" => l.nameservers = Some(f.list()?),
                "no_rec" => l.no_rec = Some(f.boolean()?),
                "read_timeout" => l.read_timeout = Some(f.duration(true)?),
                "priority" => l.priority = Some(f.unsigned()?),
                "ttl" => l.ttl = Some(f.unsigned()?),
                "min_ttl" => l.min_ttl = Some(f.unsigned()?),
                "scache" => l.scache = Some(f.signed()?),
                "rcache" => l.rcache = Some(f.signed()?),
                "rcache_ttl" => l.rcache_ttl = Some(f.unsigned()?),
                "ndot" | "ndots" => l.ndots = Some(f.unsigned()?),
                "systemd" => l.systemd = Some(f.boolean()?),
                "stubzones" => l.stubzones = Some(f.boolean()?),
                "forward_allow" => l.forward_allow = Some(f.list()?),
                "edns_payload" => l.edns_payload = Some(f.unsigned()?),
                "query_log" | "verbose" => l.query_log = Some(f.boolean()?),
                "machines" => l.machines = Some(f.list()?),
                "tls_key" => l.tls_key = Some(f.string()?),
                "tls_pem" => l.tls_pem = Some(f.string()?),
                "ca_cert" => l.ca_cert = Some(f.string()?),
                "username" => l.username = Some(f.string()?),
                "password" => l.password = Some(f.string()?),
                "path_prefix" => l.path_prefix = Some(f.string()?),
                "file" => l.file = Some(f.string()?),
                "user" => l.user = Some(f.string()?),
                "group" => l.group = Some(f.string()?),
                "log" => l.log = Some(f.string()?),
                "log_level" => l.log_level = Some(f.string()?),
                "tcp_idle_timeout" => l.tcp_idle_timeout = Some(f.duration(false)?),
                "tcp_max_connections" => l.tcp_max_connections = Some(f.unsigned()?),
                // SkyDNS keys that mean nothing here: the v3 API is the only one.
                "etcd3" | "version" => {}
                _ if strict => {
                    return Err(ConfigError::new(source, raw_key, "is not a known setting"))
                }
                _ => unknown.push(raw_key.clone()),
            }
        }
        Ok((l, unknown))
    }
}

struct Field<'a> {
    source: &'a str,
    key: &'a str,
    value: &'a Value,
}

impl Field<'_> {
    fn err(&self, problem: impl Into<String>) -> ConfigError {
        ConfigError::new(self.source, self.key, problem)
    }

    fn string(&self) -> Result<String, ConfigError> {
        match self.value {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.err(format!("must be a string, not {other}"))),
        }
    }

    fn boolean(&self) -> Result<bool, ConfigError> {
        match self.value {
            Value::Bool(b) => Ok(*b),
            other => Err(self.err(format!("must be true or false, not {other}"))),
        }
    }

    fn unsigned(&self) -> Result<u64, ConfigError> {
        self.value.as_u64().ok_or_else(|| {
            self.err(format!(
                "must be a non-negative integer, not {}",
                self.value
            ))
        })
    }

    fn signed(&self) -> Result<i64, ConfigError> {
        self.value
            .as_i64()
            .ok_or_else(|| self.err(format!("must be an integer, not {}", self.value)))
    }

    /// A list of strings; a single string is split on commas.
    fn list(&self) -> Result<Vec<String>, ConfigError> {
        match self.value {
            Value::String(s) => Ok(split_list(s)),
            Value::Array(items) => items
                .iter()
                .map(|item| match item {
                    Value::String(s) => Ok(s.trim().to_owned()),
                    other => Err(self.err(format!("must hold strings, not {other}"))),
                })
                .collect(),
            other => Err(self.err(format!("must be a list of strings, not {other}"))),
        }
    }

    /// A duration: a string like `2s` / `500ms`, or an integer (nanoseconds when `go_nanos`,
    /// as Go's `time.Duration` in JSON; seconds otherwise).
    fn duration(&self, go_nanos: bool) -> Result<Duration, ConfigError> {
        match self.value {
            Value::String(s) => parse_duration(s).map_err(|p| self.err(p)),
            Value::Number(n) => match n.as_u64() {
                Some(v) if go_nanos => Ok(Duration::from_nanos(v)),
                Some(v) => Ok(Duration::from_secs(v)),
                None => Err(self.err(format!("must be a non-negative duration, not {n}"))),
            },
            other => Err(self.err(format!(
                "must be a duration like \"2s\" or an integer, not {other}"
            ))),
        }
    }
}

/// Splits a comma list, dropping empty items.
pub fn split_list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Parses `1h2m3s`, `500ms`, `2s`, `1.5s`, `250us`, `100ns` (Go's `time.ParseDuration` units).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("`{text}` is not a duration (examples: 2s, 500ms, 1m30s)");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(bad()),
        };
        total += number * scale;
        rest = &rest[unit_len..];
    }
    Duration::try_from_secs_f64(total).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(json: &str, strict: bool) -> Result<(Layer, Vec<String>), ConfigError> {
        let v: Value = serde_json::from_str(json).unwrap();
        Layer::from_map(v.as_object().unwrap(), "/skydns/config", strict)
    }

    #[test]
    fn reads_skydns_keys_case_insensitively() {
        let (l, unknown) = layer(
            r#"{"Domain":"x.test","TTL":60,"nameservers":["127.0.0.1:53"],"read_timeout":2000000000,"ndot":3,"whatever":1}"#,
            false,
        )
        .unwrap();
        assert_eq!(l.domain.as_deref(), Some("x.test"));
        assert_eq!(l.ttl, Some(60));
        assert_eq!(l.read_timeout, Some(Duration::from_secs(2)));
        assert_eq!(l.ndots, Some(3));
        assert_eq!(unknown, vec!["whatever".to_owned()]);
    }

    #[test]
    fn errors_name_source_and_key() {
        let e = layer(r#"{"ttl":"abc"}"#, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "/skydns/config: key `ttl` must be a non-negative integer, not \"abc\""
        );
        assert!(layer(r#"{"tll":1}"#, true).is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert!(parse_duration("2 seconds").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn later_layers_win() {
        let a = Layer {
            ttl: Some(1),
            domain: Some("a.".into()),
            ..Layer::default()
        };
        let b = Layer {
            ttl: Some(2),
            ..Layer::default()
        };
        let m = a.merged(b);
        assert_eq!((m.ttl, m.domain.as_deref()), (Some(2), Some("a.")));
    }
}
