"""`PolicyModule`, the class a policy subclasses, and `export`, which turns it
into the `Policy` class componentize-py exports as the world's `policy`
interface.

`export` runs when the app module is imported, and componentize-py imports
it at build time and snapshots the interpreter: the declaration checks,
the config schema and the `module-info` record are therefore built once,
and every evaluation starts with them in memory.
"""

import re

from . import wit_types as wit
from .config import ConfigError, NoConfig, Schema
from .verdicts import ACCEPTED, Decision, lower

SNAKE_CASE = re.compile(r"[a-z0-9_]{1,64}")


class PolicyModule:
    """A policy. Subclass it and set:

    - `name`: the module's name, as rule packs and decision records show it;
    - `version`: its version;
    - `codes`: every code it may return → a one-line summary;
    - `Config` (optional): a dataclass read from the rule pack's `config:`;

    and override `check_change` and `check_piece` (one change at a time)
    or `evaluate` (rules across changes). `self.config` is the `Config`
    of this evaluation.
    """

    name = ""
    version = "0.1.0"
    codes = {}
    Config = NoConfig

    def __init__(self, config):
        self.config = config

    def evaluate(self, proposal, context):
        """The `Decision` on a whole proposal. The default asks
        `check_change` for every memory change and `check_piece` for the
        piece edit."""
        memory = [self.check_change(change, context) for change in proposal.memory_changes]
        edit = proposal.piece_edit
        return Decision(memory, None if edit is None else self.check_piece(edit, context))

    def check_change(self, change, context):
        """The `Verdict` on one `MemoryChange` on its own."""
        return ACCEPTED

    def check_piece(self, edit, context):
        """The `Verdict` on the `PieceEdit`."""
        return ACCEPTED


class Export:
    """The `policy` interface of the WIT world, for one `PolicyModule`
    subclass; `export` makes one per policy. componentize-py calls these
    methods with the WIT types and expects the WIT types back."""

    policy_class = PolicyModule
    schema = Schema(NoConfig)
    module_info = None

    def info(self):
        return self.module_info

    def validate_config(self, config):
        try:
            self.schema.parse(config)
        except ConfigError as err:
            raise wit.Err(str(err)) from None

    def evaluate(self, proposal, context, config):
        # INVARIANT: the host checked this config with `validate-config`
        # when it loaded the pack; one that now fails raises, the component
        # traps, and the host fails closed with `policy_error`.
        policy = self.policy_class(self.schema.parse(config))
        return lower(policy.evaluate(proposal, context))


def export(policy_class):
    """The class to bind to the name `Policy` in the app module:

        Policy = memwarden_policy.export(MyPolicy)

    Checks the declaration now, at build time, so a mistake fails the
    build instead of every evaluation."""
    if not (isinstance(policy_class, type) and issubclass(policy_class, PolicyModule)):
        raise TypeError(f"export takes a subclass of PolicyModule, not {policy_class!r}")
    where = policy_class.__name__
    if not isinstance(policy_class.name, str) or not policy_class.name:
        raise TypeError(f"{where}.name must be the module's name, a non-empty string")
    if not isinstance(policy_class.version, str) or not policy_class.version:
        raise TypeError(f"{where}.version must be a non-empty string")
    if not isinstance(policy_class.codes, dict):
        raise TypeError(f"{where}.codes must be a dict of code to summary")
    for code, summary in policy_class.codes.items():
        if not (isinstance(code, str) and SNAKE_CASE.fullmatch(code)):
            raise TypeError(f"{where}.codes: `{code}` is not a snake_case code of at most 64 characters")
        if not isinstance(summary, str):
            raise TypeError(f"{where}.codes[{code!r}] must be a one-line summary")
    codes = [wit.CodeInfo(code, summary) for code, summary in policy_class.codes.items()]
    return type(
        "Policy",
        (Export,),
        {
            "policy_class": policy_class,
            "schema": Schema(policy_class.Config),
            "module_info": wit.ModuleInfo(policy_class.name, policy_class.version, codes),
        },
    )
