//! The types of settings and what makes a value of each valid. Every source gives values in
//! one of two shapes: text (flags, environment variables, and strings in files) or typed JSON/
//! TOML values (numbers, booleans, arrays). Each type here accepts both and says, when a value
//! is not valid, what it must be, so a message names the key (added by the caller) and the
//! rule.
//!
//! An empty text value means "not set" for the types wrapped in [`Maybe`], so `--dnssec ""`
//! or `"local": ""` fall back to the setting's default.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use hickory_proto::rr::Name;
use serde::{Deserialize, Deserializer, Serialize};

use super::acl::Acl;

/// A value as a source gives it, before it is checked against its setting's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Raw {
    /// Text: a flag, an environment variable, or a string in a file.
    Text(String),
    /// An integer in a file.
    Int(i128),
    /// A number with a fraction in a file.
    Float(f64),
    /// `true` or `false` in a file.
    Bool(bool),
    /// An array in a file.
    List(Vec<Raw>),
    /// Anything else (a table, null).
    Other(&'static str),
}

impl fmt::Display for Raw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Raw::Text(s) => write!(f, "{s:?}"),
            Raw::Int(n) => write!(f, "{n}"),
            Raw::Float(x) => write!(f, "{x}"),
            Raw::Bool(b) => write!(f, "{b}"),
            Raw::List(items) => {
                let items: Vec<String> = items.iter().map(ToString::to_string).collect();
                write!(f, "[{}]", items.join(", "))
            }
            Raw::Other(what) => f.write_str(what),
        }
    }
}

impl Raw {
    /// The value as plain text: strings without quotes, lists joined with commas.
    pub fn plain(&self) -> String {
        match self {
            Raw::Text(s) => s.clone(),
            Raw::List(items) => items.iter().map(Raw::plain).collect::<Vec<_>>().join(","),
            other => other.to_string(),
        }
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct RawVisitor;
        impl<'de> serde::de::Visitor<'de> for RawVisitor {
            type Value = Raw;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a setting value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
                Ok(Raw::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
                Ok(Raw::Int(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Raw, E> {
                Ok(Raw::Int(v.into()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Raw, E> {
                Ok(Raw::Int(v))
            }
            fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Raw, E> {
                i128::try_from(v)
                    .map(Raw::Int)
                    .map_err(|_| E::custom("number too large"))
            }
            fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
                Ok(Raw::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
                Ok(Raw::Text(v.to_owned()))
            }
            fn visit_string<E>(self, v: String) -> Result<Raw, E> {
                Ok(Raw::Text(v))
            }
            fn visit_unit<E>(self) -> Result<Raw, E> {
                Ok(Raw::Other("null"))
            }
            fn visit_none<E>(self) -> Result<Raw, E> {
                Ok(Raw::Other("null"))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
                Raw::deserialize(d)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element::<Raw>()? {
                    items.push(item);
                }
                Ok(Raw::List(items))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
                while map
                    .next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?
                    .is_some()
                {}
                Ok(Raw::Other("a table"))
            }
        }
        deserializer.deserialize_any(RawVisitor)
    }
}

/// Implements `FromStr` (for clap) and `Deserialize` (for every other source) through the
/// type's `TryFrom<Raw>`.
macro_rules! setting_type {
    ($($t:ty),* $(,)?) => {$(
        impl std::str::FromStr for $t {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::try_from(Raw::Text(s.to_owned()))
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Self::try_from(Raw::deserialize(d)?).map_err(serde::de::Error::custom)
            }
        }
    )*};
}

/// A setting that may be unset: an empty text value (or none at all) means its default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Maybe<T>(pub Option<T>);

impl<T> Maybe<T> {
    /// The value, when one is set.
    pub fn get(&self) -> Option<&T> {
        self.0.as_ref()
    }
}

impl<'de, T: TryFrom<Raw, Error = String>> Deserialize<'de> for Maybe<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Text(s) if s.trim().is_empty() => Ok(Maybe(None)),
            raw => T::try_from(raw)
                .map(|v| Maybe(Some(v)))
                .map_err(serde::de::Error::custom),
        }
    }
}

/// `true` or `false` (also `yes`/`no`, `on`/`off`, `1`/`0` as text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Toggle(pub bool);

impl TryFrom<Raw> for Toggle {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        match &raw {
            Raw::Bool(b) => Ok(Toggle(*b)),
            Raw::Text(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "yes" | "on" | "1" => Ok(Toggle(true)),
                "false" | "no" | "off" | "0" => Ok(Toggle(false)),
                _ => Err(format!("must be true or false, not {raw}")),
            },
            _ => Err(format!("must be true or false, not {raw}")),
        }
    }
}

/// An integer from `MIN` to `MAX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Bounded<const MIN: u64, const MAX: u64>(pub u64);

impl<const MIN: u64, const MAX: u64> TryFrom<Raw> for Bounded<MIN, MAX> {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        let value =
            integer(&raw).ok_or_else(|| format!("must be a non-negative integer, not {raw}"))?;
        match u64::try_from(value) {
            Ok(v) if (MIN..=MAX).contains(&v) => Ok(Bounded(v)),
            _ => Err(format!("must be between {MIN} and {MAX}, not {value}")),
        }
    }
}

impl<const MIN: u64, const MAX: u64> Bounded<MIN, MAX> {
    /// The value as a `u32` (every bound used fits).
    pub fn as_u32(self) -> u32 {
        u32::try_from(self.0).unwrap_or(u32::MAX)
    }

    /// The value as a `u16`, saturating.
    pub fn as_u16(self) -> u16 {
        u16::try_from(self.0).unwrap_or(u16::MAX)
    }

    /// The value as a `usize`.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

/// A count of entries: 0 or more (SkyDNS wrote these as signed integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Capacity(pub usize);

impl TryFrom<Raw> for Capacity {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        let value = integer(&raw).ok_or_else(|| format!("must be an integer, not {raw}"))?;
        usize::try_from(value)
            .map(Capacity)
            .map_err(|_| format!("must be 0 or more, not {value}"))
    }
}

/// An integer given as a number or as text.
fn integer(raw: &Raw) -> Option<i128> {
    match raw {
        Raw::Int(n) => Some(*n),
        Raw::Text(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A duration: text like `2s`, `500ms`, `1m30s`, or an integer in the unit `NANOS` nanoseconds
/// (1 for Go's `time.Duration` in nanoseconds, 1e9 for seconds); more than 0 and at most
/// `MAX_SECS` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Span<const NANOS: u64, const MAX_SECS: u64>(pub Duration);

impl<const NANOS: u64, const MAX_SECS: u64> TryFrom<Raw> for Span<NANOS, MAX_SECS> {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        let span = match &raw {
            Raw::Text(s) => match s.trim().parse::<u64>() {
                Ok(n) => Duration::from_nanos(n.saturating_mul(NANOS)),
                Err(_) => parse_duration(s)?,
            },
            Raw::Int(n) => u64::try_from(*n)
                .map(|n| Duration::from_nanos(n.saturating_mul(NANOS)))
                .map_err(|_| format!("must be a non-negative duration, not {n}"))?,
            other => {
                return Err(format!(
                    "must be a duration like \"2s\" or an integer, not {other}"
                ))
            }
        };
        if span.is_zero() || span > Duration::from_secs(MAX_SECS) {
            return Err(format!("must be more than 0 and at most {MAX_SECS}s"));
        }
        Ok(Span(span))
    }
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

/// A size in bytes: an integer, or text with a unit (`512KiB`, `16MiB`, `1GiB`; `k`, `M`,
/// `G` count in thousands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ByteSize(pub u64);

impl TryFrom<Raw> for ByteSize {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        let bad = || format!("must be a size like 16MiB, 512KiB or a number of bytes, not {raw}");
        if let Some(n) = integer(&raw) {
            return u64::try_from(n).map(ByteSize).map_err(|_| bad());
        }
        let Raw::Text(text) = &raw else {
            return Err(bad());
        };
        let text = text.trim();
        let digits = text
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len());
        let number: u64 = text[..digits].parse().map_err(|_| bad())?;
        let scale: u64 = match text[digits..].trim() {
            "" | "B" => 1,
            "k" | "kB" | "K" => 1_000,
            "KiB" => 1 << 10,
            "M" | "MB" => 1_000_000,
            "MiB" => 1 << 20,
            "G" | "GB" => 1_000_000_000,
            "GiB" => 1 << 30,
            _ => return Err(bad()),
        };
        number.checked_mul(scale).map(ByteSize).ok_or_else(bad)
    }
}

/// Text, kept as given (trimmed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text(pub String);

impl TryFrom<Raw> for Text {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        match raw {
            Raw::Text(s) => Ok(Text(s.trim().to_owned())),
            other => Err(format!("must be a string, not {other}")),
        }
    }
}

/// A secret (a password): never shown by `Debug`; compared and serialized as given.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl TryFrom<Raw> for Secret {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        match raw {
            Raw::Text(s) => Ok(Secret(s)),
            _ => Err("must be a string".to_owned()),
        }
    }
}

/// A file path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FilePath(pub PathBuf);

impl TryFrom<Raw> for FilePath {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        Text::try_from(raw).map(|t| FilePath(PathBuf::from(t.0)))
    }
}

/// A DNSSEC key basename (`Kskydns.local.+013+12345`); SkyDNS also accepted a space for the
/// `+` that URL decoding may have turned into one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyBasename(pub PathBuf);

impl TryFrom<Raw> for KeyBasename {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        Text::try_from(raw).map(|t| KeyBasename(PathBuf::from(t.0.replace(' ', "+"))))
    }
}

/// A domain name: lowercase and dot-terminated once parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fqdn(pub String);

impl TryFrom<Raw> for Fqdn {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        fqdn(&Text::try_from(raw)?.0).map(Fqdn)
    }
}

/// `text` as a lowercase, dot-terminated domain name.
fn fqdn(text: &str) -> Result<String, String> {
    let mut t = text.trim().to_ascii_lowercase();
    if !t.ends_with('.') {
        t.push('.');
    }
    if t == "." || t.starts_with('.') || t.contains("..") || Name::from_ascii(&t).is_err() {
        return Err(format!("`{text}` is not a valid domain name"));
    }
    Ok(t)
}

/// A mailbox as a domain name: `ops@example.org` becomes `ops.example.org.` (the SOA RNAME).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mailbox(pub String);

impl TryFrom<Raw> for Mailbox {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        fqdn(&Text::try_from(raw)?.0.replace('@', ".")).map(Mailbox)
    }
}

/// A list of text items: an array, or text split at commas (empty items dropped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct List(pub Vec<String>);

impl TryFrom<Raw> for List {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        match raw {
            Raw::Text(s) => Ok(List(
                s.split(',')
                    .map(str::trim)
                    .filter(|x| !x.is_empty())
                    .map(str::to_owned)
                    .collect(),
            )),
            Raw::List(items) => items
                .into_iter()
                .map(|item| match item {
                    Raw::Text(s) => Ok(s.trim().to_owned()),
                    other => Err(format!("must hold strings, not {other}")),
                })
                .collect::<Result<_, _>>()
                .map(List),
            other => Err(format!("must be a list of strings, not {other}")),
        }
    }
}

/// Socket addresses: `IP:port`, `[IPv6]:port`, or a bare IP meaning port 53.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Addrs(pub Vec<SocketAddr>);

impl TryFrom<Raw> for Addrs {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        List::try_from(raw)?
            .0
            .iter()
            .map(|item| host_port(item))
            .collect::<Result<_, _>>()
            .map(Addrs)
    }
}

/// One `IP:port`, `[IPv6]:port` or bare IP (port 53).
fn host_port(text: &str) -> Result<SocketAddr, String> {
    if let Ok(sa) = text.parse::<SocketAddr>() {
        if sa.port() == 0 {
            return Err(format!("`{text}` needs a port between 1 and 65535"));
        }
        return Ok(sa);
    }
    text.trim_matches(|c| c == '[' || c == ']')
        .parse::<IpAddr>()
        .map(|ip| SocketAddr::new(ip, 53))
        .map_err(|_| format!("`{text}` is not an address like 127.0.0.1:53 or [::1]:53"))
}

/// Listening addresses: at least one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenAddrs(pub Vec<SocketAddr>);

impl TryFrom<Raw> for ListenAddrs {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        let addrs = Addrs::try_from(raw)?.0;
        if addrs.is_empty() {
            return Err("must name at least one address".to_owned());
        }
        Ok(ListenAddrs(addrs))
    }
}

/// One address to listen on: `IP:port`, `[IPv6]:port`, or a port alone for 127.0.0.1
/// (SkyDNS's `PROMETHEUS_PORT` gives only a port).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ListenAddr(pub SocketAddr);

impl TryFrom<Raw> for ListenAddr {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        let bad = |text: &dyn fmt::Display| {
            format!("`{text}` is not an address like 127.0.0.1:9153, [::1]:9153 or a port")
        };
        let addr = match &raw {
            Raw::Int(port) => u16::try_from(*port)
                .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
                .map_err(|_| bad(port))?,
            Raw::Text(text) => {
                let text = text.trim();
                match text.parse::<u16>() {
                    Ok(port) => SocketAddr::from(([127, 0, 0, 1], port)),
                    Err(_) => text.parse::<SocketAddr>().map_err(|_| bad(&text))?,
                }
            }
            other => return Err(bad(other)),
        };
        if addr.port() == 0 {
            return Err(format!("`{addr}` needs a port between 1 and 65535"));
        }
        Ok(ListenAddr(addr))
    }
}

/// The path of an HTTP resource: starts with `/`, visible ASCII only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HttpPath(pub String);

impl TryFrom<Raw> for HttpPath {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        let path = Text::try_from(raw)?.0;
        if !path.starts_with('/') || !path.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!(
                "`{path}` is not a path like /metrics (a `/` first, no spaces)"
            ));
        }
        Ok(HttpPath(path))
    }
}

/// A part of a Prometheus metric name: letters, digits and `_`, not starting with a digit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MetricName(pub String);

impl TryFrom<Raw> for MetricName {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        let name = Text::try_from(raw)?.0;
        let valid = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        if !valid {
            return Err(format!(
                "`{name}` is not a metric name part (letters, digits and _, no digit first)"
            ));
        }
        Ok(MetricName(name))
    }
}

/// etcd endpoint URLs: at least one, each `http://` or `https://`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Endpoints(pub Vec<String>);

impl TryFrom<Raw> for Endpoints {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        let list = List::try_from(raw)?.0;
        if list.is_empty() {
            return Err("must name at least one etcd endpoint".to_owned());
        }
        if let Some(bad) = list
            .iter()
            .find(|e| !(e.starts_with("http://") || e.starts_with("https://")))
        {
            return Err(format!(
                "`{bad}` is not an endpoint URL like http://127.0.0.1:2379"
            ));
        }
        Ok(Endpoints(list))
    }
}

/// The store key prefix: a non-empty key segment like `skydns` (slashes around it dropped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Prefix(pub String);

impl TryFrom<Raw> for Prefix {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        let prefix = Text::try_from(raw)?.0.trim_matches('/').to_owned();
        if prefix.is_empty() || prefix.contains("//") {
            return Err("must be a non-empty key segment like `skydns`".to_owned());
        }
        Ok(Prefix(prefix))
    }
}

/// The clients that may have foreign names forwarded: networks and the words `localhost`,
/// `localnets`, `any`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Networks(#[serde(skip)] pub Acl, pub Vec<String>);

impl TryFrom<Raw> for Networks {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        let items = List::try_from(raw)?.0;
        let acl = Acl::parse(&items).map_err(|e| e.to_string())?;
        Ok(Networks(acl, items))
    }
}

/// Where log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LogTarget {
    /// syslog when running as a service (stderr is not a terminal and no journal stream),
    /// stderr otherwise.
    Auto,
    /// The system logger.
    Syslog,
    /// Standard error.
    Stderr,
}

impl TryFrom<Raw> for LogTarget {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        match Text::try_from(raw)?.0.as_str() {
            "auto" => Ok(LogTarget::Auto),
            "syslog" => Ok(LogTarget::Syslog),
            "stderr" => Ok(LogTarget::Stderr),
            other => Err(format!("must be auto, syslog or stderr, not `{other}`")),
        }
    }
}

/// A log level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogLevel(pub String);

impl TryFrom<Raw> for LogLevel {
    type Error = String;
    fn try_from(raw: Raw) -> Result<Self, String> {
        let level = Text::try_from(raw)?.0;
        if !["error", "warn", "info", "debug", "trace"].contains(&level.as_str()) {
            return Err(format!(
                "must be error, warn, info, debug or trace, not `{level}`"
            ));
        }
        Ok(LogLevel(level))
    }
}

setting_type!(
    Toggle,
    ByteSize,
    Capacity,
    Text,
    Secret,
    FilePath,
    KeyBasename,
    Fqdn,
    Mailbox,
    List,
    Addrs,
    ListenAddrs,
    ListenAddr,
    HttpPath,
    MetricName,
    Endpoints,
    Prefix,
    Networks,
    LogTarget,
    LogLevel,
);

impl<const MIN: u64, const MAX: u64> std::str::FromStr for Bounded<MIN, MAX> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::try_from(Raw::Text(s.to_owned()))
    }
}

impl<'de, const MIN: u64, const MAX: u64> Deserialize<'de> for Bounded<MIN, MAX> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::try_from(Raw::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl<const NANOS: u64, const MAX_SECS: u64> std::str::FromStr for Span<NANOS, MAX_SECS> {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::try_from(Raw::Text(s.to_owned()))
    }
}

impl<'de, const NANOS: u64, const MAX_SECS: u64> Deserialize<'de> for Span<NANOS, MAX_SECS> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::try_from(Raw::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Raw {
        Raw::Text(s.to_owned())
    }

    #[test]
    fn integers_come_as_numbers_or_text_and_keep_their_bounds() {
        assert_eq!(Bounded::<1, 10>::try_from(Raw::Int(3)), Ok(Bounded(3)));
        assert_eq!(Bounded::<1, 10>::try_from(text(" 7 ")), Ok(Bounded(7)));
        assert_eq!(
            Bounded::<1, 10>::try_from(Raw::Int(11)).unwrap_err(),
            "must be between 1 and 10, not 11"
        );
        assert_eq!(
            Bounded::<1, 10>::try_from(text("abc")).unwrap_err(),
            "must be a non-negative integer, not \"abc\""
        );
        assert_eq!(
            Capacity::try_from(Raw::Int(-1)).unwrap_err(),
            "must be 0 or more, not -1"
        );
    }

    #[test]
    fn durations_in_go_nanoseconds_seconds_or_text() {
        assert_eq!(
            Span::<1, 60>::try_from(Raw::Int(2_000_000_000)).unwrap().0,
            Duration::from_secs(2)
        );
        assert_eq!(
            Span::<1_000_000_000, 3600>::try_from(text("15")).unwrap().0,
            Duration::from_secs(15)
        );
        assert_eq!(
            Span::<1, 60>::try_from(text("500ms")).unwrap().0,
            Duration::from_millis(500)
        );
        assert!(Span::<1, 60>::try_from(text("61s")).is_err());
        assert!(Span::<1, 60>::try_from(text("0")).is_err());
    }

    #[test]
    fn byte_sizes() {
        assert_eq!(ByteSize::try_from(text("16MiB")), Ok(ByteSize(16 << 20)));
        assert_eq!(ByteSize::try_from(text("512 KiB")), Ok(ByteSize(512 << 10)));
        assert_eq!(ByteSize::try_from(Raw::Int(4096)), Ok(ByteSize(4096)));
        assert_eq!(ByteSize::try_from(text("0")), Ok(ByteSize(0)));
        assert!(ByteSize::try_from(text("16 parsecs")).is_err());
    }

    #[test]
    fn duration_text() {
        assert_eq!(parse_duration("1m30s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert!(parse_duration("2 seconds").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn lists_from_commas_or_arrays() {
        assert_eq!(
            List::try_from(text("a, b,,c")).unwrap().0,
            vec!["a", "b", "c"]
        );
        assert_eq!(
            List::try_from(Raw::List(vec![text("x ")])).unwrap().0,
            vec!["x"]
        );
        assert!(List::try_from(Raw::List(vec![Raw::Int(1)])).is_err());
        assert_eq!(
            Addrs::try_from(text("127.0.0.1,[::1]:5353")).unwrap().0,
            vec![
                "127.0.0.1:53".parse::<SocketAddr>().unwrap(),
                "[::1]:5353".parse().unwrap()
            ]
        );
        assert!(Addrs::try_from(text("dns.google")).is_err());
        assert!(ListenAddrs::try_from(text("")).is_err());
    }

    #[test]
    fn metrics_addresses_paths_and_names() {
        let lo = |port: u16| SocketAddr::from(([127, 0, 0, 1], port));
        assert_eq!(ListenAddr::try_from(text("9153")).unwrap().0, lo(9153));
        assert_eq!(ListenAddr::try_from(Raw::Int(9200)).unwrap().0, lo(9200));
        assert_eq!(
            ListenAddr::try_from(text("[::1]:9153")).unwrap().0,
            "[::1]:9153".parse::<SocketAddr>().unwrap()
        );
        assert!(ListenAddr::try_from(text("0")).is_err());
        assert!(ListenAddr::try_from(text("localhost:9153")).is_err());
        assert!(ListenAddr::try_from(Raw::Int(70_000)).is_err());
        assert!(HttpPath::try_from(text("/metrics")).is_ok());
        assert!(HttpPath::try_from(text("metrics")).is_err());
        assert!(HttpPath::try_from(text("/a b")).is_err());
        assert!(MetricName::try_from(text("my_dns")).is_ok());
        assert!(MetricName::try_from(text("9dns")).is_err());
        assert!(MetricName::try_from(text("dns-x")).is_err());
        let unset: Maybe<ListenAddr> = serde_json::from_str("\"\"").unwrap();
        assert_eq!(
            unset,
            Maybe(None),
            "an empty address turns the listener off"
        );
    }

    #[test]
    fn names_and_mailboxes() {
        assert_eq!(
            Fqdn::try_from(text("Example.ORG")).unwrap().0,
            "example.org."
        );
        assert!(Fqdn::try_from(text("a..b")).is_err());
        assert_eq!(
            Mailbox::try_from(text("ops@Example.org")).unwrap().0,
            "ops.example.org."
        );
    }

    #[test]
    fn toggles_and_empty_means_unset() {
        assert_eq!(Toggle::try_from(text("Yes")), Ok(Toggle(true)));
        assert_eq!(Toggle::try_from(Raw::Bool(false)), Ok(Toggle(false)));
        assert!(Toggle::try_from(text("maybe")).is_err());
        let unset: Maybe<Fqdn> = serde_json::from_str("\"  \"").unwrap();
        assert_eq!(unset, Maybe(None));
        let set: Maybe<Fqdn> = serde_json::from_str("\"x.test\"").unwrap();
        assert_eq!(set.get().map(|f| f.0.as_str()), Some("x.test."));
    }
}
