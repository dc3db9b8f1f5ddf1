//! Compiles a policy's literal and regex sets to DFAs when the policy is
//! built, so a policy module carries ready tables and pays only for the
//! search. Every evaluation runs in a fresh instance: a regex compiled at run
//! time would be compiled again on every call (see the SDK README, "The
//! per-evaluation lifecycle and its cost").
//!
//! Use it from `build.rs` with [`PatternSet`], and read the set in the policy
//! with `memwarden_policy_sdk::include_patterns!`.
//!
//! Does not: search (that is `memwarden_policy_sdk::matching`), build lazy
//! DFAs, or support look-around beyond what a DFA can do (`^`, `$`, ASCII
//! `\b`).

#![deny(missing_docs)]

mod compile;
mod generate;

use std::path::{Path, PathBuf};

pub use compile::Compiled;

/// How matches are chosen when several patterns could match.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MatchKind {
    /// The match that starts first; among those, the pattern added first.
    /// Supports `find`, `find_iter`, `find_anchored` and `is_match`.
    #[default]
    LeftmostFirst,
    /// Every pattern that matches anywhere. Supports `which` and `is_match`.
    All,
}

/// Where searches may start matching.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Searches {
    /// Anywhere in the haystack (`find`, `is_match`, `which`).
    #[default]
    Unanchored,
    /// Only at a given offset (`find_anchored`): the smallest tables.
    Anchored,
    /// Both kinds.
    Both,
}

/// How the tables store each state's transitions: the trade between the
/// module's size and the search's speed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Representation {
    /// A full row per state, one entry for each class of bytes the patterns
    /// tell apart: one load per byte searched, the fastest search. The row
    /// is 4 bytes per class, rounded up to a power of two, so sets of many
    /// case-insensitive literals grow large.
    #[default]
    Dense,
    /// Only the transitions a state has, as byte ranges: a short scan per
    /// byte searched, but a state with a few transitions takes a few dozen
    /// bytes instead of a row. Lists of literals tried at an offset
    /// ([`Searches::Anchored`]) shrink 10 to 25 times; sets searched
    /// anywhere keep transitions back to every pattern's first byte in each
    /// state, and shrink less (1.2 to 5 times, measured).
    Sparse,
}

/// Sizes, in bytes.
mod limit {
    /// A set's tables (both directions) may not grow past this by default.
    /// A dense DFA takes 4 bytes per state and byte class, rounded up to a
    /// power of two: 38 case-insensitive role labels already make 200 KB
    /// (a sparse DFA of the same labels, 9 KB).
    pub(crate) const DEFAULT_MAX_BYTES: usize = 64 * 1024;
    /// How many times its bound a sparse set's dense intermediate may take
    /// while it is built: dense rows of case-insensitive literals take up
    /// to 25 times the bytes of their sparse states.
    pub(crate) const SPARSE_TO_DENSE: usize = 64;
}

/// One named set of literals and regexes, compiled together into one
/// automaton. Pattern ids follow the order patterns were added, counting
/// literals and regexes alike from 0.
///
/// ```no_run
/// // build.rs
/// use memwarden_policy_sdk_build::PatternSet;
///
/// PatternSet::new("VENDOR_PREFIXES")
///     .literals(["ghp_", "xoxb-", "sk_live_"])
///     .regexes([r"AKIA[0-9A-Z]{16}"])
///     .write();
/// ```
#[derive(Clone, Debug)]
pub struct PatternSet {
    name: String,
    patterns: Vec<Pattern>,
    case_insensitive: bool,
    unicode: bool,
    match_kind: MatchKind,
    searches: Searches,
    representation: Representation,
    max_bytes: usize,
}

/// A pattern as it was added.
#[derive(Clone, Debug)]
pub(crate) enum Pattern {
    Literal(Vec<u8>),
    Regex(String),
}

impl PatternSet {
    /// A new, empty set. `name` must be a Rust identifier in upper snake
    /// case: it names the generated static (`SECRET_PREFIXES`).
    pub fn new(name: &str) -> PatternSet {
        PatternSet {
            name: name.to_string(),
            patterns: Vec::new(),
            case_insensitive: false,
            unicode: true,
            match_kind: MatchKind::default(),
            searches: Searches::default(),
            representation: Representation::default(),
            max_bytes: limit::DEFAULT_MAX_BYTES,
        }
    }

    /// Adds literal byte strings, matched exactly (no regex syntax).
    pub fn literals<I, L>(mut self, literals: I) -> PatternSet
    where
        I: IntoIterator<Item = L>,
        L: AsRef<[u8]>,
    {
        self.patterns.extend(literals.into_iter().map(|literal| Pattern::Literal(literal.as_ref().to_vec())));
        self
    }

    /// Adds regexes in the syntax of the `regex` crate.
    pub fn regexes<I, R>(mut self, regexes: I) -> PatternSet
    where
        I: IntoIterator<Item = R>,
        R: AsRef<str>,
    {
        self.patterns.extend(regexes.into_iter().map(|regex| Pattern::Regex(regex.as_ref().to_string())));
        self
    }

    /// Ignores case: ASCII letters only for literals (like
    /// `eq_ignore_ascii_case`), as `(?i)` does for regexes (Unicode simple
    /// case folding, unless [`PatternSet::unicode`] is off).
    pub fn case_insensitive(mut self, yes: bool) -> PatternSet {
        self.case_insensitive = yes;
        self
    }

    /// Whether regexes use Unicode classes and case folding (on by default,
    /// as in the `regex` crate). Off, `\w`, `\d`, `\s` and `.` are ASCII or
    /// byte classes: much smaller tables.
    pub fn unicode(mut self, yes: bool) -> PatternSet {
        self.unicode = yes;
        self
    }

    /// How matches are chosen; see [`MatchKind`].
    pub fn match_kind(mut self, kind: MatchKind) -> PatternSet {
        self.match_kind = kind;
        self
    }

    /// Where searches may start; see [`Searches`].
    pub fn searches(mut self, searches: Searches) -> PatternSet {
        self.searches = searches;
        self
    }

    /// How the tables store transitions; see [`Representation`]. Searches
    /// and results are the same either way.
    pub fn representation(mut self, representation: Representation) -> PatternSet {
        self.representation = representation;
        self
    }

    /// The largest the compiled tables may be, both directions together
    /// (64 KiB by default). They are part of the module, and a larger one is
    /// refused with a hint.
    pub fn max_bytes(mut self, bytes: usize) -> PatternSet {
        self.max_bytes = bytes;
        self
    }

    /// Compiles the set, or says why it cannot be.
    ///
    /// # Errors
    ///
    /// A message for the build log: a bad name or pattern, a pattern that
    /// matches the empty string, tables over [`PatternSet::max_bytes`].
    pub fn compile(&self) -> Result<Compiled, String> {
        compile::compile(self)
    }

    /// Compiles the set and writes its tables and the Rust that embeds them
    /// under `OUT_DIR`, for `include_patterns!` to pick up.
    ///
    /// # Panics
    ///
    /// When the set does not compile (see [`PatternSet::compile`]) or
    /// `OUT_DIR` cannot be written: a build script reports by failing.
    pub fn write(&self) {
        let out_dir = match std::env::var_os("OUT_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => panic!("OUT_DIR is not set: call PatternSet::write from a build script"),
        };
        if let Err(err) = self.write_to(&out_dir) {
            panic!("{err}");
        }
    }

    /// [`PatternSet::write`] into `out_dir`, returning what went wrong.
    ///
    /// # Errors
    ///
    /// As [`PatternSet::compile`], or a file that could not be written.
    pub fn write_to(&self, out_dir: &Path) -> Result<(), String> {
        let compiled = self.compile()?;
        generate::write(&compiled, out_dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(set: PatternSet) -> String {
        match set.compile() {
            Ok(compiled) => panic!("`{}` compiled to {} bytes", compiled.name(), compiled.table_bytes()),
            Err(err) => err,
        }
    }

    #[test]
    fn sets_over_the_size_bound_are_refused_with_a_hint() {
        let err = refusal(PatternSet::new("WORDY").regexes([r"\w{20}[[:^space:]]{20}\w{20}"]).max_bytes(4096));
        assert!(err.contains("pattern set `WORDY` is too large"), "{err}");
        assert!(err.contains("unicode(false)"), "{err}");
    }

    #[test]
    fn the_bound_counts_both_directions() {
        let set = PatternSet::new("MAILS").regexes([r"[a-z]+@[a-z]+\.com"]);
        let compiled = set.clone().compile().unwrap_or_else(|err| panic!("{err}"));
        let (forward, reverse) = (compiled.forward().len(), compiled.reverse().map_or(0, <[u8]>::len));
        assert!(reverse > 0);
        assert!(set.clone().max_bytes(forward + reverse).compile().is_ok());
        assert!(refusal(set.max_bytes(forward + reverse - 1)).contains("too large"));
    }

    #[test]
    fn patterns_that_match_nothing_or_everything_are_refused() {
        assert!(refusal(PatternSet::new("EMPTY").regexes(["a*"])).contains("matches the empty string"));
        assert!(refusal(PatternSet::new("NEVER").regexes([r"[^\s\S]"])).contains("can never match"));
        assert!(refusal(PatternSet::new("NONE")).contains("has no patterns"));
        assert!(refusal(PatternSet::new("BAD").regexes(["(unclosed"])).contains("pattern 0"));
    }

    #[test]
    fn names_must_be_identifiers() {
        assert!(refusal(PatternSet::new("secret-prefixes").literals(["a"])).contains("upper-snake-case"));
        assert!(refusal(PatternSet::new("").literals(["a"])).contains("upper-snake-case"));
    }

    #[test]
    fn a_unicode_word_boundary_gets_a_hint() {
        let err = refusal(PatternSet::new("WORDS").regexes([r"\bkey\b"]));
        assert!(err.contains("(?-u:\\b)"), "{err}");
        assert!(PatternSet::new("WORDS").regexes([r"(?-u:\b)key(?-u:\b)"]).compile().is_ok());
    }

    #[test]
    fn fixed_lengths_replace_the_reverse_table() {
        let compiled = PatternSet::new("FIXED").literals(["ab"]).regexes(["[0-9]{3}", "é"]).compile();
        let compiled = compiled.unwrap_or_else(|err| panic!("{err}"));
        assert_eq!((compiled.lengths(), compiled.reverse().is_none()), (&[2, 3, 2][..], true));
        let all = PatternSet::new("ALL").regexes(["[0-9]+"]).match_kind(MatchKind::All).compile();
        assert!(all.is_ok_and(|compiled| compiled.reverse().is_none()));
        let anchored = PatternSet::new("ANCHORED").regexes(["[0-9]+"]).searches(Searches::Anchored).compile();
        assert!(anchored.is_ok_and(|compiled| compiled.reverse().is_none()));
    }

    #[test]
    fn sparse_sets_are_bounded_by_their_own_size_and_dense_ones_get_a_hint() {
        let markers = || {
            PatternSet::new("MARKERS")
                .literals((0..40).map(|i| format!("<|marker_{i}|>")))
                .case_insensitive(true)
                .searches(Searches::Anchored)
        };
        // About 45 KB dense, 4 KB sparse.
        let err = refusal(markers().max_bytes(32 * 1024));
        assert!(err.contains("Representation::Sparse"), "{err}");
        let sparse = markers().representation(Representation::Sparse).compile();
        let sparse = sparse.unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(sparse.representation(), Representation::Sparse);
        let bytes = sparse.table_bytes();
        let bounded = |max| markers().representation(Representation::Sparse).max_bytes(max);
        assert!(bounded(bytes).compile().is_ok());
        let err = refusal(bounded(bytes - 1));
        assert!(err.contains("too large") && !err.contains("Representation::Sparse"), "{err}");
    }

    #[test]
    fn sparse_sets_keep_the_lengths_and_the_reverse_table() {
        let set =
            PatternSet::new("MIXED").literals(["ab"]).regexes(["[0-9]{3}"]).representation(Representation::Sparse);
        let compiled = set.compile().unwrap_or_else(|err| panic!("{err}"));
        assert_eq!((compiled.lengths(), compiled.reverse().is_none()), (&[2, 3][..], true));
        let set = PatternSet::new("MAILS").regexes([r"[a-z]+@[a-z]+\.com"]).representation(Representation::Sparse);
        assert!(set.compile().is_ok_and(|compiled| compiled.reverse().is_some()));
    }

    #[test]
    fn write_to_embeds_sparse_tables_with_their_own_constructor() {
        let out_dir = std::env::temp_dir().join(format!("memwarden-sdk-build-sparse-test-{}", std::process::id()));
        let set = PatternSet::new("MAILS").regexes([r"[a-z]+@[a-z]+\.com"]).representation(Representation::Sparse);
        set.write_to(&out_dir).unwrap_or_else(|err| panic!("{err}"));
        let folder = out_dir.join("memwarden-patterns");
        let source = std::fs::read_to_string(folder.join("MAILS.rs")).unwrap_or_else(|err| panic!("{err}"));
        let forward = std::fs::read(folder.join("MAILS.forward.dfa")).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(forward, set.compile().unwrap_or_else(|err| panic!("{err}")).forward());
        assert!(source.contains("Patterns::from_sparse_tables(\"MAILS\""), "{source}");
        assert!(source.contains("Some(&REVERSE.bytes)"), "{source}");
        std::fs::remove_dir_all(&out_dir).unwrap_or_else(|err| panic!("{err}"));
    }

    #[test]
    fn write_to_embeds_aligned_tables_for_include_patterns() {
        let out_dir = std::env::temp_dir().join(format!("memwarden-sdk-build-test-{}", std::process::id()));
        let set = PatternSet::new("MAILS").regexes([r"[a-z]+@[a-z]+\.com"]);
        set.write_to(&out_dir).unwrap_or_else(|err| panic!("{err}"));
        let folder = out_dir.join("memwarden-patterns");
        let source = std::fs::read_to_string(folder.join("MAILS.rs")).unwrap_or_else(|err| panic!("{err}"));
        let compiled = set.compile().unwrap_or_else(|err| panic!("{err}"));
        let forward = std::fs::read(folder.join("MAILS.forward.dfa")).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(forward, compiled.forward());
        assert!(folder.join("MAILS.reverse.dfa").exists());
        let declaration = format!("Aligned<[u8; {}]>", forward.len());
        assert!(source.contains(&declaration), "{source}");
        assert!(source.contains("Some(&REVERSE.bytes)"), "{source}");
        assert!(source.contains("Patterns::from_tables(\"MAILS\""), "{source}");
        assert!(source.contains("// SAFETY:"), "{source}");
        std::fs::remove_dir_all(&out_dir).unwrap_or_else(|err| panic!("{err}"));
    }
}
