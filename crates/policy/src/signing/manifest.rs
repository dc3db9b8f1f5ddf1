//! The manifest a pack's signature covers, and the signature file that
//! carries it.
//!
//! The manifest is never stored: signer and loader each rebuild it from
//! the bytes they read, so it has one encoding, defined here, checked by
//! the tests below. A change to it is a new format line.

use ed25519_dalek::Signature;

use super::keys::PublicKey;
use super::time::{format_rfc3339, parse_rfc3339};

/// The first line of the signed manifest.
const MANIFEST_FORMAT: &str = "memwarden-pack-manifest v1";
/// The first line of a signature file.
pub const SIGNATURE_FORMAT: &str = "memwarden-pack-signature v1";

/// What a pack's files hash to, as one load read them: the pack's own
/// YAML, then each pack it extends, then every module of the resolved pack
/// in order (built-ins by their embedded bytes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PackContent {
    pub(crate) packs: Vec<[u8; 32]>,
    /// Each module's sha256 and its reference as written in its pack.
    pub(crate) modules: Vec<([u8; 32], String)>,
}

impl PackContent {
    /// The bytes a signature signs: the content, a revision and an expiry.
    /// References are JSON strings, so no name can forge a line.
    pub(crate) fn manifest(&self, revision: u64, expires: Option<u64>) -> String {
        let mut text = format!("{MANIFEST_FORMAT}\nrevision {revision}\n");
        match expires {
            Some(seconds) => text.push_str(&format!("expires {seconds}\n")),
            None => text.push_str("expires never\n"),
        }
        for sha256 in &self.packs {
            text.push_str(&format!("pack {}\n", hex::encode(sha256)));
        }
        for (sha256, reference) in &self.modules {
            let quoted = serde_json::Value::String(reference.clone());
            text.push_str(&format!("module {} {quoted}\n", hex::encode(sha256)));
        }
        text
    }
}

/// A detached signature, `<pack>.sig`.
#[derive(Debug, Clone)]
pub(crate) struct SignatureFile {
    pub(crate) key: PublicKey,
    pub(crate) revision: u64,
    pub(crate) expires: Option<u64>,
    pub(crate) signature: Signature,
}

impl SignatureFile {
    /// The file's text: one `field value` per line after the format line.
    pub(crate) fn to_file(&self) -> String {
        let expires = self.expires.map(|seconds| format!("expires {}\n", format_rfc3339(seconds))).unwrap_or_default();
        format!(
            "{SIGNATURE_FORMAT}\nkey {}\nrevision {}\n{expires}signature {}\n",
            self.key.token(),
            self.revision,
            hex::encode(self.signature.to_bytes())
        )
    }

    /// Reads a signature file; every field once, in order, `expires`
    /// optional, nothing else.
    pub(crate) fn parse(text: &str) -> Result<SignatureFile, String> {
        let mut lines = text.lines().map(str::trim_end).filter(|line| !line.is_empty());
        if lines.next() != Some(SIGNATURE_FORMAT) {
            return Err(format!("it does not start with `{SIGNATURE_FORMAT}`"));
        }
        let mut field = |name: &str, optional: bool| -> Result<Option<String>, String> {
            let mut peek = lines.clone();
            match peek.next().and_then(|line| line.strip_prefix(name)).and_then(|rest| rest.strip_prefix(' ')) {
                Some(value) => {
                    lines = peek;
                    Ok(Some(value.trim().to_string()))
                }
                None if optional => Ok(None),
                None => Err(format!("no `{name}` line where one belongs")),
            }
        };
        let key = field("key", false)?.unwrap_or_default();
        let key = PublicKey::parse(&key).map_err(|err| format!("its key: {err}"))?;
        let revision = field("revision", false)?.unwrap_or_default();
        let revision = revision.parse().map_err(|_| format!("revision `{revision}` is not a whole number"))?;
        let expires = match field("expires", true)? {
            Some(text) => {
                Some(parse_rfc3339(&text).ok_or_else(|| format!("expires `{text}` is not an RFC 3339 time"))?)
            }
            None => None,
        };
        let signature = field("signature", false)?.unwrap_or_default();
        let bytes = hex::decode(&signature).ok().and_then(|bytes| <[u8; 64]>::try_from(bytes.as_slice()).ok());
        let signature = Signature::from_bytes(&bytes.ok_or("its signature is not 128 hex digits")?);
        if let Some(extra) = lines.next() {
            return Err(format!("unexpected line `{}`", extra.chars().take(40).collect::<String>()));
        }
        Ok(SignatureFile { key, revision, expires, signature })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::keys::SecretKey;
    use super::*;

    fn content() -> PackContent {
        PackContent {
            packs: vec![[1; 32], [2; 32]],
            modules: vec![([3; 32], "schema".to_string()), ([4; 32], "x/\"odd\nname\".wasm".to_string())],
        }
    }

    #[test]
    fn the_manifest_encoding_is_fixed() {
        let expected = format!(
            "memwarden-pack-manifest v1\nrevision 7\nexpires 1800000000\npack {}\npack {}\nmodule {} \"schema\"\nmodule {} \"x/\\\"odd\\nname\\\".wasm\"\n",
            "01".repeat(32),
            "02".repeat(32),
            "03".repeat(32),
            "04".repeat(32)
        );
        assert_eq!(content().manifest(7, Some(1_800_000_000)), expected);
        assert!(content().manifest(7, None).contains("\nexpires never\n"));
    }

    #[test]
    fn every_part_of_the_manifest_counts() {
        let base = content().manifest(1, None);
        let mut other = content();
        other.packs[1][0] ^= 1;
        assert_ne!(other.manifest(1, None), base);
        let mut other = content();
        other.modules[0].0[31] ^= 1;
        assert_ne!(other.manifest(1, None), base);
        let mut other = content();
        other.modules.swap(0, 1);
        assert_ne!(other.manifest(1, None), base);
        assert_ne!(content().manifest(2, None), base);
        assert_ne!(content().manifest(1, Some(0)), base);
    }

    #[test]
    fn signature_files_round_trip() {
        let secret = SecretKey::generate().unwrap();
        let signature = secret.sign(b"x");
        let file = SignatureFile { key: secret.public_key(), revision: 3, expires: Some(1_800_000_000), signature };
        let text = file.to_file();
        assert!(text.starts_with("memwarden-pack-signature v1\nkey ed25519:"), "{text}");
        assert!(text.contains("\nexpires 2027-01-15T08:00:00Z\n"), "{text}");
        let again = SignatureFile::parse(&text).unwrap();
        assert_eq!((again.revision, again.expires, again.signature), (3, Some(1_800_000_000), signature));
        let unexpiring = SignatureFile { expires: None, ..file };
        assert_eq!(SignatureFile::parse(&unexpiring.to_file()).unwrap().expires, None);
        for broken in
            ["", "memwarden-pack-signature v1\n", &text.replace("revision 3", "revision -3"), &format!("{text}x 1\n")]
        {
            assert!(SignatureFile::parse(broken).is_err(), "{broken}");
        }
    }
}
