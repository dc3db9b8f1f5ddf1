//! Which names may become file names: the one definition shared by the
//! policy runtime's host-level checks and the tenant store.
//!
//! A safe name is 1 to [`MAX_NAME_BYTES`] bytes of lowercase ASCII letters,
//! digits, `-`, `_` and `.`, does not start with `.` or `-`, and is not
//! reserved: not a Windows device name (`con`, `nul.txt`, `com1`, …) and not
//! `memory`, whose file would collide with the generated `MEMORY.md` on
//! case-insensitive file systems.
//!
//! Lowercase only (issue 9, item 17): on a case-insensitive file system
//! (macOS, Windows) `Acme` and `acme`, or `Deploy.md` and `deploy.md`, are one
//! file, so two tenants or two entries would share it. Every name that
//! becomes a file name — tenant, entry, merge target, piece — passes this
//! check wherever it enters (API paths and bodies, the CLI, proposals, the
//! config's shard list), so no two accepted names differ only in case.
//! The one exception is the host's own snapshot ids, which start with a
//! UTC time `20261121T101500.123Z`: there the `T` and `Z` must be
//! upper-case, so each of those names, too, has a single accepted spelling.

#![deny(missing_docs)]

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
    if let Some(problem) = case_problem(name.as_bytes()) {
        return Some(problem);
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')) {
        return Some("contains characters other than letters, digits, `-`, `_` and `.`");
    }
    if name.starts_with(['.', '-']) {
        return Some("starts with `.` or `-`");
    }
    let stem = name.split('.').next().unwrap_or_default();
    let numbered_device =
        (stem.starts_with("com") || stem.starts_with("lpt")) && stem.len() == 4 && stem.as_bytes()[3].is_ascii_digit();
    if WINDOWS_DEVICES.contains(&stem) || numbered_device {
        return Some("is a reserved device name");
    }
    if stem == "memory" {
        return Some("is reserved for the generated MEMORY.md index");
    }
    None
}

/// Length of the UTC time snapshot ids start with: `20261121T101500.123Z`.
const STAMP_BYTES: usize = 20;

/// Whether `name` starts with a UTC time as snapshot ids do, its `T` and
/// `Z` in either case.
fn has_stamp(name: &[u8]) -> bool {
    let digits = |range: std::ops::Range<usize>| name[range].iter().all(u8::is_ascii_digit);
    name.len() >= STAMP_BYTES
        && digits(0..8)
        && name[8].eq_ignore_ascii_case(&b'T')
        && digits(9..15)
        && name[15] == b'.'
        && digits(16..19)
        && name[19].eq_ignore_ascii_case(&b'Z')
}

/// The case rule: lower-case letters only, but for the `T` and `Z` of a
/// leading UTC time, which are upper-case only.
fn case_problem(name: &[u8]) -> Option<&'static str> {
    let stamp = has_stamp(name);
    if stamp && (name[8] != b'T' || name[19] != b'Z') {
        return Some("starts with a UTC time whose `T` and `Z` are not upper-case");
    }
    let upper_elsewhere =
        name.iter().enumerate().any(|(at, b)| b.is_ascii_uppercase() && !(stamp && (at == 8 || at == 19)));
    upper_elsewhere.then_some("has upper-case letters; names are lower-case, so no two differ only in case")
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
            "Acme",
            "deploy-Notes",
            "20261121t101500.123z-job-1",
            "20261121T101500.123Z-Job-1",
            "naïve",
            "a b",
            long.as_str(),
        ] {
            assert!(name_problem(name).is_some(), "{name:?} should be refused");
        }
    }

    #[test]
    fn ordinary_names_are_accepted() {
        for name in [
            "deploy-notes",
            "user_prefs",
            "v1.2-migration",
            "a",
            "console",
            "memory-tips",
            "20261121T101500.123Z-job-1",
        ] {
            assert_eq!(name_problem(name), None, "{name:?} should be accepted");
        }
    }
}
