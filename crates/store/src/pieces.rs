//! The piece catalog: the built-in pieces from `pieces/`, embedded at build
//! time, each checked when first listed.

use memwarden_piece::Piece;

/// The built-in pieces: (name, YAML).
const BUILTIN: &[(&str, &str)] = &[
    ("bug-triage", include_str!("../../../pieces/bug-triage.yaml")),
    ("plan-implement-review", include_str!("../../../pieces/plan-implement-review.yaml")),
    ("research", include_str!("../../../pieces/research.yaml")),
];

/// The YAML of built-in piece `name`.
pub fn builtin(name: &str) -> Option<&'static str> {
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, yaml)| *yaml)
}

/// Every built-in piece: (name, YAML).
pub fn builtins() -> impl Iterator<Item = (&'static str, &'static str)> {
    BUILTIN.iter().copied()
}

/// Parses and checks a piece called `name`.
pub fn validate(name: &str, yaml: &str) -> Result<Piece, memwarden_piece::PieceError> {
    Piece::parse_valid(yaml, name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_builtin_piece_is_valid() {
        for (name, yaml) in super::builtins() {
            let piece = super::validate(name, yaml).unwrap_or_else(|err| panic!("piece `{name}`: {err}"));
            assert!(piece.movements.len() >= 2, "{name}");
        }
    }
}
