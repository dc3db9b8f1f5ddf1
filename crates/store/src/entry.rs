//! A memory entry as a markdown file with front matter, rendered so that
//! reading a file this host wrote and writing it back gives the same bytes.
//!
//! ```text
//! ---
//! name: deploy-order
//! description: Run migrations before deploying
//! type: project
//! ---
//! Always run the migrations first; the app fails to boot otherwise.
//! ```
//!
//! Values are written plain when that is unambiguous YAML, and as
//! double-quoted JSON strings (also valid YAML) otherwise.

use serde::Deserialize;

use super::StoreError;

/// One memory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's name; its file is `memory/<name>.md`.
    pub name: String,
    /// One line for `MEMORY.md`.
    pub description: String,
    /// `user`, `feedback`, `project` or `reference`.
    pub entry_type: String,
    /// The markdown body, exactly as proposed.
    pub body: String,
}

const FENCE: &str = "---\n";

impl Entry {
    /// The file contents.
    pub fn to_markdown(&self) -> String {
        format!(
            "{FENCE}name: {}\ndescription: {}\ntype: {}\n{FENCE}{}",
            scalar(&self.name),
            scalar(&self.description),
            scalar(&self.entry_type),
            self.body
        )
    }

    /// The file contents of this entry superseded by `target`: kept, with
    /// its content, after a merge folded it into `target` (issue 12), and
    /// left out of `MEMORY.md`, prompts and the policy index.
    pub fn to_superseded_markdown(&self, target: &str) -> String {
        format!(
            "{FENCE}name: {}\ndescription: {}\ntype: {}\nsuperseded_by: {}\n{FENCE}{}",
            scalar(&self.name),
            scalar(&self.description),
            scalar(&self.entry_type),
            scalar(target),
            self.body
        )
    }

    /// Reads the file of entry `name`.
    pub fn parse(name: &str, text: &str) -> Result<Entry, StoreError> {
        Entry::parse_with_mark(name, text).map(|(entry, _)| entry)
    }

    /// Reads the file of entry `name`, and the entry it was merged into if
    /// it is superseded.
    pub fn parse_with_mark(name: &str, text: &str) -> Result<(Entry, Option<String>), StoreError> {
        let invalid = |reason: &str| StoreError::InvalidEntry { name: name.to_string(), reason: reason.to_string() };
        let rest = text.strip_prefix(FENCE).ok_or_else(|| invalid("it does not start with `---`"))?;
        let end = rest.find("\n---\n").ok_or_else(|| invalid("its front matter is not closed by `---`"))?;
        let (front, body) = (&rest[..end + 1], &rest[end + 1 + FENCE.len()..]);
        let front: FrontMatter =
            serde_norway::from_str(front).map_err(|err| invalid(&format!("front matter: {err}")))?;
        if front.name != name {
            return Err(invalid(&format!("its front matter names `{}`", front.name)));
        }
        if let Some(problem) = front.superseded_by.as_deref().and_then(memwarden_names::name_problem) {
            return Err(invalid(&format!("superseded_by {problem}")));
        }
        let entry = Entry {
            name: front.name,
            description: front.description,
            entry_type: front.entry_type,
            body: body.to_string(),
        };
        Ok((entry, front.superseded_by))
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FrontMatter {
    name: String,
    description: String,
    #[serde(rename = "type")]
    entry_type: String,
    #[serde(default)]
    superseded_by: Option<String>,
}

/// `value` as a YAML scalar that reads back as exactly `value`.
fn scalar(value: &str) -> String {
    let plain = !value.is_empty()
        && value.trim() == value
        && value.chars().all(|c| c.is_alphanumeric() || " -_.,()'/".contains(c))
        && value.chars().next().is_some_and(char::is_alphanumeric)
        && !matches!(
            value.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "~"
        )
        && value.parse::<f64>().is_err();
    match plain {
        true => value.to_string(),
        false => serde_json::Value::String(value.to_string()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(description: &str, body: &str) -> Entry {
        Entry {
            name: "deploy-order".into(),
            description: description.into(),
            entry_type: "project".into(),
            body: body.into(),
        }
    }

    #[test]
    fn round_trips_byte_for_byte() {
        for (description, body) in [
            ("Run migrations before deploying", "Always migrate first.\n"),
            ("Note: colons, #hashes and \"quotes\"", "---\nlooks like a fence\n---\n"),
            ("123", ""),
            ("true", "no trailing newline"),
            (" leading space", "ünïcödé body\r\nwith CRLF"),
        ] {
            let original = entry(description, body);
            let text = original.to_markdown();
            let parsed = Entry::parse("deploy-order", &text).expect("parses");
            assert_eq!(parsed, original);
            assert_eq!(parsed.to_markdown(), text);
        }
    }

    #[test]
    fn refuses_malformed_files() {
        for text in [
            "no front matter",
            "---\nname: x\n",
            "---\nname: other\ndescription: d\ntype: user\n---\nbody",
            "---\nname: deploy-order\ndescription: d\ntype: user\nextra: 1\n---\n",
        ] {
            assert!(Entry::parse("deploy-order", text).is_err(), "{text:?}");
        }
    }
}
