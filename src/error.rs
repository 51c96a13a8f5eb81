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

/// The project changed under kvgen, or another kvgen run holds it: nothing
/// was written; exit code 1, like a conflict.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Busy(pub String);

/// What a run asks contradicts what the design holds (`kvgen key add` of a
/// key pattern the namespace has, differently): nothing was written; exit
/// code 1, like a conflict.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Conflict(pub String);

/// The exit code an error stands for: 1 when the project was busy or changed
/// while kvgen ran, 130 when SIGINT stopped it (as a shell reports it), 2
/// otherwise.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    if error.chain().any(|cause| {
        matches!(
            cause.downcast_ref::<crate::transaction::CommitError>(),
            Some(crate::transaction::CommitError::Interrupted)
        )
    }) {
        return 130;
    }
    let busy = error.chain().any(|cause| {
        cause.is::<Busy>()
            || cause.is::<Conflict>()
            || matches!(
                cause.downcast_ref::<crate::transaction::CommitError>(),
                Some(crate::transaction::CommitError::Changed { .. })
            )
    });
    if busy { EXIT_CONFLICT } else { EXIT_BAD_INPUT }
}

pub const EXIT_OK: u8 = 0;
pub const EXIT_CONFLICT: u8 = 1;
pub const EXIT_BAD_INPUT: u8 = 2;

pub fn exit(code: u8) -> ExitCode {
    ExitCode::from(code)
}
