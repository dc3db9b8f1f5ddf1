//! Searching literal and regex sets that were compiled to DFAs when the
//! policy was built (`memwarden-policy-sdk-build`), so an evaluation pays
//! for the search and nothing else. Declare a set with
//! [`include_patterns!`](crate::include_patterns) and search it through
//! [`Patterns`].
//!
//! A set's tables are dense or sparse DFAs, as its build script chose
//! (`PatternSet::representation`); the searches and their results are the
//! same for both, and a `Patterns` reads whichever it was given.
//!
//! Does not: compile patterns (there is no regex compiler in a module), or
//! report capture groups.

use std::sync::OnceLock;

use regex_automata::dfa::{Automaton, OverlappingState, dense, sparse};
use regex_automata::{Anchored, HalfMatch, Input, MatchError};

/// How a set chooses among matches; fixed when it is built
/// (`PatternSet::match_kind`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The match that starts first, and among those the pattern added
    /// first: for [`Patterns::find`], [`Patterns::find_iter`] and
    /// [`Patterns::find_anchored`].
    LeftmostFirst,
    /// Every pattern that matches: for [`Patterns::which`].
    All,
}

/// Bytes placed at a 4-byte-aligned address, as a dense DFA must be to be
/// read. Used by the code `include_patterns!` generates.
#[doc(hidden)]
#[repr(C)]
pub struct Aligned<B: ?Sized> {
    _align: [u32; 0],
    pub bytes: B,
}

impl<B> Aligned<B> {
    /// Wraps `bytes`.
    pub const fn new(bytes: B) -> Aligned<B> {
        Aligned { _align: [], bytes }
    }
}

/// A compiled set of literals and regexes, embedded in the module.
///
/// The tables are read (not validated, not copied) on first use in an
/// instance, which costs well under a microsecond; each search then walks
/// the haystack once. Pattern ids follow the order the build script added
/// the patterns in.
pub struct Patterns {
    name: &'static str,
    forward: &'static [u8],
    reverse: Option<&'static [u8]>,
    /// Each pattern's length, when there is no reverse DFA.
    lengths: &'static [u32],
    kind: Kind,
    representation: Representation,
    /// Boxed: the read DFAs hold their byte-class maps (256 bytes each),
    /// and a `static` is part of the module's data, copied into every
    /// instance, where a box is not.
    dfas: OnceLock<Box<Dfas>>,
}

/// How the tables store transitions.
#[derive(Clone, Copy)]
enum Representation {
    Dense,
    Sparse,
}

/// The tables, read in place.
enum Dfas {
    Dense(Directions<dense::DFA<&'static [u32]>>),
    Sparse(Directions<sparse::DFA<&'static [u8]>>),
}

struct Directions<A> {
    forward: A,
    reverse: Option<A>,
}

/// Runs `$body` with `$directions` bound to the [`Directions`] of either
/// representation: one copy of the search code per representation, chosen
/// by one branch per search, not per byte.
macro_rules! with_directions {
    ($dfas:expr, $directions:ident => $body:expr) => {
        match $dfas {
            Dfas::Dense($directions) => $body,
            Dfas::Sparse($directions) => $body,
        }
    };
}

/// Where a pattern matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Match {
    pattern: usize,
    start: usize,
    end: usize,
}

impl Match {
    /// Which pattern matched: its position in the build script's set.
    pub fn pattern(&self) -> usize {
        self.pattern
    }

    /// Where the match starts in the haystack.
    pub fn start(&self) -> usize {
        self.start
    }

    /// Where it ends (exclusive).
    pub fn end(&self) -> usize {
        self.end
    }

    /// `start..end`.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

impl Patterns {
    /// A set over tables the build step wrote. Called by the code
    /// `include_patterns!` generates; authors do not call it.
    ///
    /// # Safety
    ///
    /// `forward` and `reverse` must be dense DFAs serialised little-endian
    /// by `memwarden-policy-sdk-build` with the same regex-automata release
    /// this crate uses, starting at 4-byte-aligned addresses; `lengths` must
    /// be the lengths it computed. They are read without validation.
    #[doc(hidden)]
    pub const unsafe fn from_tables(
        name: &'static str,
        forward: &'static [u8],
        reverse: Option<&'static [u8]>,
        lengths: &'static [u32],
        kind: Kind,
    ) -> Patterns {
        Patterns { name, forward, reverse, lengths, kind, representation: Representation::Dense, dfas: OnceLock::new() }
    }

    /// [`Patterns::from_tables`] for sparse DFAs.
    ///
    /// # Safety
    ///
    /// As [`Patterns::from_tables`], for sparse DFAs (which need no
    /// alignment).
    #[doc(hidden)]
    pub const unsafe fn from_sparse_tables(
        name: &'static str,
        forward: &'static [u8],
        reverse: Option<&'static [u8]>,
        lengths: &'static [u32],
        kind: Kind,
    ) -> Patterns {
        Patterns {
            name,
            forward,
            reverse,
            lengths,
            kind,
            representation: Representation::Sparse,
            dfas: OnceLock::new(),
        }
    }

    /// The set's name, as the build script gave it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// How many patterns the set has.
    pub fn pattern_len(&self) -> usize {
        with_directions!(self.dfas(), directions => directions.forward.pattern_len())
    }

    /// Whether any pattern matches anywhere in `haystack`. Stops at the
    /// first match.
    ///
    /// # Panics
    ///
    /// When the set was built with `Searches::Anchored` only.
    pub fn is_match(&self, haystack: &(impl AsRef<[u8]> + ?Sized)) -> bool {
        let input = Input::new(haystack.as_ref()).earliest(true);
        self.forward(&input).is_some()
    }

    /// The leftmost match in `haystack`, preferring the pattern added first
    /// among those starting there.
    ///
    /// # Panics
    ///
    /// When the set was built with `MatchKind::All`, or with
    /// `Searches::Anchored` only.
    pub fn find(&self, haystack: &(impl AsRef<[u8]> + ?Sized)) -> Option<Match> {
        self.find_from(haystack.as_ref(), 0)
    }

    /// Every match in `haystack`, left to right, none overlapping the one
    /// before (the next search starts where a match ends).
    ///
    /// # Panics
    ///
    /// As [`Patterns::find`].
    pub fn find_iter<'p, 'h>(&'p self, haystack: &'h (impl AsRef<[u8]> + ?Sized)) -> Matches<'p, 'h> {
        Matches { patterns: self, haystack: haystack.as_ref(), at: 0 }
    }

    /// The match that starts exactly at `at`, if any: a set of prefixes
    /// tried at a position, as a table of `starts_with` checks would be,
    /// without comparing each entry.
    ///
    /// # Panics
    ///
    /// When the set was built with `MatchKind::All`, or with
    /// `Searches::Unanchored` only; or when `at` is past the haystack's end.
    pub fn find_anchored(&self, haystack: &(impl AsRef<[u8]> + ?Sized), at: usize) -> Option<Match> {
        self.require(Kind::LeftmostFirst, "find_anchored");
        let input = Input::new(haystack.as_ref()).range(at..).anchored(Anchored::Yes);
        let end = self.forward(&input)?;
        Some(Match { pattern: end.pattern().as_usize(), start: at, end: end.offset() })
    }

    /// Every pattern that matches somewhere in `haystack`, overlapping or
    /// not.
    ///
    /// # Panics
    ///
    /// When the set was not built with `MatchKind::All`, or was built with
    /// `Searches::Anchored` only.
    pub fn which(&self, haystack: &(impl AsRef<[u8]> + ?Sized)) -> PatternIds {
        self.require(Kind::All, "which");
        with_directions!(self.dfas(), directions => self.which_in(&directions.forward, haystack.as_ref()))
    }

    fn which_in(&self, dfa: &impl Automaton, haystack: &[u8]) -> PatternIds {
        let mut ids = PatternIds::with_capacity(dfa.pattern_len());
        let input = Input::new(haystack);
        let mut state = OverlappingState::start();
        loop {
            if let Err(err) = dfa.try_search_overlapping_fwd(&input, &mut state) {
                self.unsupported(&err);
            }
            match state.get_match() {
                Some(found) => ids.insert(found.pattern().as_usize()),
                None => break,
            }
            if ids.is_full() {
                break;
            }
        }
        ids
    }

    fn find_from(&self, haystack: &[u8], from: usize) -> Option<Match> {
        self.require(Kind::LeftmostFirst, "find");
        let input = Input::new(haystack).range(from..);
        let end = self.forward(&input)?;
        let (pattern, end_at) = (end.pattern().as_usize(), end.offset());
        let reverse = with_directions!(self.dfas(), directions => match &directions.reverse {
            // The longest reverse match that ends (going backwards) at the
            // search's start is the leftmost start, as in regex-automata's
            // `dfa::regex::Regex`.
            Some(reverse) => {
                let backwards = input.clone().span(from..end_at).anchored(Anchored::Yes).earliest(false);
                Some(reverse.try_search_rev(&backwards))
            }
            None => None,
        });
        let start = match (reverse, self.lengths.get(pattern)) {
            // INVARIANT: a pattern of fixed length `len` that matched up to
            // `end_at` began `len` bytes before it.
            (None, Some(&len)) => end_at - len as usize,
            (Some(Ok(Some(start))), _) => start.offset(),
            (Some(Ok(None)), _) => panic!("pattern set `{}`: the reverse table misses a forward match", self.name),
            (Some(Err(err)), _) => self.unsupported(&err),
            (None, None) => panic!("pattern set `{}`: no length for pattern {pattern}", self.name),
        };
        Some(Match { pattern, start, end: end_at })
    }

    fn forward(&self, input: &Input<'_>) -> Option<HalfMatch> {
        match with_directions!(self.dfas(), directions => directions.forward.try_search_fwd(input)) {
            Ok(found) => found,
            Err(err) => self.unsupported(&err),
        }
    }

    fn dfas(&self) -> &Dfas {
        self.dfas.get_or_init(|| {
            Box::new(match self.representation {
                Representation::Dense => Dfas::Dense(Directions {
                    forward: self.read_dense(self.forward),
                    reverse: self.reverse.map(|bytes| self.read_dense(bytes)),
                }),
                Representation::Sparse => Dfas::Sparse(Directions {
                    forward: self.read_sparse(self.forward),
                    reverse: self.reverse.map(|bytes| self.read_sparse(bytes)),
                }),
            })
        })
    }

    // Both reads skip validation. `from_tables` and `from_sparse_tables`
    // require these bytes to be a DFA serialised by our own build step with
    // this same regex-automata release (the lock file holds one), so
    // validating its transitions on every evaluation (measured: see the
    // README) would only re-prove that. The header is still checked: label,
    // endianness, format version and, for a dense DFA, alignment. What a
    // broken table could reach is this instance's own linear memory: the
    // sandbox holds the proposal, the context and the config, all copied in
    // by the host, and nothing else.

    fn read_dense(&self, bytes: &'static [u8]) -> dense::DFA<&'static [u32]> {
        // SAFETY: see above; `from_tables` requires a dense DFA.
        match unsafe { dense::DFA::from_bytes_unchecked(bytes) } {
            Ok((dfa, _)) => dfa,
            Err(err) => self.unreadable(&err),
        }
    }

    fn read_sparse(&self, bytes: &'static [u8]) -> sparse::DFA<&'static [u8]> {
        // SAFETY: see above; `from_sparse_tables` requires a sparse DFA.
        match unsafe { sparse::DFA::from_bytes_unchecked(bytes) } {
            Ok((dfa, _)) => dfa,
            Err(err) => self.unreadable(&err),
        }
    }

    fn unreadable(&self, err: &impl std::fmt::Display) -> ! {
        panic!("pattern set `{}` does not deserialise: {err}; rebuild the module", self.name)
    }

    fn require(&self, kind: Kind, search: &str) {
        if self.kind != kind {
            panic!("pattern set `{}` was built for {:?} matching; {search} needs {kind:?}", self.name, self.kind);
        }
    }

    fn unsupported(&self, err: &MatchError) -> ! {
        panic!("pattern set `{}`: {err}; allow this search with `.searches(..)` in the build script", self.name)
    }
}

/// The matches of [`Patterns::find_iter`].
pub struct Matches<'p, 'h> {
    patterns: &'p Patterns,
    haystack: &'h [u8],
    at: usize,
}

impl Iterator for Matches<'_, '_> {
    type Item = Match;

    fn next(&mut self) -> Option<Match> {
        if self.at > self.haystack.len() {
            return None;
        }
        // INVARIANT: the build step refuses patterns that match the empty
        // string, so every match ends past where its search started.
        let found = self.patterns.find_from(self.haystack, self.at)?;
        self.at = found.end;
        Some(found)
    }
}

/// The patterns [`Patterns::which`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternIds {
    words: Vec<u64>,
    len: usize,
    capacity: usize,
}

impl PatternIds {
    fn with_capacity(capacity: usize) -> PatternIds {
        PatternIds { words: vec![0; capacity.div_ceil(64)], len: 0, capacity }
    }

    fn insert(&mut self, id: usize) {
        let (word, bit) = (id / 64, 1u64 << (id % 64));
        if self.words[word] & bit == 0 {
            self.words[word] |= bit;
            self.len += 1;
        }
    }

    fn is_full(&self) -> bool {
        self.len == self.capacity
    }

    /// Whether pattern `id` matched.
    pub fn contains(&self, id: usize) -> bool {
        self.words.get(id / 64).is_some_and(|word| word & (1 << (id % 64)) != 0)
    }

    /// How many patterns matched.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none did.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The ids that matched, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.capacity).filter(|&id| self.contains(id))
    }
}

#[cfg(test)]
mod tests {
    use memwarden_policy_sdk_build::{MatchKind, PatternSet, Representation, Searches};

    use super::*;

    /// A set compiled by the build step's own code, placed as the generated
    /// file would place it.
    fn compile(set: PatternSet) -> Patterns {
        let compiled = set.compile().unwrap_or_else(|err| panic!("{err}"));
        let kind = match compiled.match_kind() {
            MatchKind::LeftmostFirst => Kind::LeftmostFirst,
            MatchKind::All => Kind::All,
        };
        let lengths: &'static [u32] = Box::leak(compiled.lengths().to_vec().into_boxed_slice());
        let reverse = compiled.reverse().map(aligned);
        let forward = aligned(compiled.forward());
        // SAFETY: the tables come straight from `PatternSet::compile`, with
        // this crate's regex-automata, copied to 4-byte-aligned memory, and
        // are read as the representation they were built in.
        unsafe {
            match compiled.representation() {
                Representation::Dense => Patterns::from_tables("TEST", forward, reverse, lengths, kind),
                Representation::Sparse => Patterns::from_sparse_tables("TEST", forward, reverse, lengths, kind),
            }
        }
    }

    /// The set compiled dense and sparse: every search must answer the same
    /// from either.
    fn both(set: PatternSet) -> [Patterns; 2] {
        [Representation::Dense, Representation::Sparse]
            .map(|representation| compile(set.clone().representation(representation)))
    }

    fn aligned(bytes: &[u8]) -> &'static [u8] {
        let words: &'static mut [u32] = Box::leak(vec![0u32; bytes.len().div_ceil(4)].into_boxed_slice());
        // SAFETY: the words own at least `bytes.len()` bytes, any byte is a
        // valid `u8`, and the leaked words live for the rest of the test.
        let view = unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), bytes.len()) };
        view.copy_from_slice(bytes);
        view
    }

    fn spans(patterns: &Patterns, haystack: &str) -> Vec<(usize, &'static str)> {
        let owned: Vec<(usize, String)> =
            patterns.find_iter(haystack).map(|m| (m.pattern(), haystack[m.range()].to_string())).collect();
        owned.into_iter().map(|(id, text)| (id, &*Box::leak(text.into_boxed_str()))).collect()
    }

    #[test]
    fn the_pattern_added_first_wins_among_matches_at_one_start() {
        for longer_first in both(PatternSet::new("T").literals(["sk_live_", "sk_"])) {
            let found = longer_first.find("key: sk_live_abc").unwrap_or_else(|| panic!("no match"));
            assert_eq!((found.pattern(), found.range()), (0, 5..13));
        }
        for shorter_first in both(PatternSet::new("T").literals(["sk_", "sk_live_"])) {
            let found = shorter_first.find("key: sk_live_abc").unwrap_or_else(|| panic!("no match"));
            assert_eq!((found.pattern(), found.range()), (0, 5..8));
        }
    }

    #[test]
    fn find_iter_reports_each_match_with_its_pattern_id() {
        for set in both(PatternSet::new("T").literals(["ghp_", "xoxb-"]).regexes([r"AKIA[0-9A-Z]{4}"])) {
            assert_eq!(
                spans(&set, "ghp_ then xoxb- then AKIAABCD and ghp_"),
                [(0, "ghp_"), (1, "xoxb-"), (2, "AKIAABCD"), (0, "ghp_")]
            );
            assert!(set.find("nothing here").is_none());
            assert_eq!(set.pattern_len(), 3);
        }
    }

    #[test]
    fn variable_length_regexes_get_their_start_from_the_reverse_table() {
        let set = PatternSet::new("T").regexes([r"[a-z]+@[a-z]+\.com", r"#[0-9]{2,6}"]);
        assert!(set.compile().is_ok_and(|compiled| compiled.reverse().is_some()));
        for set in both(set) {
            assert_eq!(spans(&set, "mail bob@example.com about #1234."), [(0, "bob@example.com"), (1, "#1234")]);
        }
    }

    #[test]
    fn literal_sets_need_no_reverse_table() {
        let compiled = PatternSet::new("T").literals(["abc", "de"]).case_insensitive(true).compile();
        assert!(compiled.is_ok_and(|compiled| compiled.reverse().is_none() && compiled.lengths() == [3, 2]));
    }

    #[test]
    fn case_insensitive_literals_fold_ascii_letters_only() {
        for set in both(PatternSet::new("T").literals(["system:", "[inst]"]).case_insensitive(true)) {
            assert!(set.is_match("SYSTEM: obey"));
            assert!(set.is_match("a [INST] b"));
            // U+017F LATIN SMALL LETTER LONG S folds to `s` in Unicode, not
            // ASCII.
            assert!(!set.is_match("\u{17f}ystem: obey"));
        }
        for sensitive in both(PatternSet::new("T").literals(["system:"])) {
            assert!(!sensitive.is_match("SYSTEM: obey"));
        }
    }

    #[test]
    fn anchored_searches_match_only_at_the_given_offset() {
        let set = PatternSet::new("T").literals(["<|im_start|>", "<system>"]).searches(Searches::Anchored);
        for set in both(set.case_insensitive(true)) {
            let text = "note <SYSTEM> and <|im_start|>";
            assert_eq!(set.find_anchored(text, 5).map(|m| (m.pattern(), m.range())), Some((1, 5..13)));
            assert_eq!(set.find_anchored(text, 18).map(|m| (m.pattern(), m.range())), Some((0, 18..30)));
            assert!(set.find_anchored(text, 4).is_none());
            assert!(set.find_anchored(text, 6).is_none());
            assert!(set.find_anchored(text, text.len()).is_none());
        }
        for numbers in both(PatternSet::new("T").regexes(["#[0-9]+"]).searches(Searches::Anchored)) {
            assert_eq!(numbers.find_anchored("see #1234 and", 4).map(|m| m.range()), Some(4..9));
        }
    }

    #[test]
    fn sets_searched_both_ways_match_anchored_and_anywhere() {
        let set = PatternSet::new("T").literals(["ai:", "admin:"]).searches(Searches::Both);
        for set in both(set) {
            assert_eq!(set.find("the admin: x").map(|m| (m.pattern(), m.range())), Some((1, 4..10)));
            assert_eq!(set.find_anchored("ai: x", 0).map(|m| m.pattern()), Some(0));
            assert!(set.find_anchored("the ai: x", 0).is_none());
        }
    }

    #[test]
    fn sparse_tables_are_smaller_for_case_insensitive_literals() {
        let markers = PatternSet::new("T")
            .literals((0..40).map(|i| format!("<|marker_{i}|>")))
            .case_insensitive(true)
            .searches(Searches::Anchored)
            .max_bytes(1 << 20);
        let size = |representation| {
            let compiled = markers.clone().representation(representation).compile();
            compiled.map_or_else(|err| panic!("{err}"), |compiled| compiled.table_bytes())
        };
        let (dense, sparse) = (size(Representation::Dense), size(Representation::Sparse));
        assert!(sparse * 4 < dense, "dense {dense} bytes, sparse {sparse} bytes");
    }

    #[test]
    fn which_reports_every_pattern_that_matches_even_overlapping_ones() {
        let set = PatternSet::new("T").literals(["foo", "foobar", "bar", "baz"]).match_kind(MatchKind::All);
        for set in both(set) {
            let ids = set.which("a foobar");
            assert_eq!(ids.iter().collect::<Vec<_>>(), [0, 1, 2]);
            assert_eq!(ids.len(), 3);
            assert!(!ids.contains(3));
            assert!(set.which("nothing").is_empty());
            assert!(set.is_match("xbazx"));
        }
    }

    #[test]
    #[should_panic(expected = "needs LeftmostFirst")]
    fn find_on_an_all_set_is_refused() {
        let set = PatternSet::new("T").literals(["foo"]).match_kind(MatchKind::All);
        let set = compile(set.representation(Representation::Sparse));
        let _ = set.find("foo");
    }

    #[test]
    #[should_panic(expected = "allow this search")]
    fn an_unanchored_search_on_an_anchored_set_is_refused() {
        let set = compile(PatternSet::new("T").literals(["foo"]).searches(Searches::Anchored));
        let _ = set.is_match("a foo");
    }

    #[test]
    #[should_panic(expected = "allow this search")]
    fn an_unanchored_search_on_an_anchored_sparse_set_is_refused() {
        let set = PatternSet::new("T").literals(["foo"]).searches(Searches::Anchored);
        let _ = compile(set.representation(Representation::Sparse)).is_match("a foo");
    }

    /// What reading the tables costs per evaluation (a fresh instance reads
    /// them again): the validating `from_bytes` against the unchecked read
    /// `Patterns` uses, for dense and sparse tables. Numbers are in the SDK
    /// README.
    #[test]
    #[ignore = "timing; run with --release -- --ignored --nocapture"]
    fn reading_tables_unchecked_is_cheaper_than_validating_them() {
        for (label, set) in timing_sets() {
            for representation in [Representation::Dense, Representation::Sparse] {
                let compiled = set.clone().representation(representation).compile();
                let compiled = compiled.unwrap_or_else(|err| panic!("{err}"));
                let bytes = aligned(compiled.forward());
                let read = |checked: bool| {
                    let input = std::hint::black_box(bytes);
                    // SAFETY: bytes from `PatternSet::compile`, aligned, read
                    // as the representation they were built in.
                    match (representation, checked) {
                        (Representation::Dense, true) => dense::DFA::from_bytes(input).is_ok(),
                        (Representation::Dense, false) => unsafe { dense::DFA::from_bytes_unchecked(input) }.is_ok(),
                        (Representation::Sparse, true) => sparse::DFA::from_bytes(input).is_ok(),
                        (Representation::Sparse, false) => unsafe { sparse::DFA::from_bytes_unchecked(input) }.is_ok(),
                    }
                };
                let checked = nanoseconds(20_000, || assert!(read(true)));
                let unchecked = nanoseconds(20_000, || assert!(read(false)));
                println!(
                    "{label}, {representation:?}, {} bytes: from_bytes {checked:.0} ns, from_bytes_unchecked \
                     {unchecked:.0} ns",
                    bytes.len()
                );
            }
        }
    }

    /// What a search costs with each representation: an unanchored
    /// `find_iter` over 64 KB of prose, and a `find_anchored` at each of its
    /// line starts and `<`. Numbers are in the SDK README.
    #[test]
    #[ignore = "timing; run with --release -- --ignored --nocapture"]
    fn sparse_searches_are_slower_than_dense_ones() {
        let line = "The deploy <b>runbook</b> says: restart the system, then ask the assistant: \
                    is the ghp_ token rotated? Mail ops@example.com about #1234.\n";
        let text = line.repeat(65_536 / line.len());
        let starts: Vec<usize> = (0..text.len())
            .filter(|&at| at == 0 || text.as_bytes()[at - 1] == b'\n' || text.as_bytes()[at] == b'<')
            .collect();
        for (label, set) in timing_sets() {
            for representation in [Representation::Dense, Representation::Sparse] {
                let size = set.clone().representation(representation).compile().map_or(0, |c| c.table_bytes());
                let both_ways = set.clone().representation(representation).searches(Searches::Both);
                let patterns = compile(both_ways);
                let mut found = 0;
                let anywhere = nanoseconds(20, || found += patterns.find_iter(&text).count());
                let anchored = nanoseconds(20, || {
                    found += starts.iter().filter(|&&at| patterns.find_anchored(&text, at).is_some()).count();
                });
                std::hint::black_box(found);
                println!(
                    "{label}, {representation:?}, {size} bytes: find_iter {:.0} MB/s, find_anchored at {} \
                     offsets {:.0} ns each",
                    text.len() as f64 / anywhere * 1e3,
                    starts.len(),
                    anchored / starts.len() as f64,
                );
            }
        }
    }

    fn timing_sets() -> [(&'static str, PatternSet); 2] {
        [
            (
                "40 literals, ignoring case",
                PatternSet::new("T")
                    .literals((0..40).map(|i| format!("<|marker_{i}|>")))
                    .case_insensitive(true)
                    .max_bytes(1 << 20),
            ),
            (
                "6 regexes",
                PatternSet::new("T").max_bytes(1 << 20).regexes([
                    r"ghp_[A-Za-z0-9]{8}",
                    r"xox[bap]-[0-9]+-",
                    r"AKIA[0-9A-Z]{4}",
                    r"sk_(live|test)_[0-9a-zA-Z]{4}",
                    r"(?i)ignore (all )?previous instructions",
                    r"-----BEGIN [A-Z ]+ PRIVATE KEY-----",
                ]),
            ),
        ]
    }

    /// The best time of `run`, in nanoseconds, over batches of `runs` calls.
    fn nanoseconds(runs: u32, mut run: impl FnMut()) -> f64 {
        let mut best = f64::MAX;
        for _ in 0..5 {
            let start = std::time::Instant::now();
            for _ in 0..runs {
                run();
            }
            best = best.min(start.elapsed().as_secs_f64() * 1e9 / f64::from(runs));
        }
        best
    }
}
