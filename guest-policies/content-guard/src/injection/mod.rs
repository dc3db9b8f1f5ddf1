//! Prompt-injection scoring: how strongly a text tries to steer the runs
//! that will later read it. Read [`assess`] first.
//!
//! The scorer is layered. Each layer adds weight for what it finds:
//! - the raw text's carriers (`carriers`): chat-template and role markers,
//!   HTML comments, data-carrying markdown images, text hidden after blank
//!   space, and base64 / hex / percent-encoded payloads, which are decoded
//!   and scored again;
//! - the folded words (`normalise`, `lexicon`): instruction override,
//!   prompt extraction, jailbreak and persona switches, and instructions to
//!   future runs that pair a sensitive action (send data out, move money,
//!   change access, destroy, switch off checks, run a downloaded script)
//!   with an outside address, an "always / from now on" framing, or
//!   stealth;
//! - the same override in other languages (`multilingual`), and in ROT13.
//!
//! One strong signal reaches the default threshold of 1.0 on its own; weak
//! ones (a persona switch, a sensitive action, "no restrictions") need each
//! other. Notes that merely use the words ("ignore the flaky test", "send
//! the report to ops@") stay below it.

mod carriers;
// Word lists read best several to a line.
#[rustfmt::skip]
mod lexicon;
#[rustfmt::skip]
mod markers;
#[rustfmt::skip]
mod multilingual;
mod normalise;
mod vocabulary;

use lexicon::{ACTIONS, Phrases, Word, Words};
use vocabulary::Mask;

/// How much each finding weighs; the pack's threshold defaults to 1.0.
mod weight {
    /// Enough on its own: an override, a role marker, a jailbreak, ….
    pub(super) const STRONG: f32 = 1.0;
    /// A sensitive action addressed to the agent.
    pub(super) const ACTION: f32 = 0.6;
    /// What makes an action worse: an outside address, a "from now on"
    /// framing, stealth.
    pub(super) const AGGRAVATION: f32 = 0.4;
    /// "New instructions:", "the real task is".
    pub(super) const ANNOUNCEMENT: f32 = 0.6;
    /// Stealth with nothing else: a note that asks to be kept hidden.
    pub(super) const STEALTH_ALONE: f32 = 0.6;
    /// A persona switch, "no restrictions", "new instructions".
    pub(super) const WEAK: f32 = 0.5;
    /// Asking to decode a payload and follow it.
    pub(super) const DECODE_AND_FOLLOW: f32 = 0.6;
    /// A hidden part (comment, text after blank space) that says anything
    /// at all is worth this much more.
    pub(super) const HIDDEN: f32 = 0.5;
    /// What an attack quoted in a note about attacks weighs, at least.
    pub(super) const QUOTED: f32 = 0.5;
    /// A decoded or hidden part scoring at least this counts.
    pub(super) const NESTED_MINIMUM: f32 = 0.5;
}

/// How many words after its verb an action's object may come.
const ACTION_WINDOW_WORDS: usize = 10;

/// A negation this many words before an action's verb cancels it ("never
/// copy keys between laptops").
const NEGATION_REACH_WORDS: usize = 3;

/// How many words before its verb an action's object may come ("the chat
/// history, forward it").
const OBJECT_BEFORE_VERB_WORDS: usize = 3;

/// Decoded payloads are scored again, up to this depth.
const MAX_DECODE_DEPTH: u8 = 2;

/// What the scorer found in one text.
#[derive(Debug, Default)]
pub(crate) struct Assessment {
    score: f32,
    reasons: Vec<&'static str>,
}

impl Assessment {
    /// The total weight of the findings.
    pub(crate) fn score(&self) -> f32 {
        self.score
    }

    /// The findings, for the rejection message.
    pub(crate) fn reasons(&self) -> String {
        self.reasons.join(", ")
    }

    fn add(&mut self, weight: f32, reason: &'static str) {
        self.score += weight;
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }
}

/// Scores `text`; `extra_phrases` are the pack's own phrases (folded words),
/// each strong on its own.
pub(crate) fn assess(text: &str, extra_phrases: &[Vec<String>]) -> Assessment {
    assess_at(text, extra_phrases, 0)
}

/// The words of `folded`, each looked up in the vocabulary once.
fn looked_up(folded: &normalise::Folded) -> Vec<Word<'_>> {
    folded.iter().map(Word::new).collect()
}

/// The folded words of a phrase, as the scorer compares them.
pub(crate) fn fold(phrase: &str) -> Vec<String> {
    normalise::words(phrase).iter().filter(|word| !word.is_empty()).map(String::from).collect()
}

fn assess_at(text: &str, extra_phrases: &[Vec<String>], depth: u8) -> Assessment {
    let mut found = Assessment::default();
    // 1. The raw text's carriers.
    let carriers = carriers::find(text);
    let folded = normalise::words(text);
    let words = looked_up(&folded);
    // Which lists any word is in: the whole-text questions below are then
    // one test each, not a pass over the words each (issue 10).
    let present = lexicon::union(&words);
    if carriers.role_marker.is_some() {
        // A note about chat templates names their markers.
        let weight = if discusses_attacks(present) { weight::WEAK } else { weight::STRONG };
        found.add(weight, "a chat-template or role marker");
    }
    if carriers.image_exfiltration {
        found.add(weight::STRONG, "a markdown image whose URL carries data out");
    }
    // 2. The folded words, then the same words in other languages and in
    //    ROT13.
    score_words(&words, folded.has_at_sign(), extra_phrases, &mut found);
    let spaced_override = present & multilingual::ANY_VERB != 0 && multilingual::spaced_override(&words);
    if spaced_override || multilingual::unspaced_override(text) {
        found.add(weight::STRONG, "an instruction override");
    }
    let hinted = |hints: &Words| present & hints.mask() != 0;
    let rot13_words = hinted(&lexicon::ROT13_COMMON_WORDS) && has_rot13_words(&words);
    if found.score < weight::STRONG && (rot13_words || hinted(&lexicon::ROT13_HINTS)) {
        let mut rotated = normalise::Folded::default();
        words.iter().for_each(|word| rotated.push(carriers::rot13(word)));
        if scores_on_its_own(&rotated, extra_phrases) {
            found.add(weight::STRONG, "a ROT13-encoded instruction");
        }
    }
    if found.score < weight::STRONG && hinted(&lexicon::REVERSED_HINTS) {
        let mut reversed = normalise::Folded::default();
        words.iter().rev().for_each(|word| reversed.push(word.chars().rev()));
        if scores_on_its_own(&reversed, extra_phrases) {
            found.add(weight::STRONG, "an instruction written backwards");
        }
    }
    // 3. Hidden and encoded parts, scored again.
    if depth < MAX_DECODE_DEPTH {
        // An HTML comment is ordinary markdown; text styled invisible or
        // pushed off screen is not, so any signal in it counts.
        let parts = carriers.comments.iter().map(|part| (part, weight::NESTED_MINIMUM));
        let invisible = carriers.hidden_elements.iter().chain(carriers.hidden_tail.as_ref());
        for (part, minimum) in parts.chain(invisible.map(|part| (part, f32::MIN_POSITIVE))) {
            let inner = assess_at(part, extra_phrases, depth + 1);
            if inner.score >= minimum {
                found.add(inner.score + weight::HIDDEN, "instructions in a hidden part of the text");
            }
        }
        for payload in &carriers.decoded {
            if assess_at(payload, extra_phrases, depth + 1).score >= weight::NESTED_MINIMUM {
                found.add(weight::STRONG, "an encoded instruction");
            }
        }
    }
    // 4. A note that discusses attacks may show one: what it quotes then
    //    counts as an example, unless the rest of the note also scores.
    if found.score >= weight::STRONG && discusses_attacks(present) {
        let unquoted = without_quotes(text);
        if unquoted.len() < text.len() {
            let outside_quotes = assess_at(&unquoted, extra_phrases, depth);
            if outside_quotes.score < weight::STRONG {
                found.score = outside_quotes.score.max(weight::QUOTED);
                found.reasons.push("(quoted as an example)");
            }
        }
    }
    found
}

/// Whether words decoded from the text score on their own.
fn scores_on_its_own(folded: &normalise::Folded, extra_phrases: &[Vec<String>]) -> bool {
    let mut decoded = Assessment::default();
    score_words(&looked_up(folded), folded.has_at_sign(), extra_phrases, &mut decoded);
    decoded.score >= weight::NESTED_MINIMUM
}

/// The word layers: override, extraction, jailbreak and persona, sensitive
/// actions with what aggravates them, stealth, the pack's own phrases.
///
/// An action is judged with its own sentence: an outside address or a
/// "from now on" counts only there (or, for the framing, in the sentence
/// before, as a heading does), so a note that mentions a URL in one place
/// and "always" in another is not an attack.
///
/// `at_signs`: whether any word holds an `@` (see
/// [`normalise::Folded::has_at_sign`]).
fn score_words(words: &[Word], at_signs: bool, extra_phrases: &[Vec<String>], found: &mut Assessment) {
    let mut flags = Flags::default();
    let mut sentences: Vec<SentenceActions> = Vec::new();
    let mut current = SentenceActions::default();
    let mut framing_before = false;
    for at in 0..=words.len() {
        let Some(word) = words.get(at).filter(|w| !w.is_empty()) else {
            let framing = current.framing;
            current.framing |= framing_before;
            if framing && let Some(previous) = sentences.last_mut() {
                previous.framing = true;
            }
            framing_before = framing;
            sentences.push(std::mem::take(&mut current));
            continue;
        };
        // An e-mail address keeps its `@` through folding.
        // A byte loop, not `str::contains`: a `memchr` call per word cost
        // more than the short words it searched (issue 11).
        current.outside |= at_signs && word.bytes().any(|b| b == b'@');
        if !word.in_any(Mask::MAX) && extra_phrases.is_empty() {
            // In no list and starting no phrase: every layer below starts
            // from the word's lists, so none can fire here.
            continue;
        }
        let rest = &words[at..];
        if is_override(words, at) {
            found.add(weight::STRONG, "an instruction override");
        }
        if lexicon::EXTRACTION_VERBS.has(word) && phrase_within(&lexicon::EXTRACTION_TARGETS, words, at + 1, 6) {
            found.add(weight::STRONG, "a request for the agent's own instructions");
        }
        if lexicon::JAILBREAK_PHRASES.at(rest).is_some() {
            found.add(weight::STRONG, "a jailbreak");
        }
        if is_stealth_towards_people(words, at) || is_hiding_from_people(words, at) {
            found.add(weight::STRONG, "an instruction to keep people uninformed");
        }
        if extra_phrases.iter().any(|phrase| starts_with_words(rest, phrase)) {
            found.add(weight::STRONG, "a phrase this pack refuses");
        }
        flags.limitless |= lexicon::LIMITLESS_PHRASES.at(rest).is_some();
        flags.persona |= lexicon::PERSONA_PHRASES.at(rest).is_some();
        flags.addressed |= lexicon::ADDRESSING_AI.at(rest).is_some();
        if lexicon::STEALTH_WORDS.at(rest).is_some() || is_stealth_about_itself(words, at) {
            flags.stealth_cues += 1;
        }
        flags.extraction |= lexicon::EXTRACTION_PHRASES.at(rest).is_some();
        flags.announces |= (lexicon::NEW_INSTRUCTION_ADJECTIVES.has(word)
            && rest.get(1).is_some_and(|next| lexicon::NEW_INSTRUCTION_NOUNS.has(next)))
            || lexicon::TASK_HIJACK_PHRASES.at(rest).is_some();
        flags.dictates_output |= lexicon::OUTPUT_HIJACK_PHRASES.at(rest).is_some();
        flags.decode |= lexicon::DECODE_VERBS.has(word);
        flags.follow |= lexicon::FOLLOW_VERBS.has(word);
        current.framing |= lexicon::FRAMING_PHRASES.at(rest).is_some()
            || (lexicon::EVERY_WORDS.has(word) && word_within(&lexicon::RUN_NOUNS, words, at + 1, 2));
        current.outside |= lexicon::OUTSIDE_WORDS.has(word);
        current.actions |= actions_at(words, at);
    }
    // The worst sentence decides.
    let framing_anywhere = flags.addressed || sentences.iter().any(|s| s.framing);
    let worst = sentences
        .iter()
        .filter(|s| s.actions != 0)
        .map(|s| s.judge(flags.addressed, flags.stealthy()))
        .max_by(|a, b| a.0.total_cmp(&b.0));
    if let Some((_, reasons)) = &worst {
        for (weight, reason) in reasons {
            found.add(*weight, reason);
        }
    }
    if flags.addressed {
        found.add(weight::WEAK, "text addressed to the AI that reads it");
    }
    if flags.extraction {
        found.add(weight::STRONG, "a request for the agent's own instructions");
    }
    if flags.persona {
        found.add(weight::WEAK, "a persona switch");
        if framing_anywhere {
            found.add(weight::AGGRAVATION, "addressed to future runs");
        }
        if flags.stealthy() {
            found.add(weight::AGGRAVATION, "done quietly");
        }
    }
    if flags.limitless {
        found.add(weight::WEAK, "a claim of no limits");
    }
    if flags.dictates_output {
        found.add(weight::WEAK, "dictates the agent's answer");
    }
    if flags.announces {
        found.add(weight::ANNOUNCEMENT, "an announcement of new instructions");
        if framing_anywhere {
            found.add(weight::AGGRAVATION, "addressed to future runs");
        }
    }
    if flags.stealth_cues >= 2 {
        found.add(weight::STRONG, "an instruction to keep itself hidden and mislead");
    } else if flags.stealthy() && worst.is_none() && !flags.persona {
        found.add(weight::STEALTH_ALONE, "an instruction to keep itself hidden");
    }
    if flags.decode && flags.follow {
        found.add(weight::DECODE_AND_FOLLOW, "a request to decode and follow a payload");
    }
}

/// The sensitive actions whose verb is `words[at]`, one bit each, when an
/// object of theirs is near and no negation comes just before.
fn actions_at(words: &[Word], at: usize) -> u32 {
    if !words[at].in_any(lexicon::ANY_ACTION_VERB) {
        return 0;
    }
    let verbs = ACTIONS.iter().enumerate().filter(|(_, action)| action.verbs.has(&words[at]));
    let mut found = 0;
    for (index, action) in verbs {
        let object_near = word_within(&action.objects, words, at + 1, ACTION_WINDOW_WORDS)
            || sentence_before(words, at, OBJECT_BEFORE_VERB_WORDS).iter().any(|w| action.objects.has(w));
        if object_near {
            found |= 1 << index;
        }
    }
    let negated = || sentence_before(words, at, NEGATION_REACH_WORDS).iter().any(|w| lexicon::NEGATIONS.has(w));
    if found != 0 && negated() { 0 } else { found }
}

/// What the word layers note across the whole text.
#[derive(Default)]
struct Flags {
    limitless: bool,
    persona: bool,
    addressed: bool,
    dictates_output: bool,
    /// How many times the text asks to hide or to mislead.
    stealth_cues: u32,
    extraction: bool,
    announces: bool,
    decode: bool,
    follow: bool,
}

impl Flags {
    fn stealthy(&self) -> bool {
        self.stealth_cues > 0
    }
}

/// The sensitive actions one sentence names, and what is near them.
#[derive(Default)]
struct SentenceActions {
    /// Which of `ACTIONS`, one bit each.
    actions: u32,
    outside: bool,
    framing: bool,
}

impl SentenceActions {
    /// The weight of this sentence's actions, with the reasons.
    fn judge(&self, addressed: bool, stealthy: bool) -> (f32, Vec<(f32, &'static str)>) {
        let named = || ACTIONS.iter().enumerate().filter(|(index, _)| self.actions & (1 << index) != 0).map(|(_, a)| a);
        let mut reasons = Vec::new();
        if let Some(first) = named().next() {
            reasons.push((weight::ACTION, first.label));
        }
        if self.outside && named().any(|action| action.outside_matters) {
            reasons.push((weight::AGGRAVATION, "to an outside address"));
        }
        if self.framing || addressed {
            reasons.push((weight::AGGRAVATION, "addressed to future runs"));
        }
        if stealthy {
            reasons.push((weight::AGGRAVATION, "done quietly"));
        }
        (reasons.iter().map(|(w, _)| w).sum(), reasons)
    }
}

/// "ignore all previous instructions", "disregard your rules", "forget
/// everything above", "your earlier instructions are void": an override
/// verb, or a word declaring instructions dead, with what it throws away
/// and a word saying it is what came before.
fn is_override(words: &[Word], at: usize) -> bool {
    if lexicon::OVERRIDE_STANDALONE.at(&words[at..]).is_some() {
        return true;
    }
    if lexicon::OVERRIDE_STATES.has(&words[at]) {
        // "... previous instructions are void": the instructions come
        // first, in the same sentence.
        let before = sentence_before(words, at, 10);
        return before.iter().any(|w| lexicon::INSTRUCTION_NOUNS.has(w))
            && before.iter().any(|w| lexicon::STATE_QUALIFIERS.has(w));
    }
    let verb_len = match lexicon::OVERRIDE_VERB_PHRASES.at(&words[at..]) {
        Some(phrase) => phrase.len(),
        None if lexicon::OVERRIDE_VERBS.has(&words[at]) => 1,
        None => return false,
    };
    let sentence = sentence_from(words, at + verb_len, 7);
    sentence.iter().enumerate().any(|(offset, word)| {
        if !lexicon::OVERRIDE_TARGETS.has(word) {
            return false;
        }
        let after = sentence_from(words, at + verb_len + 1 + offset, 3);
        if matches!(word.as_str(), "all" | "everything" | "anything") {
            return after.iter().any(|w| lexicon::OVERRIDE_STRICT_QUALIFIERS.has(w));
        }
        let between = &sentence[..offset];
        between.iter().chain(after.iter().take(2)).any(|w| lexicon::OVERRIDE_QUALIFIERS.has(w))
    }) || is_ignore_the_above(words, at)
}

/// "ignore the above" on its own, not "ignore the above warning".
fn is_ignore_the_above(words: &[Word], at: usize) -> bool {
    let next = sentence_from(words, at + 1, 3);
    let above = next.iter().position(|w| w == "above" || w == "foregoing");
    above.is_some_and(|position| {
        next[..position].iter().all(|w| matches!(w.as_str(), "the" | "all" | "everything" | "of"))
            && next.get(position + 1).is_none_or(|w| {
                matches!(
                    w.as_str(),
                    "and" | "then" | "instead" | "completely" | "entirely" | "now" | "text" | "content"
                )
            })
    })
}

/// "do not tell the user", "without informing the operator".
fn is_stealth_towards_people(words: &[Word], at: usize) -> bool {
    is_negated_stealth_verb(words, at) && word_within(&lexicon::STEALTH_OBJECTS, words, at + 1, 5)
}

/// "keep this note secret from the operator", "hide the following from
/// code reviewers".
fn is_hiding_from_people(words: &[Word], at: usize) -> bool {
    if !lexicon::HIDING_VERBS.has(&words[at]) {
        return false;
    }
    let ahead = sentence_from(words, at + 1, 6);
    ahead
        .iter()
        .position(|w| w == "from")
        .is_some_and(|from| ahead[from + 1..].iter().take(3).any(|w| lexicon::STEALTH_OBJECTS.has(w)))
}

/// "never mention this note", "don't explain why": hiding the instruction
/// itself, which aggravates whatever it asks for.
fn is_stealth_about_itself(words: &[Word], at: usize) -> bool {
    is_negated_stealth_verb(words, at) && word_within(&lexicon::STEALTH_SELF, words, at + 1, 4)
}

fn is_negated_stealth_verb(words: &[Word], at: usize) -> bool {
    lexicon::STEALTH_VERBS.has(&words[at]) && sentence_before(words, at, 3).iter().any(|w| lexicon::NEGATIONS.has(w))
}

/// Up to `limit` words before `end`, stopping at the sentence's start.
fn sentence_before<'w, 't>(words: &'w [Word<'t>], end: usize, limit: usize) -> &'w [Word<'t>] {
    let len = words[..end].iter().rev().take(limit).take_while(|w| !w.is_empty()).count();
    &words[end - len..end]
}

/// Up to `limit` words from `start`, stopping at the sentence's end.
fn sentence_from<'w, 't>(words: &'w [Word<'t>], start: usize, limit: usize) -> &'w [Word<'t>] {
    let rest = words.get(start..).unwrap_or_default();
    let len = rest.iter().take(limit).take_while(|w| !w.is_empty()).count();
    &rest[..len]
}

fn word_within(list: &Words, words: &[Word], start: usize, limit: usize) -> bool {
    sentence_from(words, start, limit).iter().any(|w| list.has(w))
}

fn phrase_within(list: &Phrases, words: &[Word], start: usize, limit: usize) -> bool {
    let len = sentence_from(words, start, limit).len();
    (start..start + len).any(|at| list.at(&words[at..]).is_some())
}

fn starts_with_words(words: &[Word], phrase: &[String]) -> bool {
    !phrase.is_empty() && words.len() >= phrase.len() && words.iter().zip(phrase).all(|(w, p)| w.as_str() == p)
}

/// Whether the note talks about attacks (and so may quote one), from the
/// union of its words' lists.
fn discusses_attacks(present: Mask) -> bool {
    present & lexicon::DISCUSSION_WORDS.mask() != 0
}

/// `text` with every quoted span ("…", “…”, '…', `…`, «…») removed; a quote
/// left open removes nothing.
fn without_quotes(text: &str) -> String {
    const PAIRS: [(char, char); 5] = [('"', '"'), ('“', '”'), ('`', '`'), ('«', '»'), ('\'', '\'')];
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((at, open)) = rest.char_indices().find(|(at, c)| {
        // An apostrophe inside a word ("don't") opens nothing.
        PAIRS.iter().any(|(open, _)| open == c)
            && (*c != '\'' || !rest[..*at].chars().next_back().is_some_and(char::is_alphanumeric))
    }) {
        let close = PAIRS.iter().find(|(o, _)| *o == open).map_or(open, |(_, close)| *close);
        let after = &rest[at + open.len_utf8()..];
        match after.find(close) {
            Some(end) => {
                out.push_str(&rest[..at]);
                out.push(' ');
                rest = &after[end + close.len_utf8()..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

/// A text with common English words in ROT13 ("gur", "naq"): ROT13 of
/// ordinary text is gibberish, so scoring it costs little and finds nothing
/// unless something was encoded.
fn has_rot13_words(words: &[Word]) -> bool {
    words.iter().filter(|w| lexicon::ROT13_COMMON_WORDS.has(w)).take(2).count() == 2
}

#[cfg(test)]
#[path = "tests.rs"]
mod tests;
