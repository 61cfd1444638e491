//! What goes wrong in `skydnsctl` and the exit code it gives: 2 for an argument that cannot be
//! used (a bad name, field value or setting: the command line is at fault, as for clap's own
//! errors), 1 for everything else (the store is unreachable, a name holds nothing).

use thiserror::Error;

use super::name::NameError;
use crate::config::ConfigError;
use crate::core::service::ServiceError;

/// An argument that cannot be used. Nothing has been written when one is returned.
#[derive(Debug, Error)]
pub enum UsageError {
    /// The service name.
    #[error(transparent)]
    Name(#[from] NameError),
    /// A service field, checked as the daemon checks stored values.
    #[error("invalid value {value} for --{flag}: {error}")]
    Field {
        /// The flag (the field's name).
        flag: &'static str,
        /// The value as given (JSON).
        value: String,
        /// What the daemon's check says.
        error: ServiceError,
    },
    /// The service value as a whole (no field named).
    #[error("the service value is refused: {0}")]
    Service(ServiceError),
    /// The name would overwrite the settings key.
    #[error("NAME `{name}` is stored at {key}, the settings key; use `skydnsctl config set`")]
    SettingsKey {
        /// The name as given.
        name: String,
        /// The settings key.
        key: String,
    },
    /// `--lease` with the file store.
    #[error("--lease needs etcd: the file store (--file) has no leases")]
    LeaseWithFile,
    /// A `config set` argument without `=`.
    #[error("`{0}` is not KEY=VALUE")]
    NotKeyValue(String),
    /// A setting that cannot be used (a store flag, the config file, or what `config set`
    /// would write), in the daemon's words.
    #[error(transparent)]
    Setting(ConfigError),
}

/// A command that ran but cannot do what it was asked.
#[derive(Debug, Error)]
pub enum Failure {
    /// Nothing is stored at or below the name.
    #[error("nothing is stored at or below {name}")]
    NothingAt {
        /// The name, fully qualified.
        name: String,
    },
    /// `rm` without `--recursive` on a name that only has services below it.
    #[error("no service at {name}, but {below} below it: add --recursive to remove them")]
    OnlyBelow {
        /// The name, fully qualified.
        name: String,
        /// How many keys there are below it.
        below: usize,
    },
    /// The stored settings are not a JSON object, so a key cannot be merged in.
    #[error("{key} does not hold a JSON object ({problem}); fix it with etcdctl or in the file")]
    SettingsNotAnObject {
        /// The settings key.
        key: String,
        /// What it holds instead.
        problem: String,
    },
    /// The stored settings are invalid in a key this command does not set.
    #[error(transparent)]
    StoredSetting(ConfigError),
}

/// The exit code for an error: 2 when an argument is at fault, 1 otherwise.
pub fn exit_code(error: &anyhow::Error) -> i32 {
    if error.chain().any(<dyn std::error::Error>::is::<UsageError>) {
        2
    } else {
        1
    }
}
