"""Runs a cases file natively: the policy's own Python, called through its
export as the host would call the component, on the same `cases.yaml`
that `memwarden policy test` runs against the built component, read by the
same rules (CASES.md). One line in a test runs them all:

    memwarden_policy.cases.run(policy.Policy, "cases.yaml")

What only the host does is left out:
- its own checks (`unsafe_name`, `incomplete_change`, ...) do not run, so
  their codes are dropped from each `expect` before comparing;
- a `pack:` file runs several modules and cannot run here;
- a proposal over the host's change ceiling is evaluated like any other.

As in the host, a policy that raises, answers with the wrong number of
verdicts, or returns a code that is not snake_case or that it does not
declare gets `policy_error` on every change. Reading the file needs PyYAML
(the project's requirements.txt pins it); nothing here runs in a component.
"""

import json

from . import native
from . import wit_types as wit
from .module import SNAKE_CASE

# The host's own codes, `policy_error` aside: a cases file lists them in
# `expect`, but only the host produces them. Kept in step with the Rust
# SDK's `cases::HOST_CODES`.
HOST_CODES = frozenset(
    {
        "unsafe_name",
        "unknown_entry_type",
        "incomplete_change",
        "over_hard_limit",
        "control_character",
        "piece_not_own",
        "group_member_rejected",
        "group_member_held",
        "amend_refused",
        "amend_unsettled",
    }
)
POLICY_ERROR = "policy_error"


class CasesFileError(Exception):
    """A cases file that cannot be run: unreadable, or a field unknown or of the wrong kind."""


def run(policy, path):
    """Runs every case of the cases file at `path` through `policy` (the
    exported `Policy` or the policy class); prints a total and raises
    `AssertionError` listing the failures if a case fails."""
    import yaml

    with open(path, encoding="utf-8") as file:
        data = yaml.safe_load(file)
    failures, total = check(policy, data)
    print(f"{total - len(failures)} passed, {len(failures)} failed (natively; the host's checks left out)")
    if failures:
        raise AssertionError(f"cases failed in `{path}`:\n" + "\n".join(failures))


def check(policy, data):
    """The failures (one text per failing case) of the parsed cases file
    `data`, and the number of cases."""
    export = native.exported(policy)
    keys(data, "the cases file", required={"cases"}, optional={"pack", "module", "crate", "config", "context"})
    targets = [key for key in ("pack", "module", "crate") if key in data]
    if targets == ["pack"]:
        raise CasesFileError("the file names a pack, which runs several modules: run it with `memwarden policy test`")
    if len(targets) != 1:
        raise CasesFileError("name exactly one of `pack`, `module` and `crate`")
    failures = []
    for case in kind(data["cases"], list, "cases"):
        keys(case, "a case", required={"name", "proposal", "expect"}, optional={"config", "context"})
        lines = run_case(export, data, case)
        if lines:
            failures.append(f"FAIL {case['name']}\n" + "\n".join(lines))
    return failures, len(data["cases"])


def run_case(export, data, case):
    """Diff lines of one case; none when it passes."""
    # As the host: a `null` or absent config is the policy's defaults.
    config = case.get("config")
    if config is None:
        config = data.get("config")
    config = "" if config is None else json.dumps(config)
    try:
        export().validate_config(config)
    except wit.Err as err:
        return [f"  the config is refused: {err.value}"]
    context = case.get("context") or data.get("context") or {}
    proposal, context, store = inputs(case["proposal"], context)
    try:
        with native.use_index(store):
            decision = export().evaluate(proposal, context, config)
        memory, piece = outcomes(export, decision, proposal)
    except Exception as err:  # the host turns any trap into policy_error
        print(f"{case['name']}: the policy failed: {type(err).__name__}: {err}")
        memory = [{POLICY_ERROR} for _ in proposal.memory_changes]
        piece = None if proposal.piece_edit is None else {POLICY_ERROR}
    return compare(case["expect"], proposal, memory, piece)


def inputs(proposal, context):
    """The proposal, context and tenant index as the host would pass them."""
    keys(proposal, "a proposal", required={"reasoning"}, optional={"memory_changes", "piece_edit"})
    keys(
        context,
        "a context",
        optional={
            "tenant",
            "job_id",
            "piece",
            "run_outcome",
            "now_ms",
            "entries",
            "pieces",
            "piece_edits",
            "recent_writes",
        },
    )
    pieces = context.get("pieces") or {}
    edit = proposal.get("piece_edit")
    if edit is not None:
        keys(edit, "a piece edit", required={"piece", "yaml"})
        edit = wit.PieceEdit(text(edit, "piece"), pieces.get(edit["piece"]), text(edit, "yaml"))
    changes = [change(item) for item in proposal.get("memory_changes") or []]
    wanted = wit.Proposal(text(proposal, "reasoning"), changes, edit)
    # A context naming no piece is a run of the piece the proposal edits.
    piece = context.get("piece") or ("" if edit is None else edit.piece)
    for record in context.get("piece_edits") or []:
        keys(record, "a piece edit record", required={"piece", "at_ms"})
    job = wit.Context(
        tenant=context.get("tenant", "default"),
        job_id=context.get("job_id", "cli"),
        piece=piece,
        run_outcome=wit.RunOutcome[str(context.get("run_outcome", "succeeded")).upper()],
        now_ms=int(context.get("now_ms", 0)),
        piece_edits=[wit.PieceEditRecord(r["piece"], int(r["at_ms"])) for r in context.get("piece_edits") or []],
        recent_writes=[int(at) for at in context.get("recent_writes") or []],
    )
    entries = []
    for entry in context.get("entries") or []:
        keys(entry, "an entry", required={"name", "type", "description", "body"}, optional={"updated_at_ms"})
        fields = (text(entry, "name"), text(entry, "type"), text(entry, "description"), text(entry, "body"))
        entries.append(native.Entry(*fields, int(entry.get("updated_at_ms", 0))))
    return wanted, job, native.MemoryIndex(entries)


def change(item):
    keys(item, "a memory change", required={"op", "name"}, optional={"description", "type", "body", "merge_target"})
    op = item["op"]
    if op not in ("add", "update", "remove"):
        raise CasesFileError(f"unknown op `{op}`; expected add, update or remove")
    return wit.MemoryChange(
        op=wit.Op[op.upper()],
        name=text(item, "name"),
        description=text(item, "description", None),
        entry_type=text(item, "type", None),
        body=text(item, "body", None),
        merge_target=text(item, "merge_target", None),
    )


def outcomes(export, decision, proposal):
    """Each change's codes, and the piece edit's; raises as the host
    refuses a malformed answer."""
    changes = len(proposal.memory_changes)
    if len(decision.memory) != changes:
        raise ValueError(f"returned {len(decision.memory)} memory verdicts for {changes} changes")
    if (decision.piece is None) != (proposal.piece_edit is None):
        raise ValueError("returned a piece verdict if and only if there is no piece edit")
    declared = export.policy_class.codes
    memory = [codes_of(verdict, declared) for verdict in decision.memory]
    return memory, None if decision.piece is None else codes_of(decision.piece, declared)


def codes_of(verdict, declared):
    """The codes of one lowered verdict: empty for accept, `hold:code` for
    a hold, `amend:code` for an amendment."""
    if isinstance(verdict, wit.Verdict_Accept):
        return set()
    code = verdict.value.code
    if not (isinstance(code, str) and SNAKE_CASE.fullmatch(code)):
        raise ValueError(f"returned the malformed code {code!r}")
    if code not in declared:
        raise ValueError(f"returned the code `{code}`, which it does not declare")
    prefix = {wit.Verdict_Reject: "", wit.Verdict_Hold: "hold:", wit.Verdict_Amend: "amend:"}[type(verdict)]
    return {prefix + code}


def compare(expect, proposal, memory, piece):
    """Diff lines for every change whose codes differ from the expectation,
    host codes left out."""
    keys(expect, "an expect", optional={"memory", "piece"})
    expected_memory = expect.get("memory") or []
    lines = []
    if len(expected_memory) != len(memory):
        lines.append(f"  expected {len(expected_memory)} memory verdicts, the proposal has {len(memory)} changes")
    for position, (expected, got) in enumerate(zip(expected_memory, memory)):
        label = f"memory[{position}] `{proposal.memory_changes[position].name}`"
        diff(lines, label, expected_codes(expected), got)
    if "piece" in expect and expect["piece"] is not None:
        diff(lines, "piece", expected_codes(expect["piece"]), piece)
    elif piece is not None:
        diff(lines, "piece (no expectation given)", set(), piece)
    return lines


def expected_codes(outcome):
    """`accept` or a list of codes, as the set a module can produce natively."""
    if outcome == "accept":
        return set()
    if not isinstance(outcome, list) or not all(isinstance(code, str) for code in outcome):
        raise CasesFileError(f"expected `accept` or a list of codes, found {outcome!r}")
    return {code for code in outcome if code not in HOST_CODES}


def diff(lines, label, expected, got):
    if got != expected:
        lines.append(f"  {label}:")
        lines.append(f"    - expected: {show(expected)}")
        lines.append(f"    + got:      {'(no such change)' if got is None else show(got)}")


def show(codes):
    return f"reject [{', '.join(sorted(codes))}]" if codes else "accept"


def keys(mapping, what, required=frozenset(), optional=frozenset()):
    """Refuses unknown and missing fields, so a typo fails loudly."""
    kind(mapping, dict, what)
    for key in mapping:
        if key not in required and key not in optional:
            raise CasesFileError(f"{what}: unknown field `{key}`")
    for key in required:
        if key not in mapping:
            raise CasesFileError(f"{what}: missing field `{key}`")


def kind(value, expected, what):
    if not isinstance(value, expected):
        raise CasesFileError(f"{what} must be a {expected.__name__}, found {value!r}")
    return value


def text(mapping, key, default=...):
    """A string field; YAML reads `yes` or `10` unquoted as other types,
    which a policy would then see as a wrong body: ask for quotes."""
    if key not in mapping or mapping[key] is None:
        if default is ...:
            raise CasesFileError(f"missing field `{key}`")
        return default
    value = mapping[key]
    if not isinstance(value, str):
        raise CasesFileError(f"`{key}: {value!r}` must be a string: quote it")
    return value
