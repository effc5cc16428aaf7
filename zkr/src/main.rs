//! `zkr`: the single entry point. Parses arguments, sets up logging, and calls the libraries.

mod bench;
mod cli;
mod config;
mod contracts;
mod l1;
mod node;
mod queue;
mod state;
mod status;
mod wallet;

use std::io::IsTerminal;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("ZKR_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never into a log file or a pipe.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // one line: the error and its causes
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
