"""Runs every case of cases.yaml natively, in CPython: the policy's own
Python through the SDK's `cases` runner, with no component and no memwarden
host, so the host's own checks do not run (see CASES.md, "Running
natively"). `memwarden policy test cases.yaml` runs the same cases against
the built component.

    python3 test_cases.py        or        python3 -m unittest
"""

import sys
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
# The vendored SDK, and policy.py beside this file, as the build finds them
# (`-p vendor -p .`).
sys.path[:0] = [str(HERE / "vendor"), str(HERE)]

import policy  # noqa: E402
from memwarden_policy import cases  # noqa: E402


class Cases(unittest.TestCase):
    def test_cases_yaml_passes_natively(self):
        cases.run(policy.Policy, HERE / "cases.yaml")


if __name__ == "__main__":
    unittest.main()
