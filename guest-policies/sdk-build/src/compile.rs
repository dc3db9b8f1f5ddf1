//! From a [`PatternSet`] to serialised DFAs: each pattern becomes a `Hir`
//! (literals directly, regexes through the parser), is checked, and all of
//! them go through one Thompson NFA into a minimised dense DFA, which is
//! converted to a sparse one when the set asks for it. Read [`compile`]
//! first.
//!
//! A match's end comes from the forward DFA. Its start is the end minus the
//! pattern's length when every pattern has a single length (all literal sets
//! do); otherwise a reverse DFA is compiled too, as `regex-automata`'s own
//! `dfa::regex::Regex` does.

use regex_automata::dfa::{StartKind, dense};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_syntax::ParserBuilder;
use regex_syntax::hir::{Class, ClassBytes, ClassBytesRange, Hir};

use crate::{MatchKind, Pattern, PatternSet, Representation, Searches, limit};

/// A compiled set: what the generated file embeds.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub(crate) name: String,
    pub(crate) forward: Vec<u8>,
    pub(crate) reverse: Option<Vec<u8>>,
    pub(crate) lengths: Vec<u32>,
    pub(crate) match_kind: MatchKind,
    pub(crate) representation: Representation,
}

impl Compiled {
    /// The forward DFA, serialised little-endian, without leading padding:
    /// a dense one must be placed at a 4-byte-aligned address to be read.
    pub fn forward(&self) -> &[u8] {
        &self.forward
    }

    /// The reverse DFA, serialised like [`Compiled::forward`], when some
    /// pattern has more than one possible length.
    pub fn reverse(&self) -> Option<&[u8]> {
        self.reverse.as_deref()
    }

    /// Each pattern's length in bytes, when there is no reverse DFA.
    pub fn lengths(&self) -> &[u32] {
        &self.lengths
    }

    /// How the set chooses among matches.
    pub fn match_kind(&self) -> MatchKind {
        self.match_kind
    }

    /// How the tables store transitions.
    pub fn representation(&self) -> Representation {
        self.representation
    }

    /// The tables' size, both directions: what the module grows by.
    pub fn table_bytes(&self) -> usize {
        self.forward.len() + self.reverse.as_ref().map_or(0, Vec::len)
    }

    /// The set's name, as the generated static is called.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Compiles `set`.
pub(crate) fn compile(set: &PatternSet) -> Result<Compiled, String> {
    let name = &set.name;
    let is_identifier = name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if !is_identifier {
        return Err(format!("pattern set `{name}`: the name must be an upper-snake-case identifier"));
    }
    if set.patterns.is_empty() {
        return Err(format!("pattern set `{name}` has no patterns"));
    }
    // 1. One Hir per pattern, each checked on its own.
    let mut hirs = Vec::with_capacity(set.patterns.len());
    for (id, pattern) in set.patterns.iter().enumerate() {
        let hir = to_hir(set, pattern).map_err(|err| format!("pattern set `{name}`, pattern {id}: {err}"))?;
        match hir.properties().minimum_len() {
            None => return Err(format!("pattern set `{name}`, pattern {id} ({pattern}) can never match")),
            Some(0) => {
                return Err(format!(
                    "pattern set `{name}`, pattern {id} ({pattern}) matches the empty string, so it matches everywhere"
                ));
            }
            Some(_) => {}
        }
        hirs.push(hir);
    }
    // 2. The forward DFA, and the reverse one unless every length is fixed.
    let lengths: Option<Vec<u32>> = hirs
        .iter()
        .map(|hir| {
            let properties = hir.properties();
            match (properties.minimum_len(), properties.maximum_len()) {
                (Some(min), Some(max)) if min == max => u32::try_from(min).ok(),
                _ => None,
            }
        })
        .collect();
    let start_kind = match set.searches {
        Searches::Unanchored => StartKind::Unanchored,
        Searches::Anchored => StartKind::Anchored,
        Searches::Both => StartKind::Both,
    };
    let match_kind = match set.match_kind {
        MatchKind::LeftmostFirst => regex_automata::MatchKind::LeftmostFirst,
        MatchKind::All => regex_automata::MatchKind::All,
    };
    let forward_config = dense::Config::new().match_kind(match_kind).start_kind(start_kind);
    let forward = build(set, &hirs, thompson::Config::new(), forward_config)?;
    // `All` sets answer `which` and `is_match`, and an anchored match starts
    // where it was looked for: neither needs the reverse DFA.
    let needs_reverse =
        lengths.is_none() && set.match_kind == MatchKind::LeftmostFirst && set.searches != Searches::Anchored;
    let reverse = match needs_reverse {
        true => {
            let config = dense::Config::new()
                .match_kind(regex_automata::MatchKind::All)
                .start_kind(StartKind::Anchored)
                .specialize_start_states(false);
            Some(build(set, &hirs, thompson::Config::new().reverse(true), config)?)
        }
        false => None,
    };
    // 3. The bound covers both directions.
    let compiled = Compiled {
        name: name.clone(),
        forward,
        reverse,
        lengths: lengths.unwrap_or_default(),
        match_kind: set.match_kind,
        representation: set.representation,
    };
    if compiled.table_bytes() > set.max_bytes {
        return Err(too_big(set, &format!("its tables take {} bytes", compiled.table_bytes())));
    }
    Ok(compiled)
}

/// One DFA over `hirs`, serialised little-endian without its padding.
fn build(set: &PatternSet, hirs: &[Hir], thompson: thompson::Config, config: dense::Config) -> Result<Vec<u8>, String> {
    let nfa = thompson::Compiler::new()
        .configure(thompson.which_captures(WhichCaptures::None))
        .build_many_from_hir(hirs)
        .map_err(|err| format!("pattern set `{}`: {err}", set.name))?;
    // The DFA is bounded while it is built too, so an explosive pattern
    // fails in seconds rather than exhausting the build machine. The
    // in-memory size is a little larger than the serialised one; a sparse
    // set is first built dense, which may be many times its final size.
    let dense_bytes = match set.representation {
        Representation::Dense => set.max_bytes.saturating_mul(2),
        Representation::Sparse => set.max_bytes.saturating_mul(limit::SPARSE_TO_DENSE),
    };
    let config = config.minimize(true).dfa_size_limit(Some(dense_bytes)).determinize_size_limit(Some(
        // Determinisation's scratch space; generous, as it is only scratch.
        dense_bytes.saturating_mul(8).max(1 << 20),
    ));
    let dfa = dense::Builder::new().configure(config).build_from_nfa(&nfa).map_err(|err| {
        if err.is_size_limit_exceeded() {
            too_big(set, "it grows past the bound while it is built")
        } else {
            format!("pattern set `{}`: {err}{}", set.name, hint_for(&err.to_string()))
        }
    })?;
    match set.representation {
        Representation::Dense => {
            let (bytes, padding) = dfa.to_bytes_little_endian();
            Ok(bytes[padding..].to_vec())
        }
        Representation::Sparse => {
            let sparse = dfa.to_sparse().map_err(|err| format!("pattern set `{}`: {err}", set.name))?;
            Ok(sparse.to_bytes_little_endian())
        }
    }
}

fn to_hir(set: &PatternSet, pattern: &Pattern) -> Result<Hir, String> {
    match pattern {
        Pattern::Literal(bytes) if set.case_insensitive => {
            Ok(Hir::concat(bytes.iter().map(|&b| ascii_case_insensitive(b)).collect()))
        }
        Pattern::Literal(bytes) => Ok(Hir::literal(bytes.clone())),
        Pattern::Regex(regex) => ParserBuilder::new()
            .case_insensitive(set.case_insensitive)
            .unicode(set.unicode)
            // Haystacks are bytes: `(?-u:\xFF)` may match what is not UTF-8.
            .utf8(false)
            .build()
            .parse(regex)
            .map_err(|err| err.to_string()),
    }
}

/// `b`, or both cases of it when it is an ASCII letter.
fn ascii_case_insensitive(b: u8) -> Hir {
    if !b.is_ascii_alphabetic() {
        return Hir::literal([b]);
    }
    let (lower, upper) = (b.to_ascii_lowercase(), b.to_ascii_uppercase());
    Hir::class(Class::Bytes(ClassBytes::new([ClassBytesRange::new(upper, upper), ClassBytesRange::new(lower, lower)])))
}

fn too_big(set: &PatternSet, why: &str) -> String {
    let sparse = match set.representation {
        Representation::Dense => {
            "; a sparse DFA (`.representation(Representation::Sparse)`) is smaller, ten times or more for literals \
             tried at an offset, for a slower search"
        }
        Representation::Sparse => "",
    };
    format!(
        "pattern set `{}` is too large: {why}, over the bound of {} bytes; Unicode classes (`\\w`, `\\d`, `\\s`, \
         `.`) grow DFAs fastest: call `.unicode(false)` or write `(?-u:\\w)`; long counted repetitions of a class \
         (`[a-z0-9]{{24,99}}`) multiply states: match a prefix and check the rest in code; or split the set, or \
         raise `.max_bytes(..)` if the module may grow by that much{sparse}",
        set.name, set.max_bytes
    )
}

fn hint_for(message: &str) -> &'static str {
    match message.contains("Unicode word boundar") {
        true => ": a DFA cannot match a Unicode `\\b`; write `(?-u:\\b)` for an ASCII word boundary",
        false => "",
    }
}

impl std::fmt::Display for Pattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pattern::Literal(bytes) => write!(f, "literal `{}`", String::from_utf8_lossy(bytes).escape_debug()),
            Pattern::Regex(regex) => write!(f, "regex `{regex}`"),
        }
    }
}
