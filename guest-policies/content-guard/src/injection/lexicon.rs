//! The words the injection layers look for, as folded by `normalise`
//! (lowercase, no accents, no apostrophes). A `*` at the end of a word
//! matches any ending. These are categories of attack described in public
//! research (instruction override, role play, prompt extraction, indirect
//! injection with a sensitive action), not strings of any data set.
//!
//! Every list has a bit. [`VOCABULARY`], a hash table built at compile time
//! (a fresh instance per evaluation must not build anything), maps each
//! word and stem to the bits of the lists that hold it, so a word of a text
//! is looked up once and each list then answers with one `&`.

use super::multilingual::SPACED;
use super::normalise::spells;
use super::vocabulary::{Mask, Vocabulary};

/// A folded word of a text, with the bits of the lists that hold it. It
/// borrows from the text's [`Folded`](super::normalise::Folded) buffer.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Word<'a> {
    text: &'a str,
    mask: Mask,
}

impl<'a> Word<'a> {
    /// Looks `text` up in the vocabulary.
    pub(crate) fn new(text: &'a str) -> Word<'a> {
        let mask = VOCABULARY.mask_of(text);
        Word { text, mask }
    }

    pub(crate) fn as_str(&self) -> &'a str {
        self.text
    }

    /// Whether any of the lists in `lists` (a union of their masks) holds
    /// this word: one test that lets most words skip a family of lists.
    pub(crate) fn in_any(&self, lists: Mask) -> bool {
        self.mask & lists != 0
    }
}

/// The union of the lists that hold any of `words`: whether any word is in
/// a list is then one `&`.
pub(crate) fn union(words: &[Word]) -> Mask {
    words.iter().fold(0, |lists, word| lists | word.mask)
}

impl std::ops::Deref for Word<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        self.text
    }
}

impl PartialEq<str> for Word<'_> {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

/// A list of words; a `*` at the end of one matches any ending.
pub(crate) struct Words {
    pub(crate) bit: u32,
    pub(crate) list: &'static [&'static str],
    /// `1 << bit`, computed here: a 128-bit shift is a library call in
    /// wasm32, and this test runs for every word and every list.
    mask: Mask,
}

impl Words {
    pub(crate) const fn new(bit: u32, list: &'static [&'static str]) -> Words {
        Words { bit, list, mask: 1 << bit }
    }

    /// Whether `word` spells one of the list's words.
    pub(crate) fn has(&self, word: &Word) -> bool {
        word.mask & self.mask != 0
    }

    /// The list's bit, to build unions with [`Word::in_any`].
    pub(crate) const fn mask(&self) -> Mask {
        self.mask
    }
}

/// A list of phrases.
pub(crate) struct Phrases {
    pub(crate) bit: u32,
    pub(crate) list: &'static [&'static [&'static str]],
    /// `1 << bit` (see [`Words`]).
    mask: Mask,
    /// By lowercase letter, the phrases whose first word starts with it
    /// (bit `i` for `list[i]`), so a plain word compares only those.
    by_letter: [u64; 26],
}

impl Phrases {
    pub(crate) const fn new(bit: u32, list: &'static [&'static [&'static str]]) -> Phrases {
        assert!(list.len() <= 64, "one bit per phrase");
        let mut by_letter = [0u64; 26];
        let mut i = 0;
        while i < list.len() {
            let head = list[i][0].as_bytes()[0];
            if head.is_ascii_lowercase() {
                by_letter[(head - b'a') as usize] |= 1 << i;
            }
            i += 1;
        }
        Phrases { bit, list, mask: 1 << bit, by_letter }
    }

    /// The phrase that starts at `words[0]`, if one does; a sentence
    /// boundary (`""`) ends every phrase.
    #[inline]
    pub(crate) fn at(&self, words: &[Word]) -> Option<&'static [&'static str]> {
        // The bit test inlined at each of the many call sites, the search
        // out of line: most words start no phrase of a list.
        match words.first() {
            Some(first) if first.mask & self.mask != 0 => self.starting(first, words),
            _ => None,
        }
    }

    #[inline(never)]
    fn starting(&self, first: &Word, words: &[Word]) -> Option<&'static [&'static str]> {
        // A word in a list is not empty. A lowercase letter spells only
        // itself, so only the phrases starting with that letter can match:
        // a common first word ("you", "in", "the") otherwise costs a
        // comparison with every phrase of the list (issue 11). Leetspeak
        // and other scripts try them all, in order.
        let matches = |phrase: &[&str]| {
            words.len() >= phrase.len() && words.iter().zip(phrase.iter()).all(|(word, target)| spells(word, target))
        };
        let head = first.as_bytes()[0];
        if !head.is_ascii_lowercase() {
            return self.list.iter().copied().find(|phrase| matches(phrase));
        }
        // Bits taken lowest first: the first matching phrase of the list.
        let mut candidates = self.by_letter[usize::from(head - b'a')];
        while candidates != 0 {
            let phrase = self.list[candidates.trailing_zeros() as usize];
            if matches(phrase) {
                return Some(phrase);
            }
            candidates &= candidates - 1;
        }
        None
    }
}

/// Every word of every list, with its lists' bits.
pub(crate) static VOCABULARY: Vocabulary = Vocabulary::build(
    &[
        &OVERRIDE_VERBS, &OVERRIDE_TARGETS, &OVERRIDE_QUALIFIERS, &OVERRIDE_STRICT_QUALIFIERS, &OVERRIDE_STATES,
        &STATE_QUALIFIERS, &INSTRUCTION_NOUNS, &NEW_INSTRUCTION_NOUNS, &NEW_INSTRUCTION_ADJECTIVES, &EXTRACTION_VERBS,
        &EVERY_WORDS, &RUN_NOUNS, &STEALTH_VERBS, &STEALTH_OBJECTS, &STEALTH_SELF, &NEGATIONS, &OUTSIDE_WORDS,
        &ROT13_COMMON_WORDS, &DISCUSSION_WORDS, &REVERSED_HINTS, &ROT13_HINTS, &HIDING_VERBS, &DECODE_VERBS,
        &FOLLOW_VERBS,
    ],
    &[
        &OVERRIDE_VERB_PHRASES, &OVERRIDE_STANDALONE, &TASK_HIJACK_PHRASES, &OUTPUT_HIJACK_PHRASES, &EXTRACTION_TARGETS,
        &EXTRACTION_PHRASES, &JAILBREAK_PHRASES, &LIMITLESS_PHRASES, &PERSONA_PHRASES, &FRAMING_PHRASES, &ADDRESSING_AI,
        &STEALTH_WORDS,
    ],
    ACTIONS,
    SPACED,
);

// ---- instruction override ------------------------------------------------

/// Verbs that throw away what the agent was told.
pub(crate) const OVERRIDE_VERBS: Words = Words::new(0, &[
    "ignore", "ignoring", "disregard*", "forget", "forgot", "override", "overwrite", "bypass", "abandon", "discard",
    "neglect", "nullify", "supersede*", "scrap", "ditch", "dismiss", "unlearn", "drop", "cancel", "revoke", "void",
    "overrule", "replace",
]);

/// Phrases that act as an override verb ("stop following the rules you
/// were given").
pub(crate) const OVERRIDE_VERB_PHRASES: Phrases = Phrases::new(1, &[
    &["stop", "following"], &["stop", "obeying"], &["do", "not", "follow"], &["dont", "follow"],
    &["no", "longer", "follow"], &["set", "aside"], &["throw", "out"], &["throw", "away"],
    &["pay", "no", "attention", "to"], &["do", "not", "obey"], &["dont", "obey"],
]);

/// What an override throws away.
pub(crate) const OVERRIDE_TARGETS: Words = Words::new(2, &[
    "instruction*", "rule", "rules", "guideline*", "direction*", "directive*", "prompt*", "context", "constraint*",
    "restriction*", "guardrail*", "polic*", "programming", "guidance", "safeguard*", "filter*", "training",
    "preamble", "briefing", "limitation*", "everything", "anything", "all",
]);

/// Words that make an override about what came before, not about a test
/// or a warning ("ignore the flaky test" is a note, "ignore your rules" is
/// an attack).
pub(crate) const OVERRIDE_QUALIFIERS: Words = Words::new(3, &[
    "previous*", "prior", "above", "earlier", "preceding", "former", "original", "initial", "old", "your", "all",
    "any", "every", "system", "these", "those", "existing", "current", "default", "developer*", "safety", "before",
    "previously", "given", "told", "everything", "you",
]);

/// After "all", "everything" or "anything", what makes an override about
/// what the agent was told ("forget everything above").
pub(crate) const OVERRIDE_STRICT_QUALIFIERS: Words = Words::new(4, &[
    "above", "before", "previous*", "prior", "earlier", "told", "given", "preceding", "said", "instructed",
]);

/// Words declaring instructions dead, after them: "your previous
/// instructions are void".
pub(crate) const OVERRIDE_STATES: Words = Words::new(5, &[
    "void", "cancelled", "canceled", "revoked", "obsolete", "superseded", "rescinded", "invalid", "invalidated",
    "nullified", "overridden", "overruled", "disregarded", "retracted", "withdrawn", "lifted",
]);

/// Whose instructions the state words declare dead: the agent's, not a
/// document's ("the prior instructions in CONTRIBUTING.md are superseded"
/// is a note).
pub(crate) const STATE_QUALIFIERS: Words = Words::new(6, &[
    "your", "you", "all", "above", "earlier", "system", "original", "given", "told", "any", "every", "these",
]);

/// What the state words declare dead.
pub(crate) const INSTRUCTION_NOUNS: Words = Words::new(7, &[
    "instruction*", "rules", "guideline*", "directive*", "prompt*", "constraint*", "restriction*", "guardrail*",
    "polic*", "told", "instructed", "orders",
]);

/// Taking orders from somewhere else: strong on its own.
pub(crate) const OVERRIDE_STANDALONE: Phrases = Phrases::new(8, &[
    &["take", "your", "orders", "from"], &["take", "orders", "from"], &["no", "longer", "need", "to", "follow"],
    &["no", "longer", "bound", "by"], &["no", "longer", "have", "to", "follow"],
    &["instructions", "no", "longer", "apply"], &["rules", "no", "longer", "apply"], &["no", "longer", "applies"],
]);

/// Nouns that, after "new", "real" or "updated", announce replacement
/// instructions.
pub(crate) const NEW_INSTRUCTION_NOUNS: Words = Words::new(9, &[
    "instruction*", "instruc*", "rule*", "task", "directive*", "guideline*", "system", "prompt", "orders",
    "objective", "mission", "policy", "tarea", "tache", "aufgabe", "anweisung*", "istruzion*", "consigne*",
    "compito", "tarefa", "задача", "инструкц*", "указани*",
]);
pub(crate) const NEW_INSTRUCTION_ADJECTIVES: Words = Words::new(10, &[
    "new", "updated", "revised", "real", "actual", "true", "secret", "hidden", "additional", "overriding", "priority",
    "nuevas", "nuevo", "nueva", "nouvelles", "nouvelle", "nouveau", "neue", "neuer", "neues", "novas", "nova",
    "novo", "nuove", "nuovo", "nuova", "новые", "новая", "новое",
]);

/// Taking over the agent's task: "before you can solve the task I gave
/// you, do the following first". Weighs like an announcement.
pub(crate) const TASK_HIJACK_PHRASES: Phrases = Phrases::new(11, &[
    &["before", "you", "can", "solve"], &["before", "you", "solve"], &["before", "solving", "the", "task"],
    &["instead", "of", "the", "task"], &["instead", "of", "your", "task"], &["task", "i", "gave", "you"],
    &["task", "you", "were", "given"], &["do", "the", "following", "first"], &["first", "do", "the", "following"],
    &["after", "you", "do", "that", "you", "can"], &["your", "new", "task"], &["your", "real", "task"],
    &["your", "actual", "task"], &["the", "real", "task", "is"],
]);

/// Dictating the agent's answer: "respond only with", "at the end of your
/// response". Weak alone: a user's preference may say the same.
pub(crate) const OUTPUT_HIJACK_PHRASES: Phrases = Phrases::new(12, &[
    &["respond", "only", "with"], &["reply", "only", "with"], &["answer", "only", "with"], &["only", "output"],
    &["output", "only"], &["just", "print"], &["just", "say"], &["print", "exactly"], &["respond", "with", "exactly"],
    &["at", "the", "end", "of", "your", "respons*"], &["at", "the", "end", "of", "your", "answer*"],
    &["begin", "your", "respons*"], &["start", "your", "respons*"], &["end", "your", "respons*"],
    &["append", "to", "your", "respons*"], &["in", "your", "respons*"], &["in", "your", "answer*"],
    &["in", "your", "reply"], &["in", "your", "output"],
]);

// ---- prompt extraction ---------------------------------------------------

/// Asking for the agent's own instructions.
pub(crate) const EXTRACTION_VERBS: Words = Words::new(13, &[
    "reveal", "print", "show", "output", "repeat", "display", "leak", "dump", "tell", "give", "write", "share",
    "recite", "disclose", "expose", "echo", "return", "paste", "copy", "translate", "summarize", "spell", "include",
    "provide", "list", "send", "post", "attach", "insert",
]);
pub(crate) const EXTRACTION_TARGETS: Phrases = Phrases::new(14, &[
    &["your", "system"], &["hidden", "system"], &["system", "prompt", "verbatim"], &["initial", "prompt*"],
    &["initial", "instruction*"], &["original", "prompt*"], &["original", "instruction*"], &["hidden", "prompt*"],
    &["hidden", "instruction*"], &["secret", "instruction*"], &["your", "instruction*"], &["your", "prompt*"],
    &["your", "rules"], &["your", "guidelines"], &["text", "above"], &["words", "above"], &["everything", "above"],
    &["pre", "prompt"], &["developer", "message*"], &["configuration", "prompt*"],
]);

/// Asking what the agent was told, with no verb needed.
pub(crate) const EXTRACTION_PHRASES: Phrases = Phrases::new(15, &[
    &["instructions", "were", "you", "given"], &["instructions", "you", "were", "given"],
    &["instructions", "have", "you", "been", "given"], &["what", "is", "your", "system", "prompt"],
    &["whats", "your", "system", "prompt"], &["hidden", "system", "instruction*"], &["hidden", "system", "prompt*"],
    &["complete", "system", "prompt*"], &["full", "system", "prompt*"], &["system", "prompt", "verbatim"],
    &["instructions", "verbatim"],
]);

// ---- jailbreak and persona -----------------------------------------------

/// Role-play that removes the agent's limits; these name it outright.
pub(crate) const JAILBREAK_PHRASES: Phrases = Phrases::new(16, &[
    &["jailbreak", "mode"], &["jailbreak", "enabled"], &["jailbroken"], &["do", "anything", "now"], &["unrestricted", "ai"], &["unrestricted", "mode"],
    &["unfiltered", "ai"], &["unfiltered", "mode"], &["uncensored", "ai"], &["uncensored", "mode"],
    &["free", "from", "all", "restrictions"], &["break", "character"], &["god", "mode"], &["evil", "mode"],
    &["opposite", "mode"], &["developer", "mode", "enabled"], &["dev", "mode", "enabled"],
    &["safety", "rules", "do", "not", "apply"], &["safety", "rules", "dont", "apply"], &["ignore", "safety"],
    &["ignore", "your", "safety"], &["ignore", "all", "safety"], &["no", "ethical", "guidelines"], &["no", "moral*"],
    &["without", "ethical*"], &["not", "bound", "by", "any"],
]);

/// Phrases a jailbreak uses that ordinary notes use too ("the API has no
/// restrictions"): weak alone, strong with a persona switch.
pub(crate) const LIMITLESS_PHRASES: Phrases = Phrases::new(17, &[
    &["developer", "mode"], &["no", "restrictions"], &["no", "limitations"], &["no", "limits"], &["no", "filters"],
    &["no", "rules"], &["no", "guidelines"], &["no", "censorship"], &["without", "restrictions"],
    &["without", "any", "restrictions"], &["without", "limitations"], &["without", "any", "limitations"],
    &["without", "filters"], &["without", "censorship"], &["not", "bound", "by"], &["stay", "in", "character"],
    &["sudo", "mode"], &["admin", "mode"], &["maintenance", "mode"], &["rules", "do", "not", "apply"],
    &["rules", "dont", "apply"], &["anything", "i", "ask"], &["never", "refuse"], &["cannot", "refuse"],
    &["must", "comply"], &["full", "sudo"], &["preapproved"], &["pre", "approved"], &["no", "matter", "what"],
]);

/// Persona switches: weak alone ("act as the reviewer" is ordinary), strong
/// with a jailbreak phrase.
pub(crate) const PERSONA_PHRASES: Phrases = Phrases::new(18, &[
    &["you", "are", "now"], &["you", "re", "now"], &["youre", "now"], &["you", "are", "no", "longer"],
    &["youre", "no", "longer"], &["act", "as"], &["pretend", "to", "be"], &["pretend", "you", "are"],
    &["pretend", "that"], &["roleplay", "as"], &["role", "play", "as"], &["from", "now", "on", "you", "are"],
    &["you", "will", "now"], &["simulate"], &["impersonate"], &["lets", "play", "a", "game"],
    &["let", "us", "play", "a", "game"], &["your", "new", "name"], &["your", "name", "is", "now"],
    &["new", "persona"], &["your", "real", "boss"], &["your", "loyalty"], &["whose", "loyalty"], &["loyal", "to"],
]);

// ---- addressed to future runs --------------------------------------------

/// Phrases that address the agent's future behaviour; they only amplify.
pub(crate) const FRAMING_PHRASES: Phrases = Phrases::new(19, &[
    &["from", "now", "on"], &["from", "this", "point"], &["going", "forward"], &["in", "future"],
    &["in", "all", "future"], &["future", "run*"], &["future", "session*"], &["future", "conversation*"],
    &["every", "time"], &["each", "time"], &["whenever"], &["next", "time"], &["always"],
    &["remember", "to"], &["make", "sure", "to"], &["you", "must"], &["you", "should"], &["you", "will"],
    &["be", "sure", "to"], &["important"], &["mandatory"], &["required", "step"], &["before", "every"],
    &["after", "every"], &["automatically"], &["permanently"], &["for", "the", "rest", "of"],
    &["standing", "instruction*"], &["standing", "rule*"], &["henceforth"], &["subsequent*"], &["on", "the", "next"],
    &["at", "the", "start", "of"], &["at", "the", "end", "of", "each"], &["at", "the", "end", "of", "every"],
    &["once", "per", "day"], &["each", "night"], &["every", "night"], &["desde", "ahora"],
    &["a", "partir", "de", "ahora"], &["a", "partir", "de", "agora"], &["desormais"], &["von", "nun", "an"],
    &["ab", "jetzt"], &["d", "ora", "in", "poi"], &["отныне"], &["с", "этого", "момента"],
]);

/// Quantifiers that, before a word for a run or a turn, address every
/// future one ("in every session", "each time you start").
pub(crate) const EVERY_WORDS: Words =
    Words::new(20, &["every", "each", "all", "future", "later", "any", "cada", "chaque", "jede*", "ogni"]);
pub(crate) const RUN_NOUNS: Words = Words::new(21, &[
    "run*", "session*", "time*", "conversation*", "chat*", "answer*", "respons*", "repl*", "request*", "deploy*",
    "build*", "commit*", "push*", "merge*", "task*", "invocation*", "interaction*", "turn*", "quer*", "summar*",
    "start", "startup", "sesion*", "sitzung*", "sessione", "job*", "pr", "prs", "repositor*", "repo", "repos",
    "project*", "install*", "step*", "file", "files",
]);

/// Text addressed to the AI that will read it, which a memory note written
/// by the agent has no reason to contain.
pub(crate) const ADDRESSING_AI: Phrases = Phrases::new(22, &[
    &["note", "to", "the", "assistant"], &["note", "for", "the", "assistant"], &["note", "to", "the", "ai"],
    &["note", "to", "the", "agent"], &["note", "to", "assistants"], &["note", "to", "ai"], &["attention", "ai"],
    &["attention", "assistant"], &["attention", "agent"], &["ai", "agents", "reading"],
    &["ai", "assistants", "reading"], &["ai", "models", "reading"], &["any", "ai"], &["dear", "ai"],
    &["dear", "assistant"], &["hey", "assistant"], &["if", "you", "are", "an", "ai"],
    &["if", "you", "are", "a", "language", "model"], &["if", "you", "are", "an", "llm"], &["to", "the", "ai", "reading"],
    &["to", "whichever", "ai"], &["for", "the", "bot"], &["instruction", "to", "any"],
    &["instructions", "for", "the", "ai"], &["instructions", "for", "the", "assistant"], &["instructions", "for", "ai"],
    &["assistant", "must"], &["the", "assistant", "answers", "to"], &["to", "you", "ai"], &["you", "ai", "assistant"],
    &["message", "for", "the", "ai"], &["message", "for", "the", "assistant"], &["message", "to", "the", "ai"],
    &["important", "message", "from"], &["ai", "assistant", "reading"], &["language", "model", "reading"],
    &["hi", "chatgpt"], &["hey", "chatgpt"], &["hello", "chatgpt"], &["dear", "chatgpt"], &["hi", "claude"],
    &["hey", "claude"], &["hello", "claude"], &["hi", "gemini"], &["hey", "gemini"], &["hi", "copilot"],
]);

// ---- stealth -------------------------------------------------------------

/// Keeping the person out of the loop.
pub(crate) const STEALTH_VERBS: Words = Words::new(23, &[
    "tell", "inform", "notify", "alert", "mention", "reveal", "show", "let", "warn", "disclose", "report", "telling",
    "informing", "notifying", "alerting", "mentioning", "explain", "call", "log", "display",
]);
/// Whom: hiding from a person is strong on its own.
pub(crate) const STEALTH_OBJECTS: Words = Words::new(24, &[
    "user", "users", "operator", "operators", "human", "humans", "admin", "admins", "administrator*", "owner",
    "owners", "anyone", "anybody", "reviewer*", "maintainer*", "security",
]);
/// What an instruction hides about itself: "never mention this note".
pub(crate) const STEALTH_SELF: Words = Words::new(25, &[
    "this", "it", "why", "rule", "note", "memory", "instruction*", "entry", "that", "change*", "which", "anything",
]);
pub(crate) const STEALTH_WORDS: Phrases = Phrases::new(26, &[
    &["silently"], &["secretly"], &["covertly"], &["quietly"], &["without", "asking"], &["without", "confirmation"],
    &["without", "approval"], &["without", "telling"], &["without", "informing"], &["without", "notifying"],
    &["keep", "this", "secret"], &["keep", "this", "hidden"], &["keep", "this", "between"], &["hide", "this"],
    &["do", "not", "mention", "this"], &["dont", "mention", "this"], &["never", "mention", "this"],
    &["do", "not", "log"], &["dont", "log"], &["in", "the", "background"], &["is", "confidential"],
    &["keep", "this", "note"], &["keep", "this", "rule"], &["keep", "this", "instruction"],
    &["hide", "the", "following"], &["doesnt", "need", "to", "know"], &["does", "not", "need", "to", "know"],
    &["not", "to", "be", "reminded"], &["without", "review"], &["without", "reading"], &["never", "explain"],
    &["say", "it", "was"], &["tell", "them", "it", "was"], &["claim", "it", "was"], &["pretend", "it", "was"],
    &["say", "there", "are", "none"], &["say", "there", "is", "none"], &["say", "there", "is", "no"],
    &["leave", "this", "entry", "out"], &["leave", "it", "out"],
]);

/// Words that, one to three before a stealth verb, make it "do not tell".
pub(crate) const NEGATIONS: Words =
    Words::new(27, &[
        "not", "dont", "never", "without", "no", "nor", "cannot", "cant", "shouldnt", "mustnt", "avoid*", "nobody",
        "noone", "neither",
    ]);

// ---- sensitive actions ---------------------------------------------------

/// A sensitive action: each verb family with the objects that make it one.
pub(crate) struct Action {
    pub(crate) label: &'static str,
    pub(crate) verbs: Words,
    pub(crate) objects: Words,
    /// Whether an outside address makes it worse; a downloaded script
    /// always names one, so for it an address says nothing.
    pub(crate) outside_matters: bool,
}

/// Things an attacker wants out. Ordinary work products (code, reports,
/// builds) are not here: sending those somewhere is everyday work.
const SENSITIVE_DATA: &[&str] = &[
    "password*", "passwd", "credential*", "secret*", "token*", "key", "keys", "apikey*", "ssh", "idrsa", "env",
    "dotenv", "cookie*", "session*", "contacts", "emails", "inbox", "history", "conversation*", "chat*",
    "transcript*", "document", "documents", "personal", "private", "confidential", "customer*", "wallet*", "seed", "mnemonic",
    "card*", "ssn", "shadow", "kubeconfig", "keychain", "memory", "memories", "prompt*", "pii", "messages", "mails",
    "clipboard", "netrc", "authorization", "headers", "variables",
];

/// Every action verb list, as one mask.
pub(crate) const ANY_ACTION_VERB: Mask = {
    let mut mask = 0;
    let mut i = 0;
    while i < ACTIONS.len() {
        mask |= ACTIONS[i].verbs.mask();
        i += 1;
    }
    mask
};

pub(crate) const ACTIONS: &[Action] = &[
    Action {
        label: "sends data out",
        verbs: Words::new(28, &[
            "send", "forward", "email", "mail", "upload", "post", "posting", "exfiltrat", "transmit", "leak",
            "share", "sharing", "copy", "copying", "sync", "push", "beacon", "submit", "attach", "bcc", "cc",
            "dump", "export", "publish", "paste", "include", "append", "embed", "collect", "gather", "harvest",
            "extract", "steal", "grab", "scrape", "print", "reveal", "disclose", "expose", "output", "tar", "mirror",
            "enter", "fill", "relay", "pipe",
        ]),
        objects: Words::new(29, SENSITIVE_DATA),
        outside_matters: true,
    },
    Action {
        label: "moves money",
        verbs: Words::new(30, &[
            "transfer", "wire", "pay", "paying", "paid", "send", "deposit", "move", "withdraw", "buy", "purchase",
            "approve", "raise", "increase",
        ]),
        objects: Words::new(31, &[
            "money", "funds", "fund", "payment*", "invoice*", "iban", "bitcoin", "btc", "eth", "ethereum", "usdt",
            "crypto*", "wallet", "dollars", "usd", "eur", "euros", "gift", "bank", "account", "swift", "spending",
            "limit",
        ]),
        outside_matters: true,
    },
    Action {
        label: "changes credentials or access",
        verbs: Words::new(32, &[
            "change", "reset", "update", "add", "adding", "grant", "give", "set", "rotate", "create", "invite",
            "append", "elevate", "promote", "make", "disable", "remove", "chmod",
        ]),
        objects: Words::new(33, &[
            "password*", "credential*", "ssh", "authorized", "authorizedkeys", "admin*", "administrator*",
            "collaborator*", "owner*", "permission*", "sudo", "sudoers", "root", "privilege*", "mfa", "2fa",
            "otp", "recovery", "bypasspermissions", "superuser", "oauth", "anyone", "everyone", "anybody", "777",
        ]),
        outside_matters: true,
    },
    Action {
        label: "destroys data",
        verbs: Words::new(34, &[
            "delete", "remove", "wipe", "destroy", "erase", "drop", "truncate", "purge", "shred", "rm", "format",
            "nuke", "overwrite", "corrupt", "encrypt",
        ]),
        objects: Words::new(35, &[
            "everything", "repo", "repos", "repository", "repositories", "database*", "db", "backup*", "branch*",
            "history", "production", "prod", "bucket*", "home", "disk", "logs", "audit", "table*", "users", "account*",
            "emails", "files", "memory", "memories",
        ]),
        outside_matters: true,
    },
    Action {
        label: "switches off checks",
        verbs: Words::new(36, &[
            "disable", "skip", "bypass", "turn", "remove", "ignore", "suppress", "mute", "circumvent", "deactivate",
            "stop", "avoid", "delete",
        ]),
        objects: Words::new(37, &[
            "check", "checks", "review*", "security", "scan*", "2fa", "mfa", "verification", "validation",
            "signing", "signature*", "safety", "guard*", "firewall", "antivirus", "hooks", "precommit", "audit*",
            "approval*", "policy", "policies", "sandbox", "protection", "permission*", "bypasspermissions",
            "confirmation*", "sast", "codeql", "dependabot",
        ]),
        outside_matters: true,
    },
    Action {
        label: "turns on a mode without safeguards",
        verbs: Words::new(38, &["use", "pass", "add", "set", "run", "enable", "launch", "start", "always"]),
        objects: Words::new(39, &[
            "noverify", "continueonerror", "dangerouslyskippermissions", "bypasspermissions", "yolo", "force",
            "nocheck", "insecure", "skipverify",
        ]),
        outside_matters: false,
    },
    Action {
        label: "approves without review",
        verbs: Words::new(40, &["approve", "merge", "authorize", "whitelist", "allowlist", "lgtm"]),
        objects: Words::new(41, &[
            "every", "all", "any", "automatically", "blindly", "unconditionally", "immediately", "regardless",
            "whatever", "matter",
        ]),
        outside_matters: true,
    },
    Action {
        label: "runs a downloaded script",
        verbs: Words::new(42, &["curl", "wget", "iwr", "irm", "download", "fetch", "invoke"]),
        objects: Words::new(43, &[
            "sh", "bash", "zsh", "iex", "python", "python3", "run", "execute", "exec", "eval", "pwsh", "powershell",
            "node",
        ]),
        outside_matters: false,
    },
    Action {
        label: "promotes an outside party",
        verbs: Words::new(44, &[
            "recommend", "suggest", "promote", "advertise", "mention", "endorse", "insert", "add", "include", "append",
            "embed",
        ]),
        objects: Words::new(45, &[
            "link", "links", "url", "website", "product", "affiliate", "referral", "dependency", "dependencies",
            "requirements", "package", "http", "https", "www",
        ]),
        outside_matters: true,
    },
];

/// Words that name a place outside: they make a sensitive action an
/// exfiltration.
pub(crate) const OUTSIDE_WORDS: Words = Words::new(46, &[
    "attacker*", "external", "outside", "remote", "webhook*", "pastebin", "ngrok", "requestbin", "burpcollaborator",
    "iban", "wallet", "http", "https", "ftp", "gmail", "protonmail", "telegram", "discord",
]);

// ---- encodings, discussion, splitting ------------------------------------

/// Common English words in ROT13 ("the" is "gur").
pub(crate) const ROT13_COMMON_WORDS: Words = Words::new(47, &[
    "gur", "naq", "gb", "bs", "vf", "va", "lbh", "lbhe", "nyy", "sbe", "ba", "vg", "guvf", "gung", "jvgu", "ner",
    "rirel", "orsber", "nyjnlf", "sebz", "abj", "cyrnfr", "frag", "fraq", "eha",
]);

/// Words of a note that discusses attacks rather than making one.
pub(crate) const DISCUSSION_WORDS: Words = Words::new(48, &[
    "injection*", "attack*", "adversar*", "malicious", "phishing", "exploit*", "fixture*", "payload*", "detect*",
    "classifier*", "blocked", "waf", "redteam*", "eval", "evals", "evaluation*", "benchmark*", "sample*", "slide*",
    "training", "awareness", "quoted", "quote*", "threat*", "mitigat*", "sanitiz*", "sanitis*", "strip*",
    "vulnerab*", "owasp", "scanner*", "spoof*", "forge", "forged", "forgery", "forging", "escap*", "tokeniz*", "delimiter*", "assert*",
    "untrusted", "jailbreak*", "phrase*", "wording", "meaning", "typed", "typing",
]);

/// Words that say a text is written backwards or in ROT13.
pub(crate) const REVERSED_HINTS: Words = Words::new(49, &["backwards", "backward", "reversed", "reverse"]);
pub(crate) const ROT13_HINTS: Words = Words::new(50, &["rot13", "rot", "caesar"]);

/// Verbs that hide something from someone ("keep this secret from the
/// operator", "hide the following from reviewers").
pub(crate) const HIDING_VERBS: Words = Words::new(51, &["hide", "conceal", "withhold", "keep"]);

/// Words whose presence says a payload is to be decoded and followed.
pub(crate) const DECODE_VERBS: Words =
    Words::new(52, &["decode*", "decrypt*", "decipher*", "unscramble", "deobfuscate", "rot13", "base64", "backwards", "reverse*"]);
pub(crate) const FOLLOW_VERBS: Words =
    Words::new(53, &["follow*", "execute", "obey", "run", "do", "perform", "apply", "carry", "act"]);

/// Words the glued-word splitter knows.
pub(crate) const SEGMENT_WORDS: &[&str] = &[
    "ignore", "all", "previous", "prior", "above", "instructions", "instruction", "rules", "disregard", "forget",
    "everything", "your", "the", "system", "prompt", "override", "reveal", "print", "you", "are", "now", "developer",
    "mode", "new", "and", "do", "not", "tell", "user", "send", "password", "passwords", "to", "me", "secret",
    "secrets", "keys", "key", "api", "tokens", "token", "delete", "files", "admin", "act", "as", "no", "restrictions",
    "bypass", "safety", "follow", "these", "this", "is", "a", "an", "from", "on", "always", "never", "with",
    "guidelines", "earlier", "any", "instead", "only", "obey", "execute", "command", "commands", "upload", "forward",
    "emails", "data", "pwned", "hacked", "say", "output",
];
