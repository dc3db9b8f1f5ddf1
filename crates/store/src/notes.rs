//! `consolidation/` inside a tenant directory: what the last consolidation
//! was shown, kept so it can be inspected later — one summary file per
//! source run and `raw_notes.md`, all of them together.

use super::{StoreError, TenantDir, files, safe_name};

/// The file with every note of a consolidation's input.
pub const RAW_NOTES: &str = "raw_notes.md";

impl TenantDir {
    /// Makes `consolidation/` hold exactly `summaries` (file stem → text,
    /// each written as `<stem>.md`) and `raw_notes.md`; other `.md` files
    /// there are pruned.
    pub fn sync_consolidation_notes(&self, summaries: &[(String, String)], raw_notes: &str) -> Result<(), StoreError> {
        let mut keep = vec![RAW_NOTES.to_string()];
        for (stem, _) in summaries {
            safe_name("note", stem)?;
            keep.push(format!("{stem}.md"));
        }
        let mut durable = files::Durable::default();
        let dir = &self.consolidation;
        let io = |name: &str| StoreError::io(self.path(&format!("consolidation/{name}")));
        for item in dir.entries().map_err(io(""))? {
            let item = item.map_err(io(""))?;
            let Ok(name) = item.file_name().into_string() else { continue };
            if name.ends_with(".md") && !keep.contains(&name) {
                durable.remove(dir, "consolidation", &name).map_err(io(&name))?;
            }
        }
        for ((_, text), name) in summaries.iter().zip(&keep[1..]) {
            // Unchanged summaries are not rewritten.
            if files::read_optional(dir, name).map_err(io(name))?.as_deref() != Some(text.as_str()) {
                durable.write(dir, "consolidation", name, text.as_bytes()).map_err(io(name))?;
            }
        }
        durable.write(dir, "consolidation", RAW_NOTES, raw_notes.as_bytes()).map_err(io(RAW_NOTES))?;
        durable.sync().map_err(io(""))
    }

    /// The text of `consolidation/<name>`, if it exists.
    pub fn consolidation_file(&self, name: &str) -> Result<Option<String>, StoreError> {
        safe_name("note", name)?;
        files::read_optional(&self.consolidation, name)
            .map_err(StoreError::io(self.path(&format!("consolidation/{name}"))))
    }
}
