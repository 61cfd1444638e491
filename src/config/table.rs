//! The machinery behind the settings table: the `settings!` macro turns one entry per setting
//! (name, type, flag, environment variable, default, help) into a struct field, a clap argument
//! and a [`Spec`] that the sources read. `settings.rs` holds the table itself.

use clap::{Arg, ArgAction};

use super::values::{
    Addrs, Bounded, ByteSize, Capacity, Endpoints, FilePath, Fqdn, HttpPath, KeyBasename, List,
    ListenAddr, ListenAddrs, LogLevel, LogTarget, Mailbox, Maybe, MetricName, Networks, Prefix,
    Secret, Span, Text, Toggle,
};

/// One setting as the table states it.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    /// The config key (`/<prefix>/config` and TOML), also the clap argument id.
    pub key: &'static str,
    /// Another key accepted in files for compatibility (SkyDNS's `ndot`, `verbose`).
    pub key_alias: Option<&'static str>,
    /// The long flag.
    pub flag: &'static str,
    /// Another long flag shown in `--help`.
    pub flag_alias: Option<&'static str>,
    /// The environment variable, if the setting has one.
    pub env: Option<&'static str>,
    /// The default as text; `None` means unset (its type gives the meaning).
    pub default: Option<&'static str>,
    /// The help text, one doc line per item.
    pub doc: &'static [&'static str],
    /// How the type of the setting shapes its flag.
    pub shape: FlagShape,
}

/// What a flag looks like on the command line, decided by the setting's type.
#[derive(Debug, Clone, Copy)]
pub struct FlagShape {
    /// Shown in `--help` as the value.
    pub value_name: &'static str,
    /// A boolean: `--flag` alone means true, `--flag=false` turns it off.
    pub toggle: bool,
    /// The value may start with `-`.
    pub negative: bool,
    /// Never print the environment variable's value in `--help`.
    pub secret: bool,
}

impl FlagShape {
    const fn value(value_name: &'static str) -> Self {
        FlagShape {
            value_name,
            toggle: false,
            negative: false,
            secret: false,
        }
    }
}

/// The flag shape of a setting's type.
pub trait Shaped {
    /// The shape.
    const SHAPE: FlagShape;
}

macro_rules! shapes {
    ($($t:ty => $shape:expr),* $(,)?) => {$(
        impl Shaped for $t {
            const SHAPE: FlagShape = $shape;
        }
    )*};
}

shapes!(
    Toggle => FlagShape { toggle: true, ..FlagShape::value("BOOL") },
    Capacity => FlagShape { negative: true, ..FlagShape::value("N") },
    ByteSize => FlagShape::value("SIZE"),
    Text => FlagShape::value("TEXT"),
    Secret => FlagShape { secret: true, ..FlagShape::value("TEXT") },
    FilePath => FlagShape::value("PATH"),
    KeyBasename => FlagShape::value("BASENAME"),
    Fqdn => FlagShape::value("NAME"),
    Mailbox => FlagShape::value("MAILBOX"),
    List => FlagShape::value("LIST"),
    Addrs => FlagShape::value("IP:PORT,..."),
    ListenAddrs => FlagShape::value("IP:PORT,..."),
    ListenAddr => FlagShape::value("IP:PORT"),
    HttpPath => FlagShape::value("PATH"),
    MetricName => FlagShape::value("NAME"),
    Endpoints => FlagShape::value("URL,..."),
    Prefix => FlagShape::value("PREFIX"),
    Networks => FlagShape::value("LIST"),
    LogTarget => FlagShape::value("TARGET"),
    LogLevel => FlagShape::value("LEVEL"),
);

impl<const MIN: u64, const MAX: u64> Shaped for Bounded<MIN, MAX> {
    const SHAPE: FlagShape = FlagShape::value("N");
}

impl<const NANOS: u64, const MAX_SECS: u64> Shaped for Span<NANOS, MAX_SECS> {
    const SHAPE: FlagShape = FlagShape::value("DURATION");
}

impl<T: Shaped> Shaped for Maybe<T> {
    const SHAPE: FlagShape = T::SHAPE;
}

/// A group of settings declared with `settings!`.
pub trait Table {
    /// Every setting of the group, in table order.
    const SPECS: &'static [Spec];
}

/// The clap argument of one setting. Values are taken as text: they are checked with every
/// other source's, so an error names the key whatever the source.
pub fn arg(spec: &Spec) -> Arg {
    let help = spec
        .doc
        .iter()
        .map(|line| line.trim())
        .collect::<Vec<_>>()
        .join(" ");
    let mut arg = Arg::new(spec.key)
        .long(spec.flag)
        .help(help)
        .value_name(spec.shape.value_name)
        .action(ArgAction::Set);
    if let Some(alias) = spec.flag_alias {
        arg = arg.visible_alias(alias);
    }
    if let Some(env) = spec.env {
        arg = arg.env(env).hide_env_values(spec.shape.secret);
    }
    if let Some(default) = spec.default {
        arg = arg.default_value(default);
    }
    if spec.shape.toggle {
        arg = arg
            .num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true");
    }
    if spec.shape.negative {
        arg = arg.allow_negative_numbers(true);
    }
    arg
}

/// `Some(first)` of a zero- or one-element list (the macro's optional parts).
pub const fn optional(items: &[&'static str]) -> Option<&'static str> {
    match items {
        [first, ..] => Some(first),
        [] => None,
    }
}

/// Declares a group of settings: the struct (one public field per setting, deserialized from
/// the layered sources) and its [`Table`] of specs. Entry syntax:
///
/// ```text
/// /// Help text.
/// key: Type, flag "flag-name" [/ "flag-alias"] [, key "key-alias"] [, env "ENV"] [, default "text"];
/// ```
macro_rules! settings {
    (
        $(#[doc = $sdoc:literal])*
        pub struct $name:ident {
            $(
                $(#[doc = $doc:literal])+
                $key:ident: $ty:ty, flag $flag:literal $(/ $flag_alias:literal)?
                    $(, key $key_alias:literal)? $(, env $env:literal)? $(, default $default:literal)?;
            )*
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
        pub struct $name {
            $(
                $(#[doc = $doc])+
                pub $key: $ty,
            )*
        }

        impl $crate::config::table::Table for $name {
            const SPECS: &'static [$crate::config::table::Spec] = &[$(
                $crate::config::table::Spec {
                    key: stringify!($key),
                    key_alias: $crate::config::table::optional(&[$($key_alias)?]),
                    flag: $flag,
                    flag_alias: $crate::config::table::optional(&[$($flag_alias)?]),
                    env: $crate::config::table::optional(&[$($env)?]),
                    default: $crate::config::table::optional(&[$($default)?]),
                    doc: &[$($doc),+],
                    shape: <$ty as $crate::config::table::Shaped>::SHAPE,
                },
            )*];
        }
    };
}

pub(crate) use settings;
