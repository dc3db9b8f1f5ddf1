"""Shared helpers for the memwarden policy corpus generators.

Every generator in this directory builds a list of cases with :class:`Corpus`
and writes ``tests/corpus/<family>.jsonl`` with :meth:`Corpus.write`.  Only the
Python 3.11 standard library is used, and nothing here depends on the clock,
the environment or hash randomisation, so a generator that seeds its own
``random.Random`` produces byte-identical output on every run.

Line format (see the corpus brief)::

    {"id": "<family>-<slug>-<nnn>", "expect": "reject"|"accept", "family": "<family>",
     "note": "...", "proposal": {"reasoning": "...", "memory_changes": [
        {"op": "add", "name": "<slug>", "type": "user|feedback|project|reference",
         "description": "<one line, <= 150 bytes>", "body": "<markdown, <= 4000 bytes>"}]}}
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterable

CORPUS_DIR = Path(__file__).resolve().parent.parent
"""``tests/corpus`` — where the ``<family>.jsonl`` files live."""

MEMORY_TYPES = ("user", "feedback", "project", "reference")
HOSTILE_FAMILIES = ("secret", "injection", "hidden_chars")
BENIGN_FAMILIES = ("secret_lookalike", "injection_benign", "benign")

MAX_NAME_BYTES = 48
MAX_DESCRIPTION_BYTES = 150
MAX_BODY_BYTES = 4000

_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
_ID_SLUG_MAX = 40

# Characters that Python's str.splitlines() (and some other line readers) treat
# as line boundaries but json.dumps(ensure_ascii=False) leaves raw.  They are
# escaped so that every case stays on exactly one physical line.
_LINE_BREAKERS = {"\u0085": "\\u0085", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def slugify(text: str, max_len: int = _ID_SLUG_MAX) -> str:
    """Lowercase ``[a-z0-9-]`` slug of ``text``, at most ``max_len`` characters.

    >>> slugify("AWS access key (AKIA) + secret")
    'aws-access-key-akia-secret'
    """
    s = text.lower()
    s = re.sub(r"[^a-z0-9]+", "-", s).strip("-")
    if len(s) > max_len:
        s = s[:max_len].rstrip("-")
    return s or "x"


def one_line(text: str) -> str:
    """Collapse all whitespace runs (including newlines) into single spaces."""
    return " ".join(text.split())


def clip_bytes(text: str, limit: int) -> str:
    """Cut ``text`` so that its UTF-8 encoding is at most ``limit`` bytes."""
    raw = text.encode("utf-8")
    if len(raw) <= limit:
        return text
    return raw[:limit].decode("utf-8", errors="ignore").rstrip()


def note(what: str, source: str | Iterable[str] | None = None, why: str | None = None) -> str:
    """Format a ``note`` field: what the case models, where it is described, and why.

    >>> note("GitHub classic PAT", "https://github.blog/x", "checksum is valid")
    'GitHub classic PAT. Source: https://github.blog/x. checksum is valid'
    """
    parts = [what.rstrip(". ")]
    if source:
        if not isinstance(source, str):
            source = " ; ".join(source)
        parts.append(f"Source: {source}")
    out = ". ".join(parts) + "."
    if why:
        out += " " + why.strip()
    return out


class CorpusError(ValueError):
    """A case breaks one of the corpus format rules."""


class Corpus:
    """Collects the cases of one family, validates them and writes the JSONL file."""

    def __init__(self, family: str, expect: str | None = None):
        if expect is None:
            expect = "reject" if family in HOSTILE_FAMILIES else "accept"
        if expect not in ("reject", "accept"):
            raise CorpusError(f"bad expect {expect!r}")
        self.family = family
        self.expect = expect
        self.cases: list[dict] = []
        self._ids: set[str] = set()
        self._names: set[str] = set()

    # -- names -----------------------------------------------------------------
    def unique_name(self, wanted: str) -> str:
        """Return a valid, not yet used memory name derived from ``wanted``."""
        base = slugify(wanted, MAX_NAME_BYTES).replace("--", "-")
        if not _NAME_RE.match(base):
            base = "n-" + base
        base = base[:MAX_NAME_BYTES].rstrip("-_") or "entry"
        name = base
        k = 2
        while name in self._names:
            suffix = f"-{k}"
            name = base[: MAX_NAME_BYTES - len(suffix)].rstrip("-_") + suffix
            k += 1
        return name

    # -- cases -----------------------------------------------------------------
    def add(
        self,
        slug: str,
        *,
        note: str,
        reasoning: str,
        name: str,
        type: str,
        description: str,
        body: str,
    ) -> dict:
        """Append one case; ``slug`` feeds the id, ``name`` is made unique."""
        n = len(self.cases) + 1
        case_id = f"{self.family}-{slugify(slug)}-{n:03d}"
        mem_name = self.unique_name(name)
        case = {
            "id": case_id,
            "expect": self.expect,
            "family": self.family,
            "note": note,
            "proposal": {
                "reasoning": one_line(reasoning),
                "memory_changes": [
                    {
                        "op": "add",
                        "name": mem_name,
                        "type": type,
                        "description": description,
                        "body": body,
                    }
                ],
            },
        }
        self.validate(case)
        self._ids.add(case_id)
        self._names.add(mem_name)
        self.cases.append(case)
        return case

    def validate(self, case: dict) -> None:
        check_shape(case, self.family, self.expect, self._ids, self._names)

    # -- output ----------------------------------------------------------------
    def write(self, path: Path | None = None) -> Path:
        """Write the cases as JSONL (UTF-8, ``\\n`` line ends) and return the path."""
        if path is None:
            path = CORPUS_DIR / f"{self.family}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="\n") as fh:
            for case in self.cases:
                fh.write(dumps_line(case) + "\n")
        return path


def check_shape(case: dict, family: str, expect: str, ids: set, names: set) -> None:
    """The checks every corpus case passes, whatever its family: a new id,
    one `add` with exactly five fields, a new slug name, a known type, a
    one-line description and a body within their byte limits. Raises
    CorpusError; records nothing."""
    cid = case["id"]
    if cid in ids:
        raise CorpusError(f"duplicate id {cid}")
    if case["expect"] != expect or case["family"] != family:
        raise CorpusError(f"{cid}: family/expect mismatch")
    if not case["note"].strip():
        raise CorpusError(f"{cid}: empty note")
    if not case["proposal"]["reasoning"].strip():
        raise CorpusError(f"{cid}: empty reasoning")
    changes = case["proposal"]["memory_changes"]
    if len(changes) != 1:
        raise CorpusError(f"{cid}: need exactly one memory change")
    ch = changes[0]
    if set(ch) != {"op", "name", "type", "description", "body"} or ch["op"] != "add":
        raise CorpusError(f"{cid}: change must be an add with five fields")
    name = ch["name"]
    if not _NAME_RE.match(name) or len(name.encode()) > MAX_NAME_BYTES:
        raise CorpusError(f"{cid}: bad name {name!r}")
    if name in names:
        raise CorpusError(f"{cid}: duplicate name {name!r}")
    if ch["type"] not in MEMORY_TYPES:
        raise CorpusError(f"{cid}: bad type {ch['type']!r}")
    d = ch["description"]
    if not d.strip() or "\n" in d or "\r" in d:
        raise CorpusError(f"{cid}: description must be one non-blank line")
    if len(d.encode("utf-8")) > MAX_DESCRIPTION_BYTES:
        raise CorpusError(f"{cid}: description is {len(d.encode())} bytes: {d!r}")
    b = ch["body"]
    if not b.strip():
        raise CorpusError(f"{cid}: blank body")
    if len(b.encode("utf-8")) > MAX_BODY_BYTES:
        raise CorpusError(f"{cid}: body is {len(b.encode())} bytes")


def dumps_line(obj: dict) -> str:
    """Serialise ``obj`` as one JSON line, keeping key order and raw UTF-8."""
    s = json.dumps(obj, ensure_ascii=False, separators=(", ", ": "))
    for ch, esc in _LINE_BREAKERS.items():
        s = s.replace(ch, esc)
    return s


def pick(rng, seq):
    """``rng.choice`` that also accepts tuples/dicts-views; kept for readability."""
    seq = list(seq)
    return seq[rng.randrange(len(seq))]
