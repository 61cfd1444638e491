//! Telling the service manager how we are (`sd_notify(3)` through `sd-notify`): READY, STATUS,
//! RELOADING with MONOTONIC_USEC, STOPPING and watchdog pings. Without `NOTIFY_SOCKET` every
//! call does nothing. A failed notification is logged (debug) and never stops serving.

use std::time::Duration;

use sd_notify::NotifyState;

/// Sends state changes (the manager may be gone: failures are only logged).
fn send(states: &[NotifyState]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "cannot notify the service manager");
    }
}

/// READY=1 with a STATUS= line.
pub fn ready(status: &str) {
    send(&[NotifyState::Ready, NotifyState::Status(status)]);
}

/// A STATUS= line.
pub fn status(status: &str) {
    send(&[NotifyState::Status(status)]);
}

/// RELOADING=1 with MONOTONIC_USEC= (mandatory for `Type=notify-reload`).
pub fn reloading() {
    match NotifyState::monotonic_usec_now() {
        Ok(now) => send(&[NotifyState::Reloading, now]),
        Err(e) => {
            tracing::debug!(error = %e, "cannot read the monotonic clock");
            send(&[NotifyState::Reloading]);
        }
    }
}

/// STOPPING=1 with a STATUS= line.
pub fn stopping(status: &str) {
    send(&[NotifyState::Stopping, NotifyState::Status(status)]);
}

/// WATCHDOG=1.
pub fn watchdog() {
    send(&[NotifyState::Watchdog]);
}

/// How often to ping the watchdog: half of `WATCHDOG_USEC` when it is set for this process.
pub fn watchdog_interval() -> Option<Duration> {
    sd_notify::watchdog_enabled()
        .filter(|d| !d.is_zero())
        .map(|d| d / 2)
}
