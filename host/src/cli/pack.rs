//! `memwarden pack keygen` and `pack sign`: the signing side of signed
//! packs. The checking side is the host's, as packs load (see
//! `memwarden_policy::Trust`).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Args;
use memwarden::policy::{PackError, SecretKey, format_rfc3339, parse_rfc3339, sign_pack};

#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Writes `PREFIX.key` (secret, mode 0600) and `PREFIX.pub`; refuses to
    /// overwrite either.
    #[arg(long, value_name = "PREFIX")]
    out: PathBuf,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The secret key file (`pack keygen`).
    #[arg(long, value_name = "SECRET")]
    key: PathBuf,
    /// The pack file; the signature goes next to it, as `<pack>.sig`.
    pack: PathBuf,
    /// The revision to sign as (default: one above the current signature's,
    /// else 1). A host refuses a revision lower than one a tenant ran.
    #[arg(long)]
    revision: Option<u64>,
    /// When the signature expires: an RFC 3339 time
    /// (`2027-01-31T00:00:00Z`) or a number of days from now (`90`, `90d`).
    #[arg(long)]
    expires: Option<String>,
}

pub(crate) fn keygen(args: &KeygenArgs) -> anyhow::Result<ExitCode> {
    let secret_path = with_suffix(&args.out, ".key");
    let public_path = with_suffix(&args.out, ".pub");
    for path in [&secret_path, &public_path] {
        if path.exists() {
            anyhow::bail!("`{}` exists; keygen never overwrites a key", path.display());
        }
    }
    let key = SecretKey::generate().context("cannot make a key")?;
    // Created new, 0600 from the start: never readable by others, even briefly.
    write_new(&secret_path, key.to_file().as_bytes(), 0o600)?;
    write_new(&public_path, key.public_key().to_file().as_bytes(), 0o644)?;
    let public = key.public_key();
    eprintln!("secret key `{}` (keep it private), public key `{}`:", secret_path.display(), public_path.display());
    // The key alone on stdout, to inline in a host config's `trusted_keys`.
    println!("{}", public.token());
    Ok(ExitCode::SUCCESS)
}

pub(crate) fn sign(args: &SignArgs) -> anyhow::Result<ExitCode> {
    let text =
        std::fs::read_to_string(&args.key).map_err(|err| key_error(&args.key, format!("cannot read it: {err}")))?;
    let key = SecretKey::parse(&text).map_err(|err| key_error(&args.key, err.to_string()))?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let expires = args.expires.as_deref().map(|text| expiry(text, now)).transpose()?;
    let signature = sign_pack(&args.pack, &key, args.revision, expires)?;
    write_replacing(&signature.path, signature.text.as_bytes())?;
    let until = expires.map(|at| format!(", expires {}", format_rfc3339(at))).unwrap_or_default();
    if expires.is_some_and(|at| at <= now) {
        eprintln!("memwarden: warning: this signature has already expired");
    }
    println!(
        "signed `{}` as revision {}{until} with key {}: `{}`",
        args.pack.display(),
        signature.revision,
        key.public_key().id(),
        signature.path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `--expires`: an RFC 3339 time, or whole days from `now`.
fn expiry(text: &str, now: u64) -> anyhow::Result<u64> {
    if let Some(at) = parse_rfc3339(text) {
        return Ok(at);
    }
    let days: u64 = text.strip_suffix('d').unwrap_or(text).parse().map_err(|_| {
        anyhow::anyhow!("--expires `{text}` is neither an RFC 3339 time (2027-01-31T00:00:00Z) nor a number of days")
    })?;
    Ok(now.saturating_add(days.saturating_mul(86_400)))
}

fn key_error(path: &Path, message: String) -> PackError {
    PackError::Key { key: path.display().to_string(), message }
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut path = prefix.as_os_str().to_owned();
    path.push(suffix);
    PathBuf::from(path)
}

fn write_new(path: &Path, bytes: &[u8], mode: u32) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("cannot create `{}`", path.display()))?;
    file.write_all(bytes).and_then(|()| file.sync_all()).with_context(|| format!("cannot write `{}`", path.display()))
}

/// Replaces `path` whole (a temporary file renamed over it), so a host
/// reloading meanwhile reads the old signature or the new one.
fn write_replacing(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let temp = with_suffix(path, &format!(".tmp-{}", std::process::id()));
    std::fs::write(&temp, bytes)
        .and_then(|()| std::fs::rename(&temp, path))
        .with_context(|| format!("cannot write `{}`", path.display()))
}
