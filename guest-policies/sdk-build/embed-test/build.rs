//! Compiles the test sets the way a policy's `build.rs` would.

use memwarden_policy_sdk_build::{MatchKind, PatternSet, Representation, Searches};

#[path = "src/lists.rs"]
mod lists;

fn main() {
    println!("cargo::rerun-if-changed=src/lists.rs");
    PatternSet::new("PREFIXES").literals(lists::PREFIXES).write();
    PatternSet::new("LABELS").literals(lists::LABELS).case_insensitive(true).searches(Searches::Anchored).write();
    PatternSet::new("EMAILS").regexes([r"[a-z]+@[a-z]+\.(com|org)"]).write();
    PatternSet::new("TOPICS")
        .regexes([r"(?i)pass(word|phrase)", r"(?i)password reset"])
        .match_kind(MatchKind::All)
        .write();
    // The labels again, as a sparse DFA searched both ways.
    PatternSet::new("SPARSE_LABELS")
        .literals(lists::LABELS)
        .case_insensitive(true)
        .searches(Searches::Both)
        .representation(Representation::Sparse)
        .write();
}
