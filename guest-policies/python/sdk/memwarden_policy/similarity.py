"""The host's text normalisation and similarity fingerprint
(`memwarden-similarity`), in Python: the native index computes entries'
fingerprints with it, and a policy can compare a proposed body with
`index.fingerprints()`.

It agrees with the host bit for bit on ASCII text and on ordinary letters
and digits. Python's `str.isalnum` and Rust's `char::is_alphanumeric`
disagree on a few rare characters (some combining marks), which would
split words differently there.

Pure Python is slow inside a component (tens of wasm instructions per
operation): a fingerprint of an 8 KiB body costs millions of them. Use it
on the few bodies a rule needs, not on every entry of the store.
"""

import re

MASK = (1 << 64) - 1
FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3

# Fingerprints of texts whose similarity is at least 0.8 are almost always
# within this many bits of each other.
CANDIDATE_MAX_DISTANCE = 18

NON_WORD = re.compile(r"[\W_]+")


def raw_words(text):
    """The words of `text` in their original case: runs of letters and digits."""
    # `[\W_]` is what `str.isalnum` refuses; one C-level split is far
    # cheaper inside a component than a Python loop over the characters.
    return [word for word in NON_WORD.split(text) if word]


def word_hash(word):
    """FNV-1a of the word lowercased char by char, as Rust's `to_lowercase`
    does (no final-sigma rule)."""
    lowered = word.lower() if word.isascii() else "".join(char.lower() for char in word)
    hash_ = FNV_OFFSET
    for byte in lowered.encode():
        hash_ = ((hash_ ^ byte) * FNV_PRIME) & MASK
    return hash_


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def rotate_left(x, bits):
    return ((x << bits) | (x >> (64 - bits))) & MASK


def shingles(text):
    """The sorted set of hashed word bigrams of `text` (or of its one word)."""
    # Prose repeats its words and bigrams: hashing each distinct one once
    # roughly halves the Python work, which is what a component pays for.
    hash_of = {}
    hashes = [hash_of.get(word) or hash_of.setdefault(word, word_hash(word)) for word in raw_words(text)]
    if not hashes:
        return []
    pairs = set(zip(hashes, hashes[1:]))
    if not pairs:
        return [splitmix64(hashes[0])]
    return sorted({splitmix64(previous ^ rotate_left(current, 31)) for previous, current in pairs})


def jaccard(a, b):
    """Jaccard similarity of two shingle sets, in 0..1; two empty texts are identical."""
    if not a and not b:
        return 1.0
    common = len(set(a) & set(b))
    return common / (len(a) + len(b) - common)


def similarity(a, b):
    """How alike two texts are once normalised, in 0..1."""
    return jaccard(shingles(a), shingles(b))


def fingerprint(text):
    """The 64-bit simhash of `text`'s shingles: bit i is set when more than
    half the shingles have it set."""
    return fingerprint_of(shingles(text))


def fingerprint_of(found):
    """`fingerprint` of an already computed shingle set."""
    half = len(found) // 2
    # Each shingle as 64 binary digits, most significant first; counting
    # the '1's of each column runs in C, not bit by bit in Python.
    columns = zip(*(format(shingle, "064b") for shingle in found))
    result = 0
    for column in columns:
        result = (result << 1) | (column.count("1") > half)
    return result


def hamming(a, b):
    """The number of bits in which two fingerprints differ."""
    return bin(a ^ b).count("1")
