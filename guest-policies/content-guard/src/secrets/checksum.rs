//! The checksums some token formats carry, so a scanner can tell a real
//! token from a string of the right shape without asking the provider:
//! GitHub's and npm's base62 CRC32, and age's bech32. Plus the small base64
//! decoder that Discord ids and HTTP Basic credentials need. None of this is
//! cryptography; it only has to agree with the formats.

/// The alphabet GitHub and npm encode their checksums in (digits, upper,
/// lower: the "GMP" order).
pub(super) const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Characters of a token GitHub and npm generate before their checksum.
const RANDOM_CHARS: usize = 30;

/// CRC-32 (IEEE 802.3, reflected), bit by bit: tokens are short, and a
/// 1 KiB table would be rebuilt or carried for nothing.
pub(super) fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in data {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// `n` in base62, left-padded with `0` to six characters (62^6 > 2^32).
pub(super) fn base62_6(mut n: u32) -> [u8; 6] {
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
}

/// Whether a 36-character GitHub classic or npm token body ends in the
/// base62 CRC32 of its first 30 characters.
pub(super) fn base62_crc_ok(body: &[u8]) -> bool {
    body.len() == RANDOM_CHARS + 6 && base62_6(crc32(&body[..RANDOM_CHARS])) == body[RANDOM_CHARS..]
}

/// The bech32 data alphabet (BIP 173), lowercase.
pub(super) const BECH32: &[u8; 32] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Longest bech32 data part we check; an age secret key has 58.
const BECH32_MAX: usize = 90;

fn bech32_polymod(values: impl Iterator<Item = u8>) -> u32 {
    const GENERATOR: [u32; 5] = [0x3b6a_57b2, 0x2650_8e6d, 0x1ea1_19fa, 0x3d42_33dd, 0x2a14_62b3];
    let mut check = 1u32;
    for value in values {
        let top = check >> 25;
        check = ((check & 0x01ff_ffff) << 5) ^ u32::from(value);
        for (i, generator) in GENERATOR.iter().enumerate() {
            if (top >> i) & 1 == 1 {
                check ^= generator;
            }
        }
    }
    check
}

/// The values bech32 checksums run over: the expanded human-readable part
/// and the data. `None` when the data holds a character outside the
/// alphabet.
fn bech32_values(hrp: &[u8], data: &[u8]) -> Option<impl Iterator<Item = u8>> {
    let mut values = [0u8; BECH32_MAX];
    if data.len() > BECH32_MAX {
        return None;
    }
    for (slot, &c) in values.iter_mut().zip(data) {
        *slot = BECH32.iter().position(|&x| x == c.to_ascii_lowercase())? as u8;
    }
    let high = hrp.iter().map(|c| c.to_ascii_lowercase() >> 5);
    let low = hrp.iter().map(|c| c.to_ascii_lowercase() & 31);
    Some(high.chain(std::iter::once(0)).chain(low).chain(values.into_iter().take(data.len())))
}

/// Whether `text` (`hrp` `1` data, any case) carries a valid bech32
/// checksum in its last six data characters.
pub(super) fn bech32_ok(text: &[u8]) -> bool {
    let Some(separator) = text.iter().rposition(|&b| b == b'1') else { return false };
    let (hrp, data) = (&text[..separator], &text[separator + 1..]);
    !hrp.is_empty() && data.len() >= 6 && bech32_values(hrp, data).is_some_and(|values| bech32_polymod(values) == 1)
}

/// The six checksum characters bech32 appends to `data` under `hrp`.
#[cfg(test)]
pub(super) fn bech32_checksum(hrp: &[u8], data: &[u8]) -> Option<[u8; 6]> {
    let values = bech32_values(hrp, data)?.chain([0u8; 6]);
    let check = bech32_polymod(values) ^ 1;
    let mut out = [0u8; 6];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = BECH32[((check >> (5 * (5 - i))) & 31) as usize];
    }
    Some(out)
}

/// Decodes base64 in either alphabet (`+/` or `-_`), padding optional, into
/// `out`. `None` on a foreign character or when `out` is too small.
pub(crate) fn base64_decode<'a>(input: &[u8], out: &'a mut [u8]) -> Option<&'a [u8]> {
    let input = input.strip_suffix(b"==").or_else(|| input.strip_suffix(b"=")).unwrap_or(input);
    let (mut bits, mut count, mut written) = (0u32, 0u32, 0usize);
    for &c in input {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(value);
        count += 6;
        if count >= 8 {
            count -= 8;
            *out.get_mut(written)? = (bits >> count) as u8;
            written += 1;
        }
    }
    Some(&out[..written])
}
