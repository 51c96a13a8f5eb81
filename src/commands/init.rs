//! `kvgen init`: kvgen.toml for a project kvgen generated code in before.

use std::path::Path;

use crate::cli::GlobalArgs;
use crate::error::BadInput;
use crate::plan::Plan;

pub fn plan(_cwd: &Path, _global: &GlobalArgs) -> anyhow::Result<Plan> {
    Err(BadInput::new("kvgen init: not built yet").into())
}
