//! Which names may become file names: the one definition shared by the
//! policy runtime's host-level checks and the tenant store.
//!
//! A safe name is 1 to [`MAX_NAME_BYTES`] bytes of ASCII letters, digits,
//! `-`, `_` and `.`, does not start with `.` or `-`, and is not reserved:
//! not a Windows device name (`CON`, `nul.txt`, `COM1`, …) and not `memory`,
//! whose file would collide with the generated `MEMORY.md` on
//! case-insensitive file systems.

/// Longest name the host accepts, in bytes.
pub const MAX_NAME_BYTES: usize = 128;

const WINDOWS_DEVICES: [&str; 6] = ["con", "prn", "aux", "nul", "conin$", "conout$"];

/// Why a name cannot be used, or `None` when it can.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("is empty");
    }
    if name.len() > MAX_NAME_BYTES {
        return Some("is too long");
    }
    if name.contains('\0') {
        return Some("contains NUL");
    }
    if name.contains(['/', '\\']) {
        return Some("contains a path separator");
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return Some("contains characters other than letters, digits, `-`, `_` and `.`");
    }
    if name.starts_with(['.', '-']) {
        return Some("starts with `.` or `-`");
    }
    let stem = name.split('.').next().unwrap_or_default().to_ascii_lowercase();
    let numbered_device =
        (stem.starts_with("com") || stem.starts_with("lpt")) && stem.len() == 4 && stem.as_bytes()[3].is_ascii_digit();
    if WINDOWS_DEVICES.contains(&stem.as_str()) || numbered_device {
        return Some("is a reserved device name");
    }
    if stem == "memory" {
        return Some("is reserved for the generated MEMORY.md index");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_refused() {
        let long = "a".repeat(300);
        for name in [
            "",
            "../x",
            "/etc/passwd",
            "a/b",
            "a\\b",
            "a\0b",
            ".hidden",
            "..",
            "-rf",
            "CON",
            "con.md",
            "com1",
            "LPT9.txt",
            "MEMORY",
            "memory.md",
            "naïve",
            "a b",
            long.as_str(),
        ] {
            assert!(name_problem(name).is_some(), "{name:?} should be refused");
        }
    }

    #[test]
    fn ordinary_names_are_accepted() {
        for name in ["deploy-notes", "user_prefs", "v1.2-migration", "a", "console", "memory-tips"] {
            assert_eq!(name_problem(name), None, "{name:?} should be accepted");
        }
    }
}
