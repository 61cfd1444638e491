//! The `skydns` binary: parse the command line, then hand over to the daemon.

use skydns::config::cli::Cli;

/// jemalloc instead of glibc's allocator: compiled answers live long among short-lived
/// buffers on several worker threads, and glibc's per-thread arenas fragment around them
/// (measured at 100,000 services: 67 MiB resident with the answer table warm, against 53 MiB).
#[cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Freed pages go back to the system within about a second, from one jemalloc thread, even
/// when the process is idle (a full store load frees several times the snapshot it builds).
/// That thread is started by the daemon after the privilege drop
/// (`skydns::sys::allocator`), not here: it would exist before no-new-privs is set.
#[cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]
static JEMALLOC_OPTIONS: &[u8] = b"max_background_threads:1,dirty_decay_ms:1000,muzzy_decay_ms:0\0";

/// Read by jemalloc at its first allocation (its `malloc_conf`, under the crate's prefix).
#[cfg(all(feature = "jemalloc", target_os = "linux", not(target_env = "musl")))]
#[export_name = "_rjem_malloc_conf"]
static JEMALLOC_CONF: Option<&u8> = Some(&JEMALLOC_OPTIONS[0]);

fn main() {
    // Until the daemon listens for it, a SIGHUP (a reload asked for too early, during
    // start-up) must not end the process: it is noted and dropped.
    if let Err(e) = signal_hook::flag::register(
        signal_hook::consts::SIGHUP,
        std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
    ) {
        eprintln!("skydns: cannot catch SIGHUP: {e}");
    }
    let cli = Cli::parse_args();
    if cli.version {
        println!("skydns {}", env!("CARGO_PKG_VERSION"));
        return;
    }
    match skydns::daemon::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("skydns: {}", skydns::sys::report::error_line(&e));
            std::process::exit(1);
        }
    }
}
