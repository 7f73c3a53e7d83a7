//! The `bitflix` binary: a thin shell over the library crates.
//!
//! Each subcommand lives in its own module under `cmd/` and returns a typed output that is printed
//! for people, or as JSON with `--json` (tests deserialize it). `main` returns an exit code:
//! 0 success, 1 the command failed, 2 bad usage (clap's own).

mod backend;
mod bundle;
mod cmd;
mod commitment;
mod keys;
mod network;
mod output;
mod poster;
mod progress;
mod rails;
mod signal;
mod swarms;
mod viewer;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = cmd::Cli::parse();
    init_tracing(cli.global.verbose);
    // The servers hold up to a few hundred connections each, next to the index and the chain's
    // files: use all the descriptors the system allows.
    if let Err(e) = httpd::raise_fd_limit() {
        tracing::debug!("could not raise the open-file limit: {e}");
    }
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(verbose: u8) {
    let default = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("BITFLIX_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal; logs piped to files or scripts stay plain.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
}
