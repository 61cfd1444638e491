//! The command line: the settings of the table (flags and their environment variables,
//! compatible with SkyDNS's, the Go single-dash spelling `-addr=...` included) plus what only
//! the command line says: the config file, the version, `check-config`.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

use super::sources::{self, CommandLine, Sources};

/// DNS service discovery on etcd: the successor of SkyDNS 2.
///
/// Services announce themselves as JSON under /<prefix>/<reversed name> in etcd (or in the
/// embedded file store with --file); skydns answers for them over DNS and forwards every other
/// name to upstream resolvers. Settings come from defaults, the --config file, the environment,
/// the flags and finally /<prefix>/config in the store, each overriding the one before; every
/// flag below is also a key of the config file and of /<prefix>/config (dashes as
/// underscores; --addr is dns_addr, --rtimeout read_timeout, --verbose query_log).
#[derive(Debug, Parser)]
#[command(
    name = "skydns",
    version,
    disable_version_flag = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Print the version and exit.
    #[arg(long, short = 'V')]
    pub version: bool,

    /// TOML file with the same keys as /<prefix>/config.
    #[arg(long, env = "SKYDNS_CONFIG", value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// The system logger's socket (for tests and unusual systems). [default: /dev/log]
    #[arg(long, env = "SKYDNS_SYSLOG_SOCKET", value_name = "PATH", hide = true)]
    pub syslog_socket: Option<PathBuf>,

    /// Accepted for compatibility with SkyDNS; the etcd v3 API is always used.
    #[arg(long, hide = true, num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub etcd3: Option<String>,

    /// The settings given by flags and environment variables.
    #[arg(skip)]
    pub settings: CommandLine,

    /// What to do instead of serving.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate every setting (config file, environment, flags and /<prefix>/config in the
    /// store) and exit: 0 when valid, 1 with a message naming the bad key otherwise.
    CheckConfig {
        /// Also print every setting with the value in force and the source it comes from.
        #[arg(long)]
        show: bool,
    },
}

impl Cli {
    /// The whole command line: these arguments and one flag per setting.
    pub fn command() -> clap::Command {
        <Cli as CommandFactory>::command().args(sources::args())
    }

    /// Parses the process arguments (exits with clap's message on a bad command line).
    pub fn parse_args() -> Self {
        Self::parse_from(std::env::args_os())
    }

    /// Parses `args` (the program name first), accepting the Go single-dash spelling.
    pub fn parse_from<I: IntoIterator<Item = OsString>>(args: I) -> Self {
        Self::try_parse_from(args).unwrap_or_else(|e| e.exit())
    }

    /// The sources of a load: this command line, the config file it names, and the store's
    /// `/<prefix>/config` (its key and value) when there is one.
    pub fn sources<'a>(&'a self, store: Option<(&'a str, &'a [u8])>) -> Sources<'a> {
        Sources {
            command_line: &self.settings,
            file: self.config.as_deref(),
            store,
        }
    }

    /// Parses `args`, returning clap's error instead of exiting.
    pub fn try_parse_from<I: IntoIterator<Item = OsString>>(args: I) -> Result<Self, clap::Error> {
        let matches = Self::command().try_get_matches_from(go_style_args(args))?;
        let mut cli = <Cli as FromArgMatches>::from_arg_matches(&matches)?;
        cli.settings = CommandLine::from_matches(&matches);
        Ok(cli)
    }
}

/// Rewrites Go-style `-flag` / `-flag=value` to `--flag...`, leaving `-h`, `-V` and values alone.
pub fn go_style_args<I: IntoIterator<Item = OsString>>(args: I) -> Vec<OsString> {
    args.into_iter()
        .map(|arg| match arg.to_str() {
            Some(s)
                if s.len() > 2
                    && s.starts_with('-')
                    && !s.starts_with("--")
                    && s.as_bytes()[1].is_ascii_alphabetic() =>
            {
                format!("-{s}").into()
            }
            _ => arg,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::config::{load, HostFacts};

    fn runtime(args: &[&str]) -> crate::config::RuntimeConfig {
        let cli = Cli::try_parse_from(
            std::iter::once("skydns")
                .chain(args.iter().copied())
                .map(Into::into),
        )
        .unwrap();
        load(&cli.sources(None), &HostFacts::default())
            .unwrap()
            .runtime
    }

    #[test]
    fn go_single_dash_flags() {
        let r = runtime(&[
            "-addr=127.0.0.1:5354",
            "-round-robin=false",
            "-no-rec",
            "-rtimeout=2000000000",
        ]);
        assert!(!r.round_robin);
        assert!(r.no_rec);
        assert_eq!(r.read_timeout, Duration::from_secs(2));
    }

    #[test]
    fn double_dash_and_lists() {
        let r = runtime(&[
            "--nameservers",
            "127.0.0.1:53,127.0.0.2:53",
            "--rtimeout",
            "500ms",
        ]);
        assert_eq!(r.nameservers.len(), 2);
        assert_eq!(r.read_timeout, Duration::from_millis(500));
    }

    #[test]
    fn help_mentions_every_compat_flag() {
        let help = Cli::command().render_long_help().to_string();
        for flag in [
            "--addr",
            "--domain",
            "--local",
            "--path-prefix",
            "--round-robin",
            "--hostmaster",
            "--file",
            "--config",
            "--machines",
            "SKYDNS_ADDR",
            "ETCD_MACHINES",
            "[default: 3600]",
        ] {
            assert!(help.contains(flag), "{flag} missing from --help");
        }
    }
}
