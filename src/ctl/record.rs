//! The service value `service put` writes: the fields given as flags, as JSON in SkyDNS's
//! field names, holding exactly what the operator typed (what they would `etcdctl put`), and
//! checked by the daemon's own parser (`Service::parse`) before anything is written.

use clap::Args;
use serde::Serialize;

use super::error::UsageError;
use crate::core::service::{Service, ServiceError};

/// The fields of a service, one flag each; unset flags are left out of the value.
#[derive(Debug, Clone, Default, Args, Serialize)]
pub struct Fields {
    /// Where the service points: an IPv4 or IPv6 address (A/AAAA records), or a name (a
    /// CNAME, and the target of SRV and MX records).
    #[arg(long, value_name = "ADDRESS|NAME", required_unless_present = "text")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The port in SRV records.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port: Option<u64>,
    /// SRV priority and MX preference. [default: skydns's `priority` setting, 10]
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u64>,
    /// SRV weight, relative to the other services of the same priority. [default: 100]
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<u64>,
    /// The text of TXT records. Without --host the service only answers TXT.
    #[arg(long, value_name = "TEXT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// The service is a mail exchanger: it takes part in MX answers.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub mail: bool,
    /// TTL of the service's records, in seconds. [default: skydns's `ttl` setting]
    #[arg(long, value_name = "SECONDS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttl: Option<u64>,
    /// Labels to strip from the left of the service's name when it is an SRV or MX target.
    #[arg(long = "targetstrip", value_name = "N")]
    #[serde(rename = "targetstrip", skip_serializing_if = "Option::is_none")]
    pub target_strip: Option<u64>,
    /// The service's group: a name's answers come from one group only.
    #[arg(long, value_name = "GROUP")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl Fields {
    /// The JSON value to store, once the daemon's parser accepts it; otherwise an error naming
    /// the flag and the value.
    pub fn to_value(&self) -> Result<Vec<u8>, UsageError> {
        // Serialized from the struct, the fields keep the order of the flags.
        let bytes = serde_json::to_vec(self)
            .map_err(|e| UsageError::Service(ServiceError::Json(e.to_string())))?;
        match Service::parse(&bytes) {
            Ok(_) => Ok(bytes),
            Err(error @ ServiceError::Field { field, .. }) => Err(UsageError::Field {
                flag: field,
                value: serde_json::to_value(self)
                    .ok()
                    .and_then(|json| json.get(field).map(ToString::to_string))
                    .unwrap_or_default(),
                error,
            }),
            Err(other) => Err(UsageError::Service(other)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_only_what_was_given_in_skydns_field_names() {
        let fields = Fields {
            host: Some("10.0.0.1".into()),
            port: Some(8080),
            target_strip: Some(1),
            mail: true,
            ..Fields::default()
        };
        assert_eq!(
            String::from_utf8(fields.to_value().unwrap()).unwrap(),
            r#"{"host":"10.0.0.1","port":8080,"mail":true,"targetstrip":1}"#
        );
        let text_only = Fields {
            text: Some("hello".into()),
            ..Fields::default()
        };
        assert_eq!(text_only.to_value().unwrap(), br#"{"text":"hello"}"#);
    }

    #[test]
    fn the_daemons_checks_name_the_flag_and_value() {
        let port = Fields {
            host: Some("10.0.0.1".into()),
            port: Some(70_000),
            ..Fields::default()
        };
        let e = port.to_value().unwrap_err().to_string();
        assert!(
            e.starts_with("invalid value 70000 for --port: field `port`"),
            "{e}"
        );
        let host = Fields {
            host: Some("a..b".into()),
            ..Fields::default()
        };
        let e = host.to_value().unwrap_err().to_string();
        assert!(
            e.starts_with(r#"invalid value "a..b" for --host: field `host`"#),
            "{e}"
        );
        let strip = Fields {
            host: Some("x.local".into()),
            target_strip: Some(256),
            ..Fields::default()
        };
        let e = strip.to_value().unwrap_err().to_string();
        assert!(e.contains("for --targetstrip"), "{e}");
    }
}
