"""The types of `memwarden:policy@0.2.0` (`wit/policy.wit`).

Inside a component these are the classes componentize-py generated
(`wit_world.imports.types`): the host's proposal arrives as them and the
decision must leave as them. In plain CPython (native tests) there are no
bindings, so the same dataclasses are defined here, field for field, and a
policy cannot tell the two apart.
"""

try:
    from componentize_py_types import Err
    from wit_world.imports.types import (
        AmendedChange_Memory,
        AmendedChange_Piece,
        Amendment,
        CodeInfo,
        Context,
        Decision,
        EntrySummary,
        IndexStats,
        MemoryChange,
        ModuleInfo,
        Op,
        PieceEdit,
        PieceEditRecord,
        Proposal,
        Rejection,
        RunOutcome,
        Verdict_Accept,
        Verdict_Amend,
        Verdict_Hold,
        Verdict_Reject,
    )

    IN_COMPONENT = True
except ImportError:
    from dataclasses import dataclass
    from enum import Enum
    from typing import List, Optional, Union

    IN_COMPONENT = False

    class Err(Exception):
        """What `validate-config` raises to return `result::err`."""

        def __init__(self, value):
            super().__init__(value)
            self.value = value

    class Op(Enum):
        ADD = 0
        UPDATE = 1
        REMOVE = 2

    class RunOutcome(Enum):
        SUCCEEDED = 0
        FAILED = 1
        ABORTED = 2
        CONSOLIDATION = 3

    @dataclass
    class MemoryChange:
        op: Op
        name: str
        description: Optional[str]
        entry_type: Optional[str]
        body: Optional[str]
        merge_target: Optional[str]

    @dataclass
    class PieceEdit:
        piece: str
        before: Optional[str]
        after: str

    @dataclass
    class Proposal:
        reasoning: str
        memory_changes: List[MemoryChange]
        piece_edit: Optional[PieceEdit]

    @dataclass
    class PieceEditRecord:
        piece: str
        at_ms: int

    @dataclass
    class Context:
        tenant: str
        job_id: str
        piece: str
        run_outcome: RunOutcome
        now_ms: int
        piece_edits: List[PieceEditRecord]
        recent_writes: List[int]

    @dataclass
    class EntrySummary:
        name: str
        entry_type: str
        description: str
        body_bytes: int
        body_hash: int
        fingerprint: int
        updated_at_ms: int

    @dataclass
    class IndexStats:
        entries: int
        body_bytes: int

    @dataclass
    class Rejection:
        code: str
        message: str

    @dataclass
    class AmendedChange_Memory:
        value: MemoryChange

    @dataclass
    class AmendedChange_Piece:
        value: str

    @dataclass
    class Amendment:
        code: str
        message: str
        change: Union[AmendedChange_Memory, AmendedChange_Piece]

    @dataclass
    class Verdict_Accept:
        pass

    @dataclass
    class Verdict_Reject:
        value: Rejection

    @dataclass
    class Verdict_Hold:
        value: Rejection

    @dataclass
    class Verdict_Amend:
        value: Amendment

    @dataclass
    class Decision:
        memory: list
        piece: Optional[object]

    @dataclass
    class CodeInfo:
        code: str
        summary: str

    @dataclass
    class ModuleInfo:
        name: str
        version: str
        codes: List[CodeInfo]
