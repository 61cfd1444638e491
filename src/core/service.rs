//! The service value stored under a key: the JSON that operators `etcdctl put`, parsed with
//! SkyDNS's rules (field names match case-insensitively, unknown fields are ignored) and
//! validated, so that a bad value is reported with its key and skipped.

use std::net::IpAddr;

use serde_json::{Map, Value};
use thiserror::Error;

/// The largest TTL a record may carry (RFC 2181 §8).
pub const MAX_TTL: u32 = 0x7fff_ffff;

/// What is wrong with one stored value.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ServiceError {
    /// The value does not parse as JSON; holds the parser's message.
    #[error("value is not valid JSON: {0}")]
    Json(String),
    /// The value is JSON but neither an object nor a string holding one.
    #[error("value is not a JSON object")]
    NotAnObject,
    /// A known field has the wrong type or an out-of-range value.
    #[error("field `{field}` {problem}")]
    Field {
        /// The field's name, lowercase (`port`, `ttl`, ...).
        field: &'static str,
        /// What is wrong with it, completing the sentence "field `x` ...".
        problem: &'static str,
    },
}

/// Where a service points: an address (A/AAAA), a name (CNAME / SRV target), or nothing
/// (a text-only or mail-less record that only takes part in TXT answers).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host {
    /// No `host` (missing or empty).
    None,
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A domain name, lowercased and fully qualified (ends with a dot).
    Name(Box<str>),
}

/// One announced service (the `msg.Service` of SkyDNS). Kept small: a store holds it once per
/// key, and the rarely given text and group live apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// Where the service points (`host`).
    pub host: Host,
    /// The SRV port (`port`); 0 when not given.
    pub port: u16,
    /// 0 means "not given": the configured default priority applies.
    pub priority: u16,
    /// 0 means "not given": it counts as 100.
    pub weight: u16,
    /// The service is a mail exchanger and takes part in MX answers (`mail`).
    pub mail: bool,
    /// 0 means "not given": the configured default TTL applies.
    pub ttl: u32,
    /// How many labels to remove from the left of a target name (`targetstrip`, 0..=255).
    pub target_strip: u8,
    /// The text and the group, when either is given.
    extras: Option<Box<Extras>>,
}

/// The parts of a service that most do not have.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
struct Extras {
    text: Box<str>,
    group: Box<str>,
}

impl Service {
    /// The TXT record text (`text`); empty when not given.
    pub fn text(&self) -> &str {
        self.extras.as_ref().map_or("", |e| &e.text)
    }

    /// The service's group (`group`; see `answer::group`); empty when it has none.
    pub fn group(&self) -> &str {
        self.extras.as_ref().map_or("", |e| &e.group)
    }

    /// Parses a stored value. `raw` is exactly what is stored under the key.
    pub fn parse(raw: &[u8]) -> Result<Self, ServiceError> {
        let value: Value =
            serde_json::from_slice(raw).map_err(|e| ServiceError::Json(e.to_string()))?;
        Self::from_json(&value)
    }

    /// Builds a service from an already decoded JSON value. A JSON string holding the object
    /// is accepted too (values written by tools that double-encode).
    pub fn from_json(value: &Value) -> Result<Self, ServiceError> {
        match value {
            Value::Object(map) => Self::from_map(map),
            Value::String(s) => Self::parse(s.as_bytes()),
            _ => Err(ServiceError::NotAnObject),
        }
    }

    fn from_map(map: &Map<String, Value>) -> Result<Self, ServiceError> {
        let mut svc = Service {
            host: Host::None,
            port: 0,
            priority: 0,
            weight: 0,
            mail: false,
            ttl: 0,
            target_strip: 0,
            extras: None,
        };
        let mut extras = Extras::default();
        for (key, value) in map {
            match key.to_ascii_lowercase().as_str() {
                "host" => svc.host = parse_host(str_field("host", value)?)?,
                "port" => svc.port = int_field("port", value)?,
                "priority" => svc.priority = int_field("priority", value)?,
                "weight" => svc.weight = int_field("weight", value)?,
                "text" => extras.text = str_field("text", value)?.into(),
                "mail" => svc.mail = bool_field("mail", value)?,
                // RFC 2181 §8: a TTL above 2^31 - 1 reads as 0 elsewhere; it is served as the
                // largest TTL there is instead.
                "ttl" => svc.ttl = int_field::<u32>("ttl", value)?.min(MAX_TTL),
                "targetstrip" => svc.target_strip = int_field("targetstrip", value)?,
                "group" => extras.group = str_field("group", value)?.into(),
                _ => {}
            }
        }
        if !extras.text.is_empty() || !extras.group.is_empty() {
            svc.extras = Some(Box::new(extras));
        }
        Ok(svc)
    }

    /// True when the service names an address or a target (it can give A/AAAA/CNAME/SRV/MX).
    pub fn has_host(&self) -> bool {
        !matches!(self.host, Host::None)
    }
}

fn str_field<'a>(field: &'static str, value: &'a Value) -> Result<&'a str, ServiceError> {
    match value {
        Value::String(s) => Ok(s),
        Value::Null => Ok(""),
        _ => Err(ServiceError::Field {
            field,
            problem: "must be a string",
        }),
    }
}

fn bool_field(field: &'static str, value: &Value) -> Result<bool, ServiceError> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::Null => Ok(false),
        _ => Err(ServiceError::Field {
            field,
            problem: "must be true or false",
        }),
    }
}

/// A non-negative integer that fits in `T` (the field's type); null reads as 0.
fn int_field<T: TryFrom<u64>>(field: &'static str, value: &Value) -> Result<T, ServiceError> {
    let number = match value {
        Value::Null => Some(0),
        Value::Number(n) => n.as_u64(),
        _ => {
            return Err(ServiceError::Field {
                field,
                problem: "must be a number",
            })
        }
    };
    number
        .and_then(|v| T::try_from(v).ok())
        .ok_or(ServiceError::Field {
            field,
            problem: "is out of range (must be a non-negative integer that fits)",
        })
}

fn parse_host(host: &str) -> Result<Host, ServiceError> {
    let host = host.trim();
    if host.is_empty() {
        return Ok(Host::None);
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(Host::Ip(ip));
    }
    let mut name = host.to_ascii_lowercase();
    if !name.ends_with('.') {
        name.push('.');
    }
    if name.len() > 254 || name.starts_with('.') || name.contains("..") {
        return Err(ServiceError::Field {
            field: "host",
            problem: "is neither an IP address nor a valid domain name",
        });
    }
    if name.split('.').any(|label| label.len() > 63) {
        return Err(ServiceError::Field {
            field: "host",
            problem: "has a label longer than 63 bytes",
        });
    }
    Ok(Host::Name(name.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_fields_case_insensitively() {
        let s = Service::parse(br#"{"Host":"10.0.0.1","PORT":8080,"priority":20,"weight":5,"text":"t","mail":true,"ttl":30,"targetstrip":1,"group":"g","other":1}"#).unwrap();
        assert_eq!(s.host, Host::Ip("10.0.0.1".parse().unwrap()));
        assert_eq!(
            (s.port, s.priority, s.weight, s.ttl, s.target_strip),
            (8080, 20, 5, 30, 1)
        );
        assert!(s.mail);
        assert_eq!((s.text(), s.group()), ("t", "g"));
    }

    #[test]
    fn names_are_lowercased_and_fully_qualified() {
        let s = Service::parse(br#"{"host":"Service1.SkyDNS.local"}"#).unwrap();
        assert_eq!(s.host, Host::Name("service1.skydns.local.".into()));
        let s = Service::parse(br#"{"host":""}"#).unwrap();
        assert_eq!(s.host, Host::None);
    }

    #[test]
    fn string_holding_json_is_accepted() {
        let v = Value::String(r#"{"host":"::1"}"#.into());
        assert_eq!(
            Service::from_json(&v).unwrap().host,
            Host::Ip("::1".parse().unwrap())
        );
    }

    #[test]
    fn a_ttl_above_two_to_the_31_is_served_as_the_largest_ttl() {
        let s = Service::parse(br#"{"host":"10.0.0.1","ttl":4294967295}"#).unwrap();
        assert_eq!(s.ttl, MAX_TTL);
    }

    #[test]
    fn bad_values_name_the_field() {
        assert_eq!(
            Service::parse(br#"{"port":"80"}"#).unwrap_err().to_string(),
            "field `port` must be a number"
        );
        assert!(matches!(
            Service::parse(br#"{"port":70000}"#),
            Err(ServiceError::Field { field: "port", .. })
        ));
        assert!(matches!(
            Service::parse(br#"{"host":"a..b"}"#),
            Err(ServiceError::Field { field: "host", .. })
        ));
        assert_eq!(Service::parse(b"[1]"), Err(ServiceError::NotAnObject));
        assert!(matches!(Service::parse(b"{"), Err(ServiceError::Json(_))));
    }
}
