//! A policy module that misbehaves on purpose, chosen by its config, so the
//! host's containment can be tested against real compiled code: endless
//! loops, unbounded memory, deep recursion, panics and malformed answers.

use memwarden_policy_sdk::serde::Deserialize;
use memwarden_policy_sdk::{Context, Decision, MemoryChange, Policy, Proposal, Verdict, export_policy, index};

#[derive(Deserialize, Default)]
#[serde(crate = "memwarden_policy_sdk::serde", default, deny_unknown_fields)]
/// The module, and its config as rule packs write it.
pub struct Hostile {
    behaviour: Behaviour,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(crate = "memwarden_policy_sdk::serde", rename_all = "snake_case")]
enum Behaviour {
    /// Behave: accept everything.
    #[default]
    Accept,
    /// Reject everything with code `hostile`.
    RejectAll,
    /// Never return.
    Loop,
    /// Allocate until the memory limit stops it.
    GrowMemory,
    /// Recurse with small frames until the wasm stack limit stops it.
    Recurse,
    /// Recurse with large frames, which live on the guest's shadow stack in
    /// linear memory, until it runs off the bottom of memory.
    DeepFrames,
    /// Panic (a trap, since guests abort on panic).
    Panic,
    /// Return one verdict too few.
    WrongCount,
    /// Return a piece verdict although there is no piece edit.
    ExtraPieceVerdict,
    /// Read the whole index over and over, then accept.
    IndexFlood,
    /// Reject with a code `info` does not declare.
    UndeclaredCode,
    /// Hold every change for review (`hostile_hold`).
    HoldAll,
    /// Amend every memory body, writing `[redacted]` for each `XYZZY`
    /// (`hostile_amend`); bodies without it are accepted, so the amended
    /// change passes the re-check.
    AmendBodies,
    /// Amend every memory change with another name: not allowed.
    AmendName,
    /// Amend every body by appending `!`, again on the re-check: never
    /// settles.
    AmendAgain,
    /// Amend the piece edit's YAML, adding a comment line.
    AmendPiece,
    /// Count evaluations in a static and reject (`hostile`) when an earlier
    /// one left its mark: each evaluation must start from a fresh instance,
    /// also when the host starts it from a configured snapshot.
    RememberCalls,
}

/// Evaluations this instance has seen; see [`Behaviour::RememberCalls`].
static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl Policy for Hostile {
    const NAME: &'static str = "hostile";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const CODES: &'static [(&'static str, &'static str)] = &[
        ("hostile", "rejected by the hostile test module"),
        ("hostile_hold", "held for review by the hostile test module"),
        ("hostile_amend", "amended by the hostile test module"),
    ];

    fn evaluate(&self, proposal: &Proposal, _context: &Context) -> Decision {
        let mut decision = Decision::accept_all(proposal);
        match self.behaviour {
            Behaviour::Accept => {}
            Behaviour::RejectAll => {
                decision.memory.fill(Verdict::reject("hostile", "rejected on purpose"));
                decision.reject_piece("hostile", "rejected on purpose");
            }
            Behaviour::Loop => {
                let mut counter: u64 = 0;
                loop {
                    counter = std::hint::black_box(counter.wrapping_add(1));
                }
            }
            Behaviour::GrowMemory => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
                }
            }
            Behaviour::Recurse => {
                std::hint::black_box(recurse(std::hint::black_box(1)));
            }
            Behaviour::DeepFrames => {
                std::hint::black_box(deep_frames(std::hint::black_box(1)));
            }
            Behaviour::Panic => panic!("hostile module panics on purpose"),
            Behaviour::WrongCount => {
                decision.memory.pop();
            }
            Behaviour::ExtraPieceVerdict => decision.piece = Some(Verdict::Accept),
            Behaviour::UndeclaredCode => decision.memory.fill(Verdict::reject("never_declared", "a surprise")),
            Behaviour::HoldAll => {
                decision.memory.fill(Verdict::hold("hostile_hold", "held on purpose"));
            }
            Behaviour::AmendBodies => {
                for (verdict, change) in decision.memory.iter_mut().zip(&proposal.memory_changes) {
                    if change.body_text().contains("XYZZY") {
                        let amended = MemoryChange {
                            body: Some(change.body_text().replace("XYZZY", "[redacted]")),
                            ..change.clone()
                        };
                        *verdict = Verdict::amend("hostile_amend", "redacted the magic word", amended);
                    }
                }
            }
            Behaviour::AmendName => {
                for (verdict, change) in decision.memory.iter_mut().zip(&proposal.memory_changes) {
                    let amended = MemoryChange { name: format!("{}-renamed", change.name), ..change.clone() };
                    *verdict = Verdict::amend("hostile_amend", "renamed", amended);
                }
            }
            Behaviour::AmendAgain => {
                for (verdict, change) in decision.memory.iter_mut().zip(&proposal.memory_changes) {
                    let amended = MemoryChange { body: Some(format!("{}!", change.body_text())), ..change.clone() };
                    *verdict = Verdict::amend("hostile_amend", "one more", amended);
                }
            }
            Behaviour::AmendPiece => {
                if let (Some(verdict), Some(edit)) = (decision.piece.as_mut(), &proposal.piece_edit)
                    && !edit.after.starts_with("# amended")
                {
                    let yaml = format!("# amended\n{}", edit.after);
                    *verdict = Verdict::amend_piece("hostile_amend", "added a comment", yaml);
                }
            }
            Behaviour::RememberCalls => {
                let earlier = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if earlier > 0 {
                    decision.memory.fill(Verdict::reject("hostile", "state leaked from an earlier evaluation"));
                }
            }
            Behaviour::IndexFlood => {
                for _ in 0..1000 {
                    std::hint::black_box(index::entries());
                }
            }
        }
        decision
    }
}

#[allow(unconditional_recursion)]
fn recurse(depth: u64) -> u64 {
    // black_box on the result keeps LLVM from turning this into a loop.
    std::hint::black_box(recurse(std::hint::black_box(depth + 1))) ^ depth
}

#[allow(unconditional_recursion)]
fn deep_frames(depth: u64) -> u64 {
    let frame = std::hint::black_box([depth; 512]);
    deep_frames(depth + 1).wrapping_add(frame[(depth % 512) as usize])
}

export_policy!(Hostile);
