//! The outcomes that decide kvgen's exit code.

use std::process::ExitCode;

/// Something the user gave kvgen that it cannot work with: bad arguments,
/// invalid names, a config that does not parse, not a Worker project.
/// Reported before anything is written; exit code 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadInput(pub String);

impl BadInput {
    pub fn new(message: impl Into<String>) -> Self {
        BadInput(message.into())
    }
}

pub const EXIT_OK: u8 = 0;
pub const EXIT_CONFLICT: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

pub fn exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}
