use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use kvgen::cli::Cli;
use kvgen::error::{exit, exit_code};

fn main() -> ExitCode {
    let cli = Cli::parse();
    kvgen::lock::exit_cleanly_on_signals();
    let result = kvgen::commands::run(&cli);
    kvgen::transaction::exit_after_signal_handling();
    match result {
        Ok(code) => exit(code),
        Err(error) => {
            let code = exit_code(&error);
            if cli.global.json {
                let report =
                    serde_json::json!({ "error": format!("{error:#}"), "exit_code": code });
                let text = serde_json::to_string_pretty(&report).unwrap_or_default();
                // A report nobody can read changes nothing about the outcome.
                let _ = writeln!(std::io::stdout(), "{}", kvgen::names::json_text(&text));
            }
            let message = format!("{error:#}");
            let message = kvgen::names::terminal_text(&message);
            let _ = writeln!(std::io::stderr(), "error: {message}");
            exit(code)
        }
    }
}
