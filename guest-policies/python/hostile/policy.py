"""`hostile-python`: a Python module that misbehaves on purpose, for the
host's containment tests (tests/all/policy_languages.rs). Its config picks
how:

- `accept`: accepts everything (the module loads and works);
- `loop`: never returns (fuel or the wall-clock deadline must stop it);
- `grow`: allocates without bound (the memory limit must stop it);
- `recurse`: recurses without bound, with Python's own recursion limit
  lifted so that the sandbox, not the interpreter, has to stop it.

Each mode must end in `policy_error` for every change and leave the
engine deciding the next proposal as usual.
"""

import sys
from dataclasses import dataclass

import memwarden_policy
from memwarden_policy import Decision, PolicyModule

MODES = ("accept", "loop", "grow", "recurse")


def loop_forever():
    spins = 0
    while True:
        spins += 1


def grow_forever():
    # 1 MiB at a time, each kept alive, so nothing can be freed.
    hoard = []
    while True:
        hoard.append(bytearray(1 << 20))


def recurse(depth):
    return recurse(depth + 1) + 1


class Hostile(PolicyModule):
    name = "hostile-python"
    version = "0.1.0"
    codes = {}

    @dataclass
    class Config:
        mode: str = "accept"

        def __post_init__(self):
            if self.mode not in MODES:
                raise ValueError(f"mode must be one of {', '.join(MODES)}, not `{self.mode}`")

    def evaluate(self, proposal, context):
        mode = self.config.mode
        if mode == "loop":
            loop_forever()
        elif mode == "grow":
            grow_forever()
        elif mode == "recurse":
            sys.setrecursionlimit(1 << 30)
            recurse(0)
        return Decision.accept_all(proposal)


Policy = memwarden_policy.export(Hostile)
