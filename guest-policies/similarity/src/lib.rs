//! Text normalisation and near-duplicate detection shared by the memwarden
//! host and its policy modules.
//!
//! The host stores a [`fingerprint`] for every memory entry; a policy computes
//! the fingerprint of a proposed body, keeps the entries within
//! [`CANDIDATE_MAX_DISTANCE`] bits, and confirms each candidate with the exact
//! [`similarity`] of the two bodies. Both sides must agree bit for bit, which
//! is why this crate exists: it is the one definition of "normalised text".
//!
//! This crate does no I/O and allocates only the shingle sets it returns.

/// Fingerprints of texts whose [`similarity`] is at least 0.8 are almost
/// always within this many bits of each other (simhash over 64 bits).
pub const CANDIDATE_MAX_DISTANCE: u32 = 18;

/// Lowercased alphanumeric words of `text`; everything else separates words.
pub fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    raw_words(text).map(str::to_lowercase)
}

/// The words of `text` as slices, in their original case.
pub fn raw_words(text: &str) -> impl Iterator<Item = &str> + '_ {
    text.split(|c: char| !c.is_alphanumeric()).filter(|word| !word.is_empty())
}

/// The sorted, deduplicated set of hashed word bigrams of `text` (or of its
/// single word), the unit both [`similarity`] and [`fingerprint`] work on.
/// Case-insensitive, without allocating per word.
pub fn shingles(text: &str) -> Vec<u64> {
    let mut hashes = raw_words(text).map(word_hash);
    let Some(first) = hashes.next() else { return Vec::new() };
    let mut set = Vec::new();
    let mut previous = first;
    for hash in hashes {
        set.push(splitmix64(previous ^ hash.rotate_left(31)));
        previous = hash;
    }
    if set.is_empty() {
        set.push(splitmix64(first));
    }
    set.sort_unstable();
    set.dedup();
    set
}

/// FNV-1a of the lowercased word.
fn word_hash(word: &str) -> u64 {
    let fold = |hash: u64, byte: u8| (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    if word.is_ascii() {
        return word.bytes().fold(FNV_OFFSET, |hash, byte| fold(hash, byte.to_ascii_lowercase()));
    }
    let mut buffer = [0u8; 4];
    word.chars()
        .flat_map(char::to_lowercase)
        .fold(FNV_OFFSET, |hash, c| c.encode_utf8(&mut buffer).bytes().fold(hash, fold))
}

/// Jaccard similarity of two shingle sets from [`shingles`], in `0.0..=1.0`.
/// Two empty texts are identical.
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    let (mut i, mut j, mut common) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            core::cmp::Ordering::Less => i += 1,
            core::cmp::Ordering::Greater => j += 1,
            core::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
        }
    }
    common as f64 / (a.len() + b.len() - common) as f64
}

/// How alike two texts are once normalised, in `0.0..=1.0`.
pub fn similarity(a: &str, b: &str) -> f64 {
    jaccard(&shingles(a), &shingles(b))
}

/// A 64-bit simhash of the shingles of `text`: similar texts get fingerprints
/// a small [`hamming`] distance apart.
pub fn fingerprint(text: &str) -> u64 {
    fingerprint_of(&shingles(text))
}

/// [`fingerprint`] of an already computed shingle set: bit `i` is set when
/// more than half the shingles have bit `i` set.
pub fn fingerprint_of(shingles: &[u64]) -> u64 {
    // A bit-sliced counter: `planes[k]` holds bit k of all 64 per-bit
    // counts, so adding a shingle is a binary increment of 64 counters at
    // once — a few word operations instead of 64 separate additions.
    let mut planes = [0u64; 32];
    for &shingle in shingles {
        let mut carry = shingle;
        for plane in planes.iter_mut() {
            if carry == 0 {
                break;
            }
            (*plane, carry) = (*plane ^ carry, *plane & carry);
        }
    }
    let half = shingles.len() as u64 / 2;
    // No count exceeds the number of shingles, so the planes above its bit
    // length are all zero: reading only the others cuts the read-out, most
    // of this function's work, from 64 × 32 steps to 64 × ~8.
    let used = (u64::BITS - (shingles.len() as u64).leading_zeros()) as usize;
    let planes = &planes[..used.min(planes.len())];
    (0..64)
        .filter(|&bit| planes.iter().enumerate().map(|(k, plane)| (plane >> bit & 1) << k).sum::<u64>() > half)
        .fold(0, |acc, bit| acc | 1 << bit)
}

/// Number of differing bits between two fingerprints.
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_ignores_case_and_punctuation() {
        assert_eq!(similarity("Use tabs, not spaces!", "use tabs not spaces"), 1.0);
    }

    #[test]
    fn small_edits_stay_similar_and_within_candidate_distance() {
        let a = "The deploy script must run from the repository root because it reads \
                 relative paths to the migration folder and the env file";
        let b = "The deploy script must run from the repository root since it reads \
                 relative paths to the migration folder and the env file";
        assert!(similarity(a, b) > 0.7);
        assert!(hamming(fingerprint(a), fingerprint(b)) <= CANDIDATE_MAX_DISTANCE);
    }

    #[test]
    fn fingerprint_bits_follow_the_majority() {
        // Bits set in 2 of 3 shingles are set; bits set in 1 of 3 are not.
        assert_eq!(fingerprint_of(&[0b011, 0b110, 0b001]), 0b011);
        assert_eq!(fingerprint_of(&[]), 0);
        let all: Vec<u64> = (0..1000).map(|_| u64::MAX).collect();
        assert_eq!(fingerprint_of(&all), u64::MAX);
        // Against a plain per-bit count, at every size around the powers of
        // two where the number of planes read changes.
        let naive = |shingles: &[u64]| {
            (0..64)
                .filter(|bit| shingles.iter().filter(|s| *s >> bit & 1 == 1).count() > shingles.len() / 2)
                .fold(0u64, |acc, bit| acc | 1 << bit)
        };
        let pool: Vec<u64> = (0..1100).map(splitmix64).collect();
        for len in (0..=1100)
            .filter(|len| len % 37 == 0 || (*len as u64 + 1).is_power_of_two() || (*len as u64).is_power_of_two())
        {
            assert_eq!(fingerprint_of(&pool[..len]), naive(&pool[..len]), "{len} shingles");
        }
    }

    #[test]
    fn unrelated_texts_are_far_apart() {
        let a = "prefer small pull requests with one logical change each";
        let b = "the staging database is reset every sunday at midnight utc";
        assert!(similarity(a, b) < 0.1);
        assert!(hamming(fingerprint(a), fingerprint(b)) > 8);
    }
}

#[cfg(test)]
mod unicode_tests {
    use super::*;

    #[test]
    fn case_folding_covers_non_ascii_words() {
        assert_eq!(shingles("Über Straße"), shingles("über straße"));
        assert_eq!(shingles("one"), shingles("ONE"));
        assert!(shingles("").is_empty());
    }
}
