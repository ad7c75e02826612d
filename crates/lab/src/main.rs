//! `dropout-lab`: the command line of the dropout lab. Parses the flags,
//! dispatches to the subcommand's module in [`cli`], and prints errors as a
//! user should see them (one line, flag names as typed, exit code 1).

// The binary's doc comments are clap's --help text (plain text, e.g. `runs/run-<unix time>`), not rustdoc.
#![allow(rustdoc::invalid_html_tags)]

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", cli::message(&e));
            ExitCode::FAILURE
        }
    }
}
