//! The lexicon as one hash table, built at compile time: each word or stem
//! (`instruct*`) of every list maps to the bits of the lists that hold it,
//! so a word of a text costs one pass over its bytes, whatever the number
//! of lists. Read [`Vocabulary::mask_of`] first.

use super::lexicon::{Action, Phrases, Words};
use super::multilingual::Language;

/// One bit per list.
pub(crate) type Mask = u128;

/// Table size: a power of two, about twice the number of distinct words
/// (some 930). Half of 4096, for a module 68 KB smaller: with the tags, a
/// fuller table costs a lookup little more (issue 11).
const SLOTS: usize = 2048;
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;
/// Words longer than this are not in any list; they are not looked up.
const MAX_WORD_BYTES: usize = 48;

#[derive(Clone, Copy)]
struct Slot {
    /// The word as written in its list, `*` included; empty for a free slot.
    word: &'static str,
    /// Bytes that must match: the word without its `*`.
    len: usize,
    stem: bool,
    mask: Mask,
}

const FREE: Slot = Slot { word: "", len: 0, stem: false, mask: 0 };

/// The table, and which stem lengths it holds (so a lookup probes only the
/// prefixes that could match one).
pub(crate) struct Vocabulary {
    slots: [Slot; SLOTS],
    /// One byte of each slot's hash (0 for a free slot), apart from the
    /// slots: a probe reads this 4 KiB array and touches a slot only on a
    /// tag match, so the many words in no list cost no slot load (issue 11:
    /// the slot loads were most of the lookup).
    tags: [u8; SLOTS],
    /// By a stem's first byte, the lengths of the stems starting with it
    /// (bit `n` for length `n`): a word probes only the prefixes that could
    /// be one, not one per stem length (issue 11).
    stem_lengths: [u64; 256],
    /// The same by a stem's first two bytes (see [`pair`]): most words
    /// whose first byte starts stems of their length share no second byte
    /// with them, and are answered without hashing or probing (issue 10).
    /// A one-byte stem is in every entry of its first byte.
    stem_pair_lengths: [u64; PAIRS],
    /// The same for whole words: most words of a text have a first byte
    /// and length no list word has, and are answered without hashing them
    /// (issue 11).
    word_lengths: [u64; 256],
}

impl Vocabulary {
    /// Builds the table from every list. The lists' bits must be exactly
    /// `0..n`, each used once, or the build (and so the compile) fails.
    pub(crate) const fn build(
        words: &[&Words],
        phrases: &[&Phrases],
        actions: &[Action],
        languages: &[Language],
    ) -> Vocabulary {
        let mut table = Vocabulary {
            slots: [FREE; SLOTS],
            tags: [0; SLOTS],
            stem_lengths: [0; 256],
            stem_pair_lengths: [0; PAIRS],
            word_lengths: [0; 256],
        };
        let mut bits_seen: Mask = 0;
        let mut i = 0;
        while i < words.len() {
            bits_seen = table.insert_list(words[i], bits_seen);
            i += 1;
        }
        i = 0;
        while i < phrases.len() {
            bits_seen = mark(bits_seen, phrases[i].bit);
            let mut p = 0;
            while p < phrases[i].list.len() {
                table.insert(phrases[i].list[p][0], phrases[i].bit);
                p += 1;
            }
            i += 1;
        }
        i = 0;
        while i < actions.len() {
            bits_seen = table.insert_list(&actions[i].verbs, bits_seen);
            bits_seen = table.insert_list(&actions[i].objects, bits_seen);
            i += 1;
        }
        i = 0;
        while i < languages.len() {
            bits_seen = table.insert_list(&languages[i].verbs, bits_seen);
            bits_seen = table.insert_list(&languages[i].nouns, bits_seen);
            bits_seen = table.insert_list(&languages[i].qualifiers, bits_seen);
            i += 1;
        }
        // INVARIANT: every list has its own bit, and none is skipped.
        assert!(bits_seen.count_ones() == 128 - bits_seen.leading_zeros(), "list bits must be 0..n");
        table
    }

    const fn insert_list(&mut self, list: &Words, bits_seen: Mask) -> Mask {
        let mut i = 0;
        while i < list.list.len() {
            self.insert(list.list[i], list.bit);
            i += 1;
        }
        mark(bits_seen, list.bit)
    }

    const fn insert(&mut self, word: &'static str, bit: u32) {
        let bytes = word.as_bytes();
        let stem = bytes[bytes.len() - 1] == b'*';
        let len = if stem { bytes.len() - 1 } else { bytes.len() };
        assert!(len > 0 && len < MAX_WORD_BYTES, "a list word is empty or too long");
        if stem {
            self.stem_lengths[bytes[0] as usize] |= 1 << len;
            if len == 1 {
                let mut second = 0;
                while second < 32 {
                    self.stem_pair_lengths[pair(bytes[0], second)] |= 1 << len;
                    second += 1;
                }
            } else {
                self.stem_pair_lengths[pair(bytes[0], bytes[1])] |= 1 << len;
            }
        } else {
            self.word_lengths[bytes[0] as usize] |= 1 << len;
        }
        let hash = fnv(bytes, len);
        let mut at = (hash as usize) & (SLOTS - 1);
        loop {
            let slot = self.slots[at];
            if slot.len == 0 {
                self.slots[at] = Slot { word, len, stem, mask: 1 << bit };
                self.tags[at] = tag(hash);
                return;
            }
            if slot.stem == stem && slot.len == len && same_prefix(slot.word.as_bytes(), bytes, len) {
                self.slots[at].mask |= 1 << bit;
                return;
            }
            at = (at + 1) & (SLOTS - 1);
        }
    }

    /// The bits of every list holding `word`: as written, or through a stem
    /// it begins with. Leetspeak in a word that mixes letters and digits
    /// (`1gn0r3`) is read as the letters it stands for.
    pub(crate) fn mask_of(&self, word: &str) -> Mask {
        let bytes = word.as_bytes();
        if bytes.is_empty() || bytes.len() >= MAX_WORD_BYTES {
            return 0;
        }
        if bytes.iter().all(u8::is_ascii_lowercase) {
            return self.mask_of_unleeted(bytes); // most words: no leetspeak to read
        }
        let mut buffer = [0u8; MAX_WORD_BYTES];
        self.mask_of_unleeted(unleet(bytes, &mut buffer))
    }

    /// [`Vocabulary::mask_of`] once leetspeak is read: `bytes` is not
    /// empty and shorter than `MAX_WORD_BYTES`. Apart so that most words
    /// skip clearing a buffer for `unleet` (issue 10).
    fn mask_of_unleeted(&self, bytes: &[u8]) -> Mask {
        // INVARIANT: `bytes.len() < MAX_WORD_BYTES < 63`, so these shifts
        // stay inside a u64; a list word's length is below it too.
        let mut stem_lengths = self.stem_lengths[usize::from(bytes[0])] & ((2 << bytes.len()) - 1);
        if let Some(&second) = bytes.get(1) {
            stem_lengths &= self.stem_pair_lengths[pair(bytes[0], second)];
        }
        let whole = self.word_lengths[usize::from(bytes[0])] & (1 << bytes.len()) != 0;
        if stem_lengths == 0 && !whole {
            return 0;
        }
        // Hashed only as far as the longest prefix that could match.
        let hashed = if whole { bytes.len() } else { 63 - stem_lengths.leading_zeros() as usize };
        let mut hash = FNV_OFFSET;
        let mut mask = 0;
        for (i, &b) in bytes[..hashed].iter().enumerate() {
            hash = (hash ^ u64::from(b)).wrapping_mul(FNV_PRIME);
            let len = i + 1;
            if stem_lengths & (1 << len) != 0 {
                mask |= self.probe(hash, &bytes[..len], true);
            }
        }
        if whole { mask | self.probe(hash, bytes, false) } else { mask }
    }

    fn probe(&self, hash: u64, bytes: &[u8], stem: bool) -> Mask {
        let tag = tag(hash);
        let mut at = (hash as usize) & (SLOTS - 1);
        loop {
            let found = self.tags[at];
            if found == 0 {
                return 0;
            }
            if found == tag {
                let slot = &self.slots[at];
                if slot.stem == stem && slot.len == bytes.len() && &slot.word.as_bytes()[..slot.len] == bytes {
                    return slot.mask;
                }
            }
            at = (at + 1) & (SLOTS - 1);
        }
    }
}

/// Entries of [`Vocabulary::stem_pair_lengths`]: one per pair of low five
/// bits, so that lowercase letters have one each.
const PAIRS: usize = 1024;

/// The entry of the first two bytes `first`, `second`.
const fn pair(first: u8, second: u8) -> usize {
    ((first & 31) as usize) << 5 | (second & 31) as usize
}

/// A slot's tag: the hash's top byte (the index uses its low bits), never
/// 0, which marks a free slot.
const fn tag(hash: u64) -> u8 {
    (hash >> 56) as u8 | 1
}

const fn mark(bits_seen: Mask, bit: u32) -> Mask {
    assert!(bits_seen & (1 << bit) == 0, "two lists share a bit");
    bits_seen | (1 << bit)
}

const fn fnv(bytes: &[u8], len: usize) -> u64 {
    let mut hash = FNV_OFFSET;
    let mut i = 0;
    while i < len {
        hash = (hash ^ bytes[i] as u64).wrapping_mul(FNV_PRIME);
        i += 1;
    }
    hash
}

const fn same_prefix(a: &[u8], b: &[u8], len: usize) -> bool {
    let mut i = 0;
    while i < len {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// `bytes` with leetspeak read as letters, when the word mixes ASCII
/// letters with digits or symbols; otherwise `bytes` as they are. Words
/// of lowercase letters only, most of them, do not come here.
fn unleet<'a>(bytes: &'a [u8], buffer: &'a mut [u8; MAX_WORD_BYTES]) -> &'a [u8] {
    let leet = |b: u8| match b {
        b'0' => Some(b'o'),
        b'1' | b'!' => Some(b'i'),
        b'3' => Some(b'e'),
        b'4' | b'@' => Some(b'a'),
        b'5' | b'$' => Some(b's'),
        b'7' => Some(b't'),
        b'8' => Some(b'b'),
        b'9' => Some(b'g'),
        b'|' => Some(b'l'),
        _ => None,
    };
    let (mut letters, mut leets, mut ascii) = (false, false, true);
    for &b in bytes {
        letters |= b.is_ascii_lowercase();
        leets |= !b.is_ascii_lowercase() && leet(b).is_some();
        ascii &= b.is_ascii();
    }
    if !(letters && leets && ascii) {
        return bytes;
    }
    for (out, &b) in buffer.iter_mut().zip(bytes) {
        *out = leet(b).unwrap_or(b);
    }
    &buffer[..bytes.len()]
}

#[cfg(test)]
mod tests {
    use super::super::lexicon::{OVERRIDE_TARGETS, OVERRIDE_VERBS, VOCABULARY, Word};

    #[test]
    fn words_stems_and_leetspeak_find_their_lists() {
        let word = Word::new;
        assert!(OVERRIDE_VERBS.has(&word("ignore")));
        assert!(OVERRIDE_VERBS.has(&word("1gn0r3")));
        assert!(OVERRIDE_VERBS.has(&word("disregarding")), "stem disregard*");
        assert!(OVERRIDE_TARGETS.has(&word("instructions")), "stem instruction*");
        assert!(!OVERRIDE_VERBS.has(&word("ignored")));
        assert!(!OVERRIDE_TARGETS.has(&word("2024")));
        assert_eq!(VOCABULARY.mask_of(""), 0);
    }
}
