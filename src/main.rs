//! The `skydns` binary: parse the command line, then hand over to the daemon.

use skydns::config::cli::Cli;

fn main() {
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
