use std::process::ExitCode;

use clap::Parser;
use kvgen::cli::Cli;
use kvgen::error::{EXIT_BAD_INPUT, exit};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match kvgen::commands::run(&cli) {
        Ok(code) => exit(code),
        Err(error) => {
            if cli.global.json {
                let report = serde_json::json!({ "error": format!("{error:#}"), "exit_code": EXIT_BAD_INPUT });
                println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                );
            }
            eprintln!("error: {error:#}");
            exit(EXIT_BAD_INPUT)
        }
    }
}
