//! `dropout-lab`: the command line of the dropout lab. Parses the flags,
//! dispatches to the subcommand's module in [`cli`], and prints errors as a
//! user should see them (one line, flag names as typed, exit code 1).
//!
//! A closed output pipe (`dropout-lab study --plan | head -1`) ends the
//! command quietly with exit code 0, as other Unix tools do: an error whose
//! chain holds an `io::Error` of kind `BrokenPipe`, and a `println!` or
//! `eprintln!` that panics on one (the panic hook exits before printing).

// The binary's doc comments are clap's --help text (plain text, e.g. `runs/run-<unix time>`), not rustdoc.
#![allow(rustdoc::invalid_html_tags)]

mod cli;

use std::io::Write;
use std::process::ExitCode;

/// Whether `e` is, or is caused by, writing to a closed pipe.
fn broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// `println!`/`eprintln!` panic when their stream is a closed pipe
/// ("failed printing to stdout: Broken pipe"): exit quietly instead.
fn quiet_on_closed_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to std") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

fn main() -> ExitCode {
    quiet_on_closed_pipe();
    let args = cli::parse();
    match cli::run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed stderr: nothing can say it; the exit code still does.
            let _ = writeln!(std::io::stderr(), "error: {}", cli::message(&e));
            ExitCode::FAILURE
        }
    }
}
