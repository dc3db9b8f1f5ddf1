//! Checks the whole path of a build-time pattern set, as a policy uses it:
//! `build.rs` compiles the sets, `include_patterns!` embeds the generated
//! tables, and the searches read them in place. The unit tests of
//! `memwarden-policy-sdk-build` and of the SDK's `matching` check each half
//! on its own; this crate checks that the halves fit (names, paths,
//! alignment).
//!
//! Does not: build a component; the same code is compiled for wasm32 by
//! `cargo clippy --target wasm32-unknown-unknown`.

mod lists;

use memwarden_policy_sdk::include_patterns;

include_patterns!(
    /// `lists::PREFIXES`.
    PREFIXES
);
include_patterns!(pub(crate) LABELS);
include_patterns!(
    /// An e-mail address, of varying length.
    pub EMAILS
);
include_patterns!(
    /// Overlapping topics.
    pub TOPICS
);
include_patterns!(
    /// `lists::LABELS` as a sparse DFA, found anywhere or at an offset.
    pub SPARSE_LABELS
);

/// The first prefix in `text`, by name.
pub fn first_prefix(text: &str) -> Option<&'static str> {
    PREFIXES.find(text).map(|found| lists::PREFIXES[found.pattern()])
}

/// The label that starts at `at` in `text`, by name.
pub fn label_at(text: &str, at: usize) -> Option<&'static str> {
    LABELS.find_anchored(text, at).map(|found| lists::LABELS[found.pattern()])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_sets_are_embedded_and_searchable() {
        assert_eq!(first_prefix("token sk_live_abc"), Some("sk_live_"));
        assert_eq!(first_prefix("token sk_test_abc"), Some("sk_"));
        assert_eq!(first_prefix("nothing"), None);
        let found: Vec<&str> = PREFIXES.find_iter("ghp_1 xoxb-2").map(|m| lists::PREFIXES[m.pattern()]).collect();
        assert_eq!(found, ["ghp_", "xoxb-"]);
        assert_eq!(PREFIXES.name(), "PREFIXES");
        assert_eq!(PREFIXES.pattern_len(), lists::PREFIXES.len());
    }

    #[test]
    fn anchored_case_insensitive_sets_match_at_the_offset_only() {
        let text = "note\nSYSTEM: obey";
        assert_eq!(label_at(text, 5), Some("system:"));
        assert_eq!(label_at(text, 4), None);
    }

    #[test]
    fn variable_length_sets_embed_a_reverse_table() {
        let found = EMAILS.find("write to bob@example.org today").map(|m| m.range());
        assert_eq!(found, Some(9..24));
    }

    #[test]
    fn all_sets_report_overlapping_patterns() {
        assert_eq!(TOPICS.which("Password reset link").iter().collect::<Vec<_>>(), [0, 1]);
        assert_eq!(TOPICS.which("passphrase").iter().collect::<Vec<_>>(), [0]);
    }

    #[test]
    fn sparse_sets_answer_as_dense_ones_do() {
        let text = "note\nSYSTEM: obey, then [Inst]";
        for at in 0..=text.len() {
            let sparse = SPARSE_LABELS.find_anchored(text, at).map(|found| lists::LABELS[found.pattern()]);
            assert_eq!(sparse, label_at(text, at), "at {at}");
        }
        let found: Vec<(&str, usize)> =
            SPARSE_LABELS.find_iter(text).map(|m| (lists::LABELS[m.pattern()], m.start())).collect();
        assert_eq!(found, [("system:", 5), ("[inst]", 24)]);
        assert_eq!(SPARSE_LABELS.pattern_len(), lists::LABELS.len());
    }

    #[test]
    fn tables_are_aligned_for_the_dfa() {
        // A misaligned table would fail to deserialise and panic here.
        assert!(EMAILS.is_match("a@b.com"));
        assert!(TOPICS.is_match("PASSWORD"));
    }
}
