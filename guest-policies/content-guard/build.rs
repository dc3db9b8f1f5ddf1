//! Compiles content-guard's role-marker lists (`src/injection/markers.rs`)
//! to sparse DFAs when the module is built, so a fresh instance pays only
//! for the searches (see the SDK README, "The per-evaluation lifecycle and
//! its cost"). The lists stay where they are and are read here as a module;
//! `carriers` takes the sets with `include_patterns!`, and a match's pattern
//! id indexes the same list.
//!
//! Sparse, not dense: compared ignoring ASCII case, the lists have 66 byte
//! classes, so a dense DFA spends a 512-byte row on each of their few
//! hundred states: 415 KB for the three, against 19 KB sparse.
//!
//! Not compiled, because their tables would cost more than they save (sizes
//! measured sparse): the hiding styles, searched anywhere in a tag (13.5 KB
//! for 13 short strings: searched anywhere, every state keeps transitions
//! back to each style's first byte), the Chinese and Japanese override
//! words (21 KB), and the secret placeholder fillers and documented
//! examples (54 KB and 47 KB). Each is checked rarely, with `contains` or
//! `starts_with` over a short list.

use memwarden_policy_sdk_build::{PatternSet, Representation, Searches};

#[path = "src/injection/markers.rs"]
#[allow(dead_code)]
#[rustfmt::skip]
mod markers;

fn main() {
    println!("cargo::rerun-if-changed=src/injection/markers.rs");
    // Tried at one position each (a line start, a `<` or `[`, a `"`), and
    // compared ignoring ASCII case.
    let prefixes = [
        ("LINE_ROLE_SET", markers::LINE_ROLES),
        ("TEMPLATE_MARKER_SET", markers::TEMPLATE_MARKERS),
        ("JSON_ROLE_MARKER_SET", markers::JSON_ROLE_MARKERS),
    ];
    for (name, list) in prefixes {
        PatternSet::new(name)
            .literals(list)
            .case_insensitive(true)
            .searches(Searches::Anchored)
            .representation(Representation::Sparse)
            .write();
    }
}
