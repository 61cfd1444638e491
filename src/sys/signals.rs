//! The signals skydns acts on, as a stream of what they want done: SIGHUP asks for a reload, SIGTERM and
//! SIGINT for a graceful stop. Built on `signal-hook-tokio`, inside the runtime.

use futures_util::StreamExt;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook_tokio::Signals;

/// What a signal asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// Re-read the configuration.
    Reload,
    /// Stop gracefully.
    Stop,
}

/// Receives the signals; must be created inside the tokio runtime.
pub struct SignalRequests {
    signals: Signals,
}

impl SignalRequests {
    /// Starts receiving SIGHUP, SIGTERM and SIGINT (their default actions no longer apply).
    pub fn new() -> std::io::Result<Self> {
        Ok(SignalRequests {
            signals: Signals::new([SIGHUP, SIGTERM, SIGINT])?,
        })
    }

    /// The next request; `Stop` if signal delivery ends.
    pub async fn next(&mut self) -> Wanted {
        match self.signals.next().await {
            Some(SIGHUP) => Wanted::Reload,
            _ => Wanted::Stop,
        }
    }
}
