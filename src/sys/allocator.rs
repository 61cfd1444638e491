//! The allocator's own thread, which hands freed pages back to the system while the process is
//! idle. It is started after the privilege drop, never before: a thread that exists when
//! no-new-privs is set keeps running without it.

/// Starts jemalloc's background purging thread (the `skydns` binary's allocator, see
/// `src/main.rs`). A failure costs only memory returned later, so it is logged, not fatal.
#[cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]
pub fn start_background_purge() {
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(true) {
        tracing::warn!("cannot start the allocator's background thread: {e}");
    }
}

/// Without jemalloc there is no such thread to start.
#[cfg(not(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl"))))]
pub fn start_background_purge() {}
