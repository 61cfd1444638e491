//! The `skydnsctl` binary: parse the command line, run the command, map errors to exit codes
//! (2 for a bad argument, as clap does for its own, 1 for any other failure).

use nix::sys::signal::{signal, SigHandler, Signal};
use skydns::ctl::cli::Ctl;
use skydns::ctl::error::exit_code;

fn main() {
    // Output into a closed pipe (`skydnsctl service ls | head`) ends the process quietly, as
    // for other command-line tools, instead of failing on the next write.
    // SAFETY: called first in main, before any thread exists; SIG_DFL installs no handler.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
    let ctl = Ctl::try_parse_from(std::env::args_os()).unwrap_or_else(|e| e.exit());
    let code = match skydns::ctl::run(&ctl) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("skydnsctl: {}", skydns::sys::report::error_line(&e));
            exit_code(&e)
        }
    };
    std::process::exit(code);
}
