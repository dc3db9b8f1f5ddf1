"""Running a policy in plain CPython, without a component or a host: for
unit tests of a policy's logic. The host is not there, so the caller gives
the tenant index.

    from memwarden_policy import native

    store = native.MemoryIndex([native.Entry("deploy-order", "project", "d", "Migrate first.")])
    with native.use_index(store):
        decision = native.evaluate(MyPolicy, proposal, context, config="{}")
"""

import bisect
import contextlib
import hashlib
from dataclasses import dataclass

from . import index, similarity
from . import wit_types as wit


@dataclass
class Entry:
    """One entry of the store, as a cases file's `context.entries` has it."""

    name: str
    entry_type: str
    description: str
    body: str
    updated_at_ms: int = 0


def summary(entry):
    """The `EntrySummary` the host's index gives `entry`: its size, the
    first 8 bytes of its body's SHA-256 (big-endian) and its fingerprint."""
    body = entry.body.encode()
    return wit.EntrySummary(
        name=entry.name,
        entry_type=entry.entry_type,
        description=entry.description,
        body_bytes=len(body),
        body_hash=int.from_bytes(hashlib.sha256(body).digest()[:8], "big"),
        fingerprint=similarity.fingerprint(entry.body),
        updated_at_ms=entry.updated_at_ms,
    )


class MemoryIndex:
    """An index over a list of `Entry`, sorted by name as the host's is."""

    def __init__(self, entries=()):
        entries = sorted(entries, key=lambda entry: entry.name)
        self._names = [entry.name for entry in entries]
        self._bodies = [entry.body for entry in entries]
        self._summaries = [summary(entry) for entry in entries]

    def _position(self, name):
        position = bisect.bisect_left(self._names, name)
        found = position < len(self._names) and self._names[position] == name
        return position if found else None

    def stats(self):
        return wit.IndexStats(len(self._summaries), sum(s.body_bytes for s in self._summaries))

    def lookup(self, name):
        position = self._position(name)
        return None if position is None else self._summaries[position]

    def entries(self):
        return list(self._summaries)

    def fingerprints(self):
        return [s.fingerprint for s in self._summaries]

    def entry_at(self, position):
        return self._summaries[position] if 0 <= position < len(self._summaries) else None

    def body(self, name):
        position = self._position(name)
        return None if position is None else self._bodies[position]


@contextlib.contextmanager
def use_index(backend):
    """Makes `backend` (a `MemoryIndex`, or anything with its methods) the
    tenant index that `memwarden_policy.index` reads, inside the block."""
    previous, index._native = index._native, backend
    try:
        yield backend
    finally:
        index._native = previous


def validate_config(policy, config=""):
    """Checks a config (JSON) as the host does when a pack loads: raises
    `ConfigError` with the module's message when it is refused. `policy`
    is the exported `Policy` or the policy class."""
    exported(policy).schema.parse(config)


def evaluate(policy, proposal, context, config=""):
    """The SDK `Decision` of `policy` (the exported `Policy` or the policy
    class) on `proposal`, with `config` as JSON; the index is whatever
    `use_index` installed."""
    module = exported(policy)
    return module.policy_class(module.schema.parse(config)).evaluate(proposal, context)


def exported(policy):
    """The export of a policy class, or the export itself."""
    from .module import Export, export

    return policy if isinstance(policy, type) and issubclass(policy, Export) else export(policy)
