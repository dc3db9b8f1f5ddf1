"""`size-limits` in Python: the port of guest-policies/size-limits/src/lib.rs,
with the same codes, config and verdicts, held to the same cases.yaml.

Keeps each change, each proposal and the whole store within bounds.
Store-wide limits account for the changes of the proposal in order, so the
first changes that fit are accepted and the rest refused.
"""

from dataclasses import dataclass, fields

import memwarden_policy
from memwarden_policy import Decision, Op, PolicyModule, index, utf8_len

U32_MAX = (1 << 32) - 1
U64_MAX = (1 << 64) - 1


class SizeLimits(PolicyModule):
    name = "size-limits"
    version = "0.1.0"
    codes = {
        "body_too_large": "a body is over `max_body_bytes` (default 8192)",
        "description_too_long": "a description is over `max_description_bytes` (default 200)",
        "name_too_long": "a name is over `max_name_bytes` (default 64)",
        "too_many_entries": "an add would take the store past `max_entries` (default 500)",
        "store_too_large": "a change would take the store's bodies past `max_total_bytes` (default 1 MiB)",
        "too_many_changes": "the proposal has more than `max_changes` memory changes (default 20); all are refused",
        "piece_too_large": "the new piece YAML is over `max_piece_bytes` (default 16 KiB)",
    }

    @dataclass
    class Config:
        max_body_bytes: int = 8192
        max_description_bytes: int = 200
        max_name_bytes: int = 64
        max_entries: int = 500
        max_total_bytes: int = 1 << 20
        max_changes: int = 20
        max_piece_bytes: int = 16 * 1024

        def __post_init__(self):
            # The Rust module's fields are u64 and u32 (the counts): the same
            # ranges, so both refuse the same configs.
            for field in fields(self):
                largest = U32_MAX if field.name in ("max_entries", "max_changes") else U64_MAX
                if not 0 <= getattr(self, field.name) <= largest:
                    raise ValueError(f"`{field.name}` must be between 0 and {largest}")
            if self.max_changes == 0 or self.max_body_bytes == 0:
                raise ValueError("max_changes and max_body_bytes must be positive")

    def evaluate(self, proposal, context):
        limits = self.config
        decision = Decision.accept_all(proposal)
        changes = proposal.memory_changes
        if len(changes) > limits.max_changes:
            message = f"{len(changes)} changes in one proposal, at most {limits.max_changes}"
            for position in range(len(changes)):
                decision.reject_change(position, "too_many_changes", message)

        for position, change in enumerate(changes):
            oversized = self.oversized_field(change)
            if oversized:
                code, what, size, largest = oversized
                decision.reject_change(position, code, f"{what} is {size} bytes, at most {largest}")

        # Store-wide limits: walk the accepted changes in order, keeping a
        # running count and total.
        stats = index.stats()
        entries, total = stats.entries, stats.body_bytes
        for position, change in enumerate(changes):
            if not decision.is_accepted(position):
                continue
            existing = index.lookup(change.name)
            old_bytes = 0 if existing is None else existing.body_bytes
            next_entries, next_total = entries, total
            if change.op == Op.ADD:
                next_entries, next_total = entries + 1, total + utf8_len(change.body)
            elif change.op == Op.UPDATE and change.body is not None:
                next_total = max(total + utf8_len(change.body) - old_bytes, 0)
            elif change.op == Op.REMOVE and existing is not None:
                next_entries, next_total = entries - 1, max(total - old_bytes, 0)
            if next_entries > limits.max_entries and next_entries > entries:
                message = f"the store holds {entries} entries, at most {limits.max_entries}"
                decision.reject_change(position, "too_many_entries", message)
            elif next_total > limits.max_total_bytes and next_total > total:
                message = f"the store would hold {next_total} bytes, at most {limits.max_total_bytes}"
                decision.reject_change(position, "store_too_large", message)
            else:
                entries, total = next_entries, next_total

        edit = proposal.piece_edit
        if edit is not None and utf8_len(edit.after) > limits.max_piece_bytes:
            message = f"the piece is {utf8_len(edit.after)} bytes, at most {limits.max_piece_bytes}"
            decision.reject_piece("piece_too_large", message)
        return decision

    def oversized_field(self, change):
        """The first of name, description and body over its limit, as
        (code, what, size, limit); None when all fit."""
        limits = self.config
        for code, what, size, largest in (
            ("name_too_long", "the name", utf8_len(change.name), limits.max_name_bytes),
            ("description_too_long", "the description", utf8_len(change.description), limits.max_description_bytes),
            ("body_too_large", "the body", utf8_len(change.body), limits.max_body_bytes),
        ):
            if size > largest:
                return code, what, size, largest
        return None


Policy = memwarden_policy.export(SizeLimits)
