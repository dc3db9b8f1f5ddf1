"""Write a memwarden policy module in Python: subclass `PolicyModule`, then
`Policy = export(MyPolicy)`. The guide is README.md beside this package.

Pure Python and the standard library only. Inside a component the WIT
types are componentize-py's generated bindings; in plain CPython (native
tests, `native`, `cases`) identical dataclasses stand in for them.
"""

from . import index
from .config import ConfigError
from .module import PolicyModule, export
from .verdicts import Decision, Verdict
from .wit_types import (
    Context,
    EntrySummary,
    IndexStats,
    MemoryChange,
    Op,
    PieceEdit,
    PieceEditRecord,
    Proposal,
    RunOutcome,
)

__all__ = [
    "ConfigError",
    "Context",
    "Decision",
    "EntrySummary",
    "IndexStats",
    "MemoryChange",
    "Op",
    "PieceEdit",
    "PieceEditRecord",
    "PolicyModule",
    "Proposal",
    "RunOutcome",
    "Verdict",
    "export",
    "index",
    "utf8_len",
]


def utf8_len(text):
    """The size of `text` in UTF-8 bytes, as the host and the Rust SDK
    measure it; `None` counts as empty. ASCII text is not copied."""
    if text is None:
        return 0
    return len(text) if text.isascii() else len(text.encode())
