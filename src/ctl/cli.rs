//! The `skydnsctl` command line. The store flags (`--machines`, `--file`, `--path-prefix`,
//! TLS and credentials, with their environment variables) come from the daemon's settings
//! table and are global, so they may follow any subcommand; `--config` reads the daemon's TOML
//! file. `check-config` also takes every other daemon setting, so it checks exactly what
//! `skydns check-config` checks.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use clap_complete::Shell;

use super::lease::LeaseTtl;
use super::record::Fields;
use crate::config::sources::{self, CommandLine};
use crate::config::startup::STORE_KEYS;

/// The help heading of the flags that find the store.
const STORE_HEADING: &str = "Store (as skydns finds it)";

/// Register, remove and list the services skydns answers for, and read and change its
/// settings in the store.
///
/// A service is a JSON value under the key made of its reversed name: 1.web.skydns.local is
/// /skydns/local/skydns/web/1. skydnsctl writes the values skydns reads, checked by the same
/// rules, into etcd or into the file store (--file), found as skydns finds them: the flags and
/// environment variables below, or the --config file skydns runs with.
#[derive(Debug, Parser)]
#[command(
    name = "skydnsctl",
    version,
    max_term_width = 100,
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Ctl {
    /// skydns's TOML config file: the store settings are read from it too (flags and the
    /// environment win).
    #[arg(
        long,
        env = "SKYDNS_CONFIG",
        value_name = "PATH",
        global = true,
        help_heading = STORE_HEADING
    )]
    pub config: Option<PathBuf>,

    /// The settings given by flags and environment variables.
    #[arg(skip)]
    pub settings: CommandLine,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Register, remove and list services.
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Read and change the settings in /<prefix>/config.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Validate every setting as `skydns check-config` does (config file, environment, flags
    /// and /<prefix>/config in the store) and exit: 0 when valid, 1 with a message naming the
    /// bad key otherwise. Takes every flag of skydns.
    CheckConfig {
        /// Also print every setting with the value in force and the source it comes from.
        #[arg(long)]
        show: bool,
    },
    /// Print a completion script for SHELL on standard output.
    #[command(hide = true)]
    Completions {
        /// The shell.
        shell: Shell,
    },
}

/// `skydnsctl service ...`.
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Register a service: write its value under /<prefix>/<reversed NAME>.
    ///
    /// The value holds the fields given (in SkyDNS's JSON field names) and is checked as
    /// skydns checks stored values before anything is written. An existing value is replaced.
    Put {
        /// The service's name, e.g. 1.web.production.skydns.local (stored under
        /// /<prefix>/local/skydns/production/web/1). It need not be inside skydns's domain.
        name: String,
        /// The service's fields.
        #[command(flatten)]
        fields: Fields,
        /// Register only while skydnsctl runs (etcd only): put the key with an etcd lease of
        /// this TTL (a duration like 30s or 1m, or seconds; at most a day), renew it every
        /// third of the TTL, and revoke it on SIGTERM or SIGINT, which removes the service at
        /// once. Killed hard, skydnsctl stops renewing and the service goes when the lease
        /// runs out. Prints one line once registered.
        #[arg(long, value_name = "DURATION")]
        lease: Option<LeaseTtl>,
    },
    /// Remove the service at NAME.
    #[command(visible_alias = "remove")]
    Rm {
        /// The service's name.
        name: String,
        /// Also remove every service below NAME (only those below, when NAME itself holds
        /// none).
        #[arg(long, short = 'r')]
        recursive: bool,
    },
    /// List the services at and below NAME (everything under the prefix without NAME).
    #[command(visible_alias = "list")]
    Ls {
        /// The name whose subtree is listed.
        name: Option<String>,
        /// Print the keys and their values as JSON, in the file store's format, instead of a
        /// table.
        #[arg(long)]
        json: bool,
    },
}

/// `skydnsctl config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print /<prefix>/config (`{}` when it is not set).
    Get,
    /// Set settings in /<prefix>/config, keeping the others.
    ///
    /// Each KEY is a run-time setting of skydns (`skydns --help` lists them: a flag's name
    /// with `_` for `-`, e.g. ttl, min_ttl, nameservers); VALUE is JSON (60, true,
    /// ["a","b"]) or else text. The result is checked as skydns loads it before it is written:
    /// an unknown key, a start-up setting or a bad value is refused and nothing is written.
    /// skydns applies the change on its next reload (systemctl reload skydns).
    Set {
        /// The settings to change.
        #[arg(required = true, value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
}

impl Ctl {
    /// The whole command line: the derived one plus the daemon's settings.
    pub fn command() -> clap::Command {
        let is_store = |key: &str| STORE_KEYS.contains(&key);
        <Ctl as CommandFactory>::command()
            .args(
                sources::args_where(move |spec| is_store(spec.key))
                    .map(|arg| arg.global(true).help_heading(STORE_HEADING)),
            )
            .mut_subcommand("check-config", move |check| {
                check.args(
                    sources::args_where(move |spec| !is_store(spec.key))
                        .map(|arg| arg.help_heading("skydns settings")),
                )
            })
    }

    /// Parses `args` (the program name first), returning clap's error (or help) instead of
    /// exiting.
    pub fn try_parse_from<I: IntoIterator<Item = OsString>>(args: I) -> Result<Self, clap::Error> {
        let matches = Self::command().try_get_matches_from(args)?;
        let mut ctl = <Ctl as FromArgMatches>::from_arg_matches(&matches)?;
        ctl.settings = CommandLine::from_matches(innermost(&matches));
        Ok(ctl)
    }
}

/// The matches of the last subcommand given: global flags are found there wherever they
/// were written, and `check-config`'s own settings only there.
fn innermost(matches: &ArgMatches) -> &ArgMatches {
    match matches.subcommand() {
        Some((_, sub)) => innermost(sub),
        None => matches,
    }
}
