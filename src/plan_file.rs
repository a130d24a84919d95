//! Plans on disk: read the file, let the core parse it.

use std::path::Path;

use amptap_core::plan::{self, Plan, PlanError};

/// Loads a plan, choosing the form by extension (`.csv`, else TOML).
pub fn load(path: &Path) -> Result<Plan, PlanError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| PlanError::Io {
        file: file.clone(),
        source,
    })?;
    plan::parse(&text, &file)
}
