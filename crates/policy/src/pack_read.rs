//! Reading a rule pack's files: the pack, the packs it extends and every
//! module, each read once and hashed, before anything is compiled — what a
//! signature covers ([`ReadPack`]) and what [`RulePack::build`](super::pack::RulePack::build) compiles.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::PackError;
use super::builtin;
use super::pack::{Mode, ModuleSpec, PackFile};
use super::signing::{self, PackContent, SecretKey, SignatureState};

/// How many packs deep `extends` may go.
const MAX_EXTENDS_DEPTH: usize = 16;

/// A module's identity within a pack: the same built-in, or the same file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    Builtin(String),
    File(PathBuf),
}

impl Source {
    pub(crate) fn parse(spec: &str, base: &Path) -> Source {
        let is_path = spec.contains(['/', '\\']) || spec.ends_with(".wasm");
        match is_path {
            true => Source::File(absolute(base, spec)),
            false => Source::Builtin(spec.to_string()),
        }
    }
}

/// A pack as its files were read, nothing compiled yet: what its signature
/// covers, and what [`RulePack::build`](super::pack::RulePack::build) compiles.
pub(crate) struct ReadPack {
    pub(crate) name: String,
    pub(crate) origin: String,
    pub(crate) mode: Mode,
    pub(crate) modules: Vec<ReadModule>,
    pub(crate) content: PackContent,
    pub(crate) signature: SignatureState,
}

/// One module's bytes as read, with their hash.
pub(crate) struct ReadModule {
    pub(crate) spec: ModuleSpec,
    pub(crate) bytes: Vec<u8>,
    pub(crate) sha256: [u8; 32],
}

impl ReadPack {
    /// Reads a pack, its parents, its modules and its signature, if any;
    /// relative paths resolve from the current directory.
    pub(crate) fn read(reference: &str) -> Result<ReadPack, PackError> {
        let cwd = std::env::current_dir().unwrap_or_default();
        let (mut specs, mut packs) = (Vec::new(), Vec::new());
        let (name, origin, mode) = resolve(reference, &cwd, &mut Vec::new(), &mut specs, &mut packs)?;
        let modules = specs
            .into_iter()
            .map(|(source, spec)| ReadModule::read(source, spec, reference))
            .collect::<Result<Vec<_>, _>>()?;
        let content =
            PackContent { packs, modules: modules.iter().map(|m| (m.sha256, m.spec.module.clone())).collect() };
        // A built-in pack has no file to sign; a tenant that needs a
        // signature runs a signed pack that extends it.
        let signature = match builtin::pack(reference) {
            Some(_) if is_builtin_reference(reference) => SignatureState::Absent,
            _ => SignatureState::read(&absolute(&cwd, reference)),
        };
        Ok(ReadPack { name, origin, mode: mode.unwrap_or_default(), modules, content, signature })
    }
}

impl ReadModule {
    pub(crate) fn read(source: Source, spec: ModuleSpec, origin: &str) -> Result<ReadModule, PackError> {
        let bytes = match &source {
            Source::Builtin(name) => builtin::module(name)
                .ok_or_else(|| PackError::UnknownModule { origin: origin.to_string(), name: name.clone() })?
                .to_vec(),
            Source::File(path) => std::fs::read(path).map_err(|source| PackError::ReadModule {
                origin: origin.to_string(),
                path: path.display().to_string(),
                source,
            })?,
        };
        let sha256 = Sha256::digest(&bytes).into();
        Ok(ReadModule { spec, bytes, sha256 })
    }
}

/// A signature file's text for a pack, made by [`sign_pack`].
pub struct PackSignature {
    /// Where it belongs: next to the pack.
    pub path: PathBuf,
    /// The file's text.
    pub text: String,
    /// The revision it signs.
    pub revision: u64,
}

/// Signs the pack at `path` — its YAML, the packs it extends and every
/// module, as a load would read them — with `key`, as `revision` (default:
/// one above the pack's current signature's, else 1), expiring at
/// `expires` (seconds since the Unix epoch). Returns the signature file;
/// writing it is the caller's. Modules are hashed, not compiled.
pub fn sign_pack(
    path: &Path,
    key: &SecretKey,
    revision: Option<u64>,
    expires: Option<u64>,
) -> Result<PackSignature, PackError> {
    let reference = path.display().to_string();
    let read = ReadPack::read(&reference)?;
    let revision = match (revision, &read.signature) {
        (Some(revision), _) => revision,
        (None, SignatureState::Absent) => 1,
        (None, SignatureState::Read(file)) => file.revision.saturating_add(1),
        (None, SignatureState::Broken(reason)) => {
            let reason = format!("{reason}; pass --revision to sign over it");
            return Err(PackError::SignatureInvalid { origin: reference, reason });
        }
    };
    let text = signing::sign(&read.content, key, revision, expires);
    Ok(PackSignature { path: signing::signature_path(path), text, revision })
}

/// A bare name, not a path: how packs name a built-in pack.
fn is_builtin_reference(reference: &str) -> bool {
    !reference.contains(['/', '\\', '.'])
}

/// Resolves `reference` and its ancestors into `specs`; returns the pack's
/// name, origin and own mode — never a parent's (issue 9). `chain` holds the
/// packs being resolved, by canonical path, to refuse cycles.
fn resolve(
    reference: &str,
    base: &Path,
    chain: &mut Vec<String>,
    specs: &mut Vec<(Source, ModuleSpec)>,
    packs: &mut Vec<[u8; 32]>,
) -> Result<(String, String, Option<Mode>), PackError> {
    let (origin, text, dir) = match builtin::pack(reference) {
        Some(text) if is_builtin_reference(reference) => (reference.to_string(), text.to_string(), base.to_path_buf()),
        _ if is_builtin_reference(reference) => {
            return Err(PackError::UnknownPack { name: reference.to_string() });
        }
        _ => {
            // Canonical, so that `a.yaml`, `./a.yaml` and `../d/a.yaml` are one
            // pack to the cycle check (issue 9).
            // Relative references still resolve from the path as written.
            let path = absolute(base, reference);
            let read_error = |source| PackError::Read { path: path.display().to_string(), source };
            let canonical = std::fs::canonicalize(&path).map_err(read_error)?;
            let text = std::fs::read_to_string(&canonical).map_err(read_error)?;
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            (canonical.display().to_string(), text, dir)
        }
    };
    if chain.contains(&origin) {
        return Err(PackError::Cycle { origin });
    }
    if chain.len() >= MAX_EXTENDS_DEPTH {
        let message = format!("`extends` goes more than {MAX_EXTENDS_DEPTH} packs deep");
        return Err(PackError::Parse { origin, message });
    }
    chain.push(origin.clone());
    // Hashed as read and parsed: the bytes a signature covers are these.
    packs.push(Sha256::digest(text.as_bytes()).into());
    let file: PackFile = serde_norway::from_str(&text)
        .map_err(|err| PackError::Parse { origin: origin.clone(), message: crate::messages::parse_error(&err) })?;
    if let Some(parent) = &file.extends {
        resolve(parent, &dir, chain, specs, packs)?;
    }
    // Where each entry of this file went, to refuse one listed twice: also
    // when both would replace the same entry of the parent.
    let mut placed: Vec<usize> = Vec::with_capacity(file.modules.len());
    let inherited = specs.len();
    for spec in file.modules {
        let source = Source::parse(&spec.module, &dir);
        if let Some(id) = &spec.id
            && let Some(problem) = crate::names::name_problem(id)
        {
            let message = format!("module `{}` has an unusable id: {problem}", spec.module);
            return Err(PackError::Parse { origin, message });
        }
        let same = |(existing, other): &(Source, ModuleSpec)| *existing == source && other.id == spec.id;
        // A module the parent already has keeps its place; the child's
        // entry replaces its config, pin and mode.
        let at = specs[..inherited].iter().position(same).unwrap_or(specs.len());
        // Listed twice in one file is a mistake a silent override would
        // hide (issue 11); running a module twice takes an `id:` on each.
        if placed.contains(&at) || specs[inherited..].iter().any(same) {
            let message = match &spec.id {
                Some(id) => format!("module `{}` with id `{id}` is listed twice", spec.module),
                None => format!(
                    "module `{}` is listed twice; to run it twice (say, with two configs), give each entry its own `id:`",
                    spec.module
                ),
            };
            return Err(PackError::Parse { origin, message });
        }
        placed.push(at);
        match specs.get_mut(at) {
            Some(slot) => slot.1 = spec,
            None => specs.push((source, spec)),
        }
    }
    chain.pop();
    let name = file.name.unwrap_or_else(|| {
        Path::new(reference).file_stem().map_or(reference.to_string(), |s| s.to_string_lossy().into_owned())
    });
    Ok((name, origin, file.mode))
}

pub(crate) fn absolute(base: &Path, path: &str) -> PathBuf {
    let path = Path::new(path);
    if path.is_absolute() { path.to_path_buf() } else { base.join(path) }
}
