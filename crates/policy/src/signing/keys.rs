//! Ed25519 keys as small text files: a format line, then the key as
//! `ed25519:<hex>`. A public key may also be written inline (the second
//! line alone), as the host config allows.

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

/// The first line of a public key file.
pub const PUBLIC_KEY_FORMAT: &str = "memwarden-pack-public-key v1";
/// The first line of a secret key file.
pub const SECRET_KEY_FORMAT: &str = "memwarden-pack-secret-key v1";
/// Every memwarden key or signature file starts with this.
const FORMAT_PREFIX: &str = "memwarden-pack-";
const ALGORITHM: &str = "ed25519:";

/// Why a key could not be read or used.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(String);

impl KeyError {
    fn new(message: impl Into<String>) -> KeyError {
        KeyError(message.into())
    }
}

/// A key packs may be signed with: one the operator trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PublicKey {
    /// A public key file's text, or the key alone (`ed25519:<hex>`).
    pub fn parse(text: &str) -> Result<PublicKey, KeyError> {
        let body = key_line(text, PUBLIC_KEY_FORMAT, false)?;
        let bytes = decode(body)?;
        VerifyingKey::from_bytes(&bytes).map(PublicKey).map_err(|_| KeyError::new("not an ed25519 public key"))
    }

    /// The key as one token, `ed25519:<hex>`: what a config may inline.
    pub fn token(&self) -> String {
        format!("{ALGORITHM}{}", hex::encode(self.0.as_bytes()))
    }

    /// A short name for messages: the key's first eight bytes, hex.
    pub fn id(&self) -> String {
        hex::encode(&self.0.as_bytes()[..8])
    }

    /// The text of a public key file.
    pub fn to_file(&self) -> String {
        format!("{PUBLIC_KEY_FORMAT}\n{}\n", self.token())
    }

    /// Strict verification: refuses the non-canonical encodings and small-order
    /// keys plain ed25519 verification lets through.
    pub(crate) fn verifies(&self, message: &[u8], signature: &Signature) -> bool {
        self.0.verify_strict(message, signature).is_ok()
    }
}

/// A key to sign packs with. Its bytes are wiped when dropped (ed25519-dalek
/// zeroizes), and it has no `Debug`, so it never reaches a log.
pub struct SecretKey(SigningKey);

impl SecretKey {
    /// A new random key, from the operating system's generator.
    pub fn generate() -> Result<SecretKey, KeyError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|err| KeyError::new(format!("no random bytes: {err}")))?;
        Ok(SecretKey(SigningKey::from_bytes(&seed)))
    }

    /// A secret key file's text; the format line is required, so that a
    /// public key file given by mistake is named as such.
    pub fn parse(text: &str) -> Result<SecretKey, KeyError> {
        let body = key_line(text, SECRET_KEY_FORMAT, true)?;
        Ok(SecretKey(SigningKey::from_bytes(&decode(body)?)))
    }

    /// The text of a secret key file.
    pub fn to_file(&self) -> String {
        format!("{SECRET_KEY_FORMAT}\n{ALGORITHM}{}\n", hex::encode(self.0.as_bytes()))
    }

    /// Its public half.
    pub fn public_key(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.0.sign(message)
    }
}

/// The key line of `text`, after its format line (required or not).
fn key_line<'a>(text: &'a str, format: &str, format_required: bool) -> Result<&'a str, KeyError> {
    let mut lines = text.lines().map(str::trim).filter(|line| !line.is_empty());
    let first = lines.next().ok_or_else(|| KeyError::new("empty"))?;
    let body = match first {
        _ if first == format => lines.next().ok_or_else(|| KeyError::new("no key after the format line"))?,
        _ if first.starts_with(FORMAT_PREFIX) => {
            return Err(KeyError::new(format!("a `{first}` file, where a `{format}` file belongs")));
        }
        _ if format_required => return Err(KeyError::new(format!("does not start with `{format}`"))),
        _ => first,
    };
    if lines.next().is_some() {
        return Err(KeyError::new("more than one line after the format line"));
    }
    Ok(body)
}

fn decode(body: &str) -> Result<[u8; 32], KeyError> {
    let expected = || KeyError::new(format!("expected `{ALGORITHM}` and 64 hex digits"));
    let hex_digits = body.strip_prefix(ALGORITHM).ok_or_else(expected)?;
    let bytes = hex::decode(hex_digits).map_err(|_| expected())?;
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| expected())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn keys_round_trip_through_their_files() {
        let secret = SecretKey::generate().unwrap();
        let again = SecretKey::parse(&secret.to_file()).unwrap();
        assert_eq!(again.public_key(), secret.public_key());
        let public = secret.public_key();
        assert_eq!(PublicKey::parse(&public.to_file()).unwrap(), public);
        assert_eq!(PublicKey::parse(&public.token()).unwrap(), public);
    }

    #[test]
    fn a_key_of_the_wrong_kind_is_named() {
        let secret = SecretKey::generate().unwrap();
        let err = PublicKey::parse(&secret.to_file()).unwrap_err().to_string();
        assert!(err.contains("memwarden-pack-secret-key v1"), "{err}");
        let err = SecretKey::parse(&secret.public_key().to_file()).err().unwrap().to_string();
        assert!(err.contains("memwarden-pack-public-key v1"), "{err}");
        assert!(PublicKey::parse("ed25519:abcd").is_err());
        assert!(PublicKey::parse("").is_err());
    }
}
