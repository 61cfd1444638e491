//! Log output: `tracing` events written to stderr with a level filter.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber at `level` (error, warn, info, debug, trace). `RUST_LOG`
/// overrides it when set.
pub fn init(level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}
