"""What a policy answers: a `Verdict` per change, gathered in a `Decision`.

These are the SDK's own small classes, the same inside a component and in
native tests; `lower` turns a `Decision` into the WIT types once, at the
export, so a policy never builds the generated variant classes by hand.
"""

import dataclasses

from . import wit_types as wit

ACCEPT = "accept"
REJECT = "reject"
HOLD = "hold"
AMEND = "amend"


class Verdict:
    """One change's verdict. Build it with `accept`, `reject`, `hold`,
    `amend` or `amend_piece`; `kind` is one of those words."""

    __slots__ = ("kind", "code", "message", "amended")

    def __init__(self, kind, code=None, message="", amended=None):
        self.kind = kind
        self.code = code
        self.message = message
        # A MemoryChange for an amended memory change, a str (the new YAML)
        # for an amended piece edit.
        self.amended = amended

    @staticmethod
    def accept():
        return ACCEPTED

    @staticmethod
    def reject(code, message):
        """Refuses the change with a declared snake_case `code`."""
        return Verdict(REJECT, code, message)

    @staticmethod
    def hold(code, message):
        """Neither applied nor refused: a person decides (the review queue).
        Any rejection by another module still wins."""
        return Verdict(HOLD, code, message)

    @staticmethod
    def amend(code, message, change):
        """Accepts `change` instead of the proposed memory change. Only its
        description and body may differ: build it with
        `dataclasses.replace(change, body=...)`. The host checks the
        amended change once more with every module, this one included."""
        return Verdict(AMEND, code, message, change)

    @staticmethod
    def amend_piece(code, message, yaml):
        """Accepts the YAML document `yaml` instead of the proposed piece."""
        return Verdict(AMEND, code, message, yaml)

    @property
    def is_accept(self):
        return self.kind == ACCEPT

    def __eq__(self, other):
        return isinstance(other, Verdict) and (self.kind, self.code, self.message, self.amended) == (
            other.kind,
            other.code,
            other.message,
            other.amended,
        )

    def __repr__(self):
        if self.kind == ACCEPT:
            return "Verdict.accept()"
        return f"Verdict.{self.kind}({self.code!r}, {self.message!r})"


ACCEPTED = Verdict(ACCEPT)


class Decision:
    """A module's answer to one proposal: a verdict per memory change, in
    proposal order, and one for the piece edit exactly when there is one.
    For rules across changes, start from `accept_all` and refine it."""

    __slots__ = ("memory", "piece")

    def __init__(self, memory, piece=None):
        self.memory = list(memory)
        self.piece = piece

    @staticmethod
    def accept_all(proposal):
        piece = None if proposal.piece_edit is None else ACCEPTED
        return Decision([ACCEPTED] * len(proposal.memory_changes), piece)

    def reject_change(self, index, code, message):
        """Rejects memory change `index` unless this module already gave it
        another verdict, so the first reason found is the one reported."""
        if self.memory[index].is_accept:
            self.memory[index] = Verdict.reject(code, message)

    def hold_change(self, index, code, message):
        """Holds memory change `index` unless it already has another verdict."""
        if self.memory[index].is_accept:
            self.memory[index] = Verdict.hold(code, message)

    def reject_piece(self, code, message):
        """Rejects the piece edit unless it is absent or already refused."""
        if self.piece is not None and self.piece.is_accept:
            self.piece = Verdict.reject(code, message)

    def is_accepted(self, index):
        return self.memory[index].is_accept

    def __repr__(self):
        return f"Decision({self.memory!r}, piece={self.piece!r})"


def lower_verdict(verdict):
    """The WIT `verdict` of an SDK `Verdict`."""
    kind = verdict.kind
    if kind == ACCEPT:
        return wit.Verdict_Accept()
    if kind == REJECT:
        return wit.Verdict_Reject(wit.Rejection(verdict.code, verdict.message))
    if kind == HOLD:
        return wit.Verdict_Hold(wit.Rejection(verdict.code, verdict.message))
    if kind == AMEND:
        amended = verdict.amended
        if isinstance(amended, str):
            change = wit.AmendedChange_Piece(amended)
        elif dataclasses.is_dataclass(amended):
            change = wit.AmendedChange_Memory(amended)
        else:
            raise TypeError(f"an amendment needs a MemoryChange or a YAML string, not {type(amended).__name__}")
        return wit.Verdict_Amend(wit.Amendment(verdict.code, verdict.message, change))
    raise TypeError(f"not a verdict: {verdict!r}")


def lower(decision):
    """The WIT `decision` of an SDK `Decision`; a policy that returned
    something else is a bug, reported as an exception (the host then
    refuses the proposal with `policy_error`)."""
    if not isinstance(decision, Decision):
        raise TypeError(f"evaluate must return a Decision, not {type(decision).__name__}")
    for verdict in [*decision.memory, decision.piece]:
        if verdict is not None and not isinstance(verdict, Verdict):
            raise TypeError(f"a verdict must be a Verdict, not {type(verdict).__name__}")
    memory = [lower_verdict(verdict) for verdict in decision.memory]
    piece = None if decision.piece is None else lower_verdict(decision.piece)
    return wit.Decision(memory, piece)
