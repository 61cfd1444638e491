//! The `skydns` binary: parse the command line, then hand over to the daemon.

use skydns::config::cli::Cli;

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
