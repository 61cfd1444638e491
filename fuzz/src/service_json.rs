//! `service_json`: any bytes as a stored service value through
//! `skydns::core::service::Service::parse`, and the same value through a snapshot build.
//!
//! Rules: never a panic, errors are values; a host name that parses is lowercase, fully
//! qualified and fits a DNS name; a snapshot keeps the value exactly when it parses, and
//! reports it otherwise.

use skydns::core::service::{Host, Service};
use skydns::core::Snapshot;

/// The key the value is stored under in the snapshot.
const KEY: &str = "/skydns/local/skydns/fuzz/1";

pub fn run(data: &[u8]) {
    let parsed = Service::parse(data);
    match &parsed {
        Ok(service) => {
            if let Host::Name(name) = &service.host {
                assert!(name.ends_with('.'), "host {name:?} is not fully qualified");
                assert!(
                    !name.bytes().any(|b| b.is_ascii_uppercase()),
                    "host {name:?} is not lowercase"
                );
                assert!(name.len() <= 255, "host of {} bytes", name.len());
            }
        }
        Err(error) => {
            assert!(!error.to_string().is_empty());
        }
    }
    let (snapshot, rejected) =
        Snapshot::build("skydns", 1, [(KEY.to_owned(), data.to_vec(), None)]);
    assert_eq!(
        snapshot.len(),
        usize::from(parsed.is_ok()),
        "the snapshot does not hold exactly the values that parse"
    );
    assert_eq!(rejected.len(), usize::from(parsed.is_err()));
}
