//! Log output: `tracing` events to syslog (facility daemon, via `/dev/log`) or to stderr, behind
//! a level filter that a reload can change (the log level and the per-query log on target
//! `skydns::query`). Events sent to syslog keep their fields in the message text.

use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use syslog::{Facility, Formatter3164, Logger, LoggerBackend};
use tracing::{Level, Metadata};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{reload, EnvFilter, Registry};

use crate::config::LogTarget;

/// The system logger's socket.
pub const DEFAULT_SYSLOG_SOCKET: &str = "/dev/log";

/// Changes the filter of the installed subscriber.
pub struct LogControl {
    handle: Option<reload::Handle<EnvFilter, Registry>>,
    to_syslog: bool,
}

impl LogControl {
    /// True when lines go to syslog (not stderr).
    pub fn to_syslog(&self) -> bool {
        self.to_syslog
    }

    /// Applies a new level and switches the per-query log. `RUST_LOG`, when set, stays in force.
    pub fn set_filter(&self, level: &str, query_log: bool) {
        let Some(handle) = &self.handle else { return };
        if let Err(e) = handle.reload(filter(level, query_log)) {
            tracing::warn!(error = %e, "cannot change the log filter");
        }
    }
}

/// The filter for `level`, with the query log on or off whatever the level.
fn filter(level: &str, query_log: bool) -> EnvFilter {
    let queries = if query_log { "info" } else { "off" };
    EnvFilter::new(format!("{level},skydns::query={queries}"))
}

/// Should `auto` pick syslog? Yes when running as a service: stderr is not a terminal and
/// systemd does not connect it to the journal.
pub fn auto_wants_syslog() -> bool {
    !io::stderr().is_terminal() && std::env::var_os("JOURNAL_STREAM").is_none()
}

/// Installs the global subscriber. `syslog_socket` overrides `/dev/log`. When syslog is wanted
/// by `auto` but its socket cannot be reached, stderr is used (and said so); an explicit
/// `syslog` target that cannot be reached is an error.
pub fn init(
    target: LogTarget,
    level: &str,
    query_log: bool,
    syslog_socket: Option<&Path>,
) -> io::Result<LogControl> {
    let socket = syslog_socket.unwrap_or(Path::new(DEFAULT_SYSLOG_SOCKET));
    let wants_syslog = match target {
        LogTarget::Syslog => true,
        LogTarget::Stderr => false,
        LogTarget::Auto => auto_wants_syslog(),
    };
    let mut fallback = None;
    let sink = if wants_syslog {
        match SyslogSink::connect(socket) {
            Ok(sink) => Some(sink),
            Err(e) if target == LogTarget::Auto => {
                fallback = Some(e);
                None
            }
            Err(e) => {
                return Err(io::Error::new(
                    e.kind(),
                    format!("cannot log to syslog at {}: {e}", socket.display()),
                ))
            }
        }
    } else {
        None
    };
    match std::env::var("RUST_LOG") {
        Ok(spec) => {
            let fixed = EnvFilter::try_new(&spec).map_err(|e| {
                io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("RUST_LOG `{spec}` is not a log filter: {e}"),
                )
            })?;
            Ok(install(fixed, sink, socket, fallback, None))
        }
        Err(_) => {
            let (layer, handle) = reload::Layer::new(filter(level, query_log));
            Ok(install(layer, sink, socket, fallback, Some(handle)))
        }
    }
}

fn install<F>(
    filter: F,
    sink: Option<SyslogSink>,
    socket: &Path,
    fallback: Option<io::Error>,
    handle: Option<reload::Handle<EnvFilter, Registry>>,
) -> LogControl
where
    F: tracing_subscriber::Layer<Registry> + Send + Sync + 'static,
{
    let to_syslog = sink.is_some();
    let syslog_layer = sink.map(|sink| {
        tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .without_time()
            .with_level(false)
            .with_target(false)
            .with_writer(sink)
    });
    let stderr_layer = (!to_syslog).then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(io::stderr)
            .with_ansi(io::stderr().is_terminal())
            .with_target(false)
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(syslog_layer)
        .with(stderr_layer)
        .try_init();
    if let Some(e) = fallback {
        tracing::warn!(socket = %socket.display(), error = %e, "syslog is not reachable; logging to stderr");
    }
    LogControl { handle, to_syslog }
}

/// A connection to the system logger, shared by every thread.
struct SyslogSink {
    socket: PathBuf,
    logger: Mutex<Logger<LoggerBackend, Formatter3164>>,
}

impl SyslogSink {
    fn connect(socket: &Path) -> io::Result<SyslogSink> {
        Ok(SyslogSink {
            socket: socket.to_owned(),
            logger: Mutex::new(open_logger(socket)?),
        })
    }

    /// Sends one line, reconnecting once if the logger went away (syslogd restarted).
    fn send(&self, severity: Level, line: &str) {
        let Ok(mut logger) = self.logger.lock() else {
            return;
        };
        if emit(&mut logger, severity, line).is_ok() {
            return;
        }
        if let Ok(fresh) = open_logger(&self.socket) {
            *logger = fresh;
            let _ = emit(&mut logger, severity, line);
        }
    }
}

fn open_logger(socket: &Path) -> io::Result<Logger<LoggerBackend, Formatter3164>> {
    let formatter = Formatter3164 {
        facility: Facility::LOG_DAEMON,
        hostname: None,
        process: "skydns".into(),
        pid: std::process::id(),
    };
    syslog::unix_custom(formatter, socket).map_err(|e| io::Error::other(e.to_string()))
}

fn emit(
    logger: &mut Logger<LoggerBackend, Formatter3164>,
    severity: Level,
    line: &str,
) -> syslog::Result<()> {
    match severity {
        Level::ERROR => logger.err(line),
        Level::WARN => logger.warning(line),
        Level::INFO => logger.info(line),
        Level::DEBUG | Level::TRACE => logger.debug(line),
    }
}

impl<'a> MakeWriter<'a> for SyslogSink {
    type Writer = SyslogLine<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        SyslogLine {
            sink: self,
            severity: Level::INFO,
            text: Vec::new(),
        }
    }

    fn make_writer_for(&'a self, meta: &Metadata<'_>) -> Self::Writer {
        SyslogLine {
            sink: self,
            severity: *meta.level(),
            text: Vec::new(),
        }
    }
}

/// One formatted event, sent as one syslog message when dropped.
struct SyslogLine<'a> {
    sink: &'a SyslogSink,
    severity: Level,
    text: Vec<u8>,
}

impl Write for SyslogLine<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for SyslogLine<'_> {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.text);
        let line = text.trim_end();
        if !line.is_empty() {
            self.sink.send(self.severity, line);
        }
    }
}
