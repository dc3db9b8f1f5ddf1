"""Unit tests of the Python policy SDK, in plain CPython (no component):
`python3 -m unittest` in this directory."""

import dataclasses
import unittest
from dataclasses import dataclass, field
from typing import Optional

import memwarden_policy
from memwarden_policy import ConfigError, Decision, Op, PolicyModule, Verdict, cases, index, native, similarity
from memwarden_policy import wit_types as wit


class Banned(PolicyModule):
    name = "banned"
    version = "1.2.3"
    codes = {"banned_word": "a banned word", "shouting": "upper case", "secret_redacted": "a redaction"}

    @dataclass
    class Config:
        banned_words: list[str] = field(default_factory=lambda: ["todo"])
        max_ratio: float = 0.5
        limit: int = 3
        note: Optional[str] = None

        def __post_init__(self):
            if self.limit < 1:
                raise ValueError("limit must be positive")

    def check_change(self, change, context):
        body = (change.body or "").lower()
        if "secret" in body:
            amended = dataclasses.replace(change, body=body.replace("secret", "[redacted]"))
            return Verdict.amend("secret_redacted", "redacted", amended)
        for word in self.config.banned_words:
            if word in body:
                return Verdict.reject("banned_word", f"contains `{word}`")
        return Verdict.accept()

    def check_piece(self, edit, context):
        return Verdict.hold("shouting", "a person decides") if edit.after.isupper() else Verdict.accept()


Exported = memwarden_policy.export(Banned)


def add(name, body):
    return {"op": "add", "name": name, "type": "user", "description": "d", "body": body}


def cases_file(*cases_, **top):
    return {"crate": ".", **top, "cases": list(cases_)}


class ExportTests(unittest.TestCase):
    def test_info_lists_the_declared_codes(self):
        info = Exported().info()
        self.assertEqual((info.name, info.version), ("banned", "1.2.3"))
        self.assertEqual([c.code for c in info.codes], ["banned_word", "shouting", "secret_redacted"])

    def test_a_code_that_is_not_snake_case_fails_the_export(self):
        class Bad(PolicyModule):
            name = "bad"
            codes = {"Not-Snake": "x"}

        with self.assertRaisesRegex(TypeError, "snake_case"):
            memwarden_policy.export(Bad)

    def test_a_module_without_a_name_fails_the_export(self):
        with self.assertRaisesRegex(TypeError, "name"):
            memwarden_policy.export(type("Nameless", (PolicyModule,), {}))

    def test_an_unsupported_config_type_fails_the_export(self):
        @dataclass
        class Config:
            when: complex = 0j

        with self.assertRaisesRegex(TypeError, "when"):
            memwarden_policy.export(type("Odd", (PolicyModule,), {"name": "odd", "Config": Config}))

    def test_evaluate_lowers_every_verdict_kind(self):
        changes = [
            wit.MemoryChange(Op.ADD, n, "d", "user", body, None)
            for n, body in [("a", "ok"), ("b", "todo"), ("c", "a secret")]
        ]
        proposal = wit.Proposal("r", changes, wit.PieceEdit("p", None, "LOUD"))
        context = wit.Context("t", "j", "p", wit.RunOutcome.SUCCEEDED, 0, [], [])
        decision = Exported().evaluate(proposal, context, "")
        self.assertIsInstance(decision.memory[0], wit.Verdict_Accept)
        self.assertEqual(decision.memory[1].value, wit.Rejection("banned_word", "contains `todo`"))
        amended = decision.memory[2].value.change
        self.assertIsInstance(amended, wit.AmendedChange_Memory)
        self.assertEqual(amended.value.body, "a [redacted]")
        self.assertIsInstance(decision.piece, wit.Verdict_Hold)


class ConfigTests(unittest.TestCase):
    def refusal(self, config):
        with self.assertRaises(wit.Err) as caught:
            Exported().validate_config(config)
        return caught.exception.value

    def test_empty_and_null_mean_the_defaults(self):
        for config in ("", "  ", "null", "{}"):
            Exported().validate_config(config)
        self.assertEqual(Exported.schema.parse("").banned_words, ["todo"])

    def test_an_unknown_key_is_refused_by_name(self):
        self.assertIn("unknown config field `banned_word`", self.refusal('{"banned_word": ["x"]}'))

    def test_wrong_types_are_refused(self):
        self.assertIn("`limit`: expected an integer", self.refusal('{"limit": 1.5}'))
        self.assertIn("`limit`: expected an integer, found a boolean", self.refusal('{"limit": true}'))
        self.assertIn("`banned_words`: item 1: expected a string", self.refusal('{"banned_words": ["a", 2]}'))
        self.assertIn("`note`: expected a string", self.refusal('{"note": 3}'))
        self.assertIn("must be a mapping", self.refusal("[]"))
        self.assertIn("not JSON", self.refusal("{"))

    def test_a_float_field_takes_an_integer_and_an_optional_takes_null(self):
        config = Exported.schema.parse('{"max_ratio": 1, "note": null}')
        self.assertEqual((config.max_ratio, config.note), (1, None))

    def test_post_init_refusals_keep_their_message(self):
        self.assertEqual(self.refusal('{"limit": 0}'), "limit must be positive")

    def test_a_module_without_config_takes_only_an_empty_one(self):
        plain = memwarden_policy.export(type("Plain", (PolicyModule,), {"name": "plain"}))
        plain().validate_config("{}")
        with self.assertRaisesRegex(ConfigError, "unknown config field `x`"):
            native.validate_config(plain, '{"x": 1}')


class DecisionTests(unittest.TestCase):
    def test_the_first_reason_wins(self):
        proposal = wit.Proposal("r", [wit.MemoryChange(Op.REMOVE, "a", None, None, None, None)], None)
        decision = Decision.accept_all(proposal)
        decision.reject_change(0, "first", "m")
        decision.hold_change(0, "second", "m")
        decision.reject_piece("ignored", "no piece edit")
        self.assertEqual(decision.memory, [Verdict.reject("first", "m")])
        self.assertIsNone(decision.piece)
        self.assertFalse(decision.is_accepted(0))


class IndexTests(unittest.TestCase):
    def test_the_native_index_answers_as_the_host_does(self):
        entries = [native.Entry("b", "user", "d", "héllo"), native.Entry("a", "project", "d", "x", 7)]
        with native.use_index(native.MemoryIndex(entries)):
            self.assertEqual(index.stats(), wit.IndexStats(2, 7))
            self.assertEqual([e.name for e in index.entries()], ["a", "b"])
            self.assertEqual(index.lookup("b").body_bytes, 6)
            self.assertEqual(index.lookup("a").updated_at_ms, 7)
            self.assertIsNone(index.lookup("c"))
            self.assertEqual(index.body("b"), "héllo")
            self.assertEqual(index.entry_at(1).name, "b")
            self.assertIsNone(index.entry_at(2))
            self.assertEqual(index.fingerprints(), [similarity.fingerprint("x"), similarity.fingerprint("héllo")])
        with self.assertRaisesRegex(RuntimeError, "no tenant index"):
            index.stats()

    def test_the_body_hash_is_the_first_8_bytes_of_its_sha256(self):
        # sha256("") = e3b0c44298fc1c14...
        self.assertEqual(native.summary(native.Entry("e", "user", "d", "")).body_hash, 0xE3B0C44298FC1C14)


class SimilarityTests(unittest.TestCase):
    def test_normalisation_ignores_case_and_punctuation(self):
        self.assertEqual(similarity.similarity("Use tabs, not spaces!", "use tabs not spaces"), 1.0)
        self.assertEqual(similarity.shingles("Über Straße"), similarity.shingles("über straße"))
        self.assertEqual(similarity.shingles(""), [])

    def test_fingerprint_bits_follow_the_majority(self):
        self.assertEqual(similarity.fingerprint_of([0b011, 0b110, 0b001]), 0b011)
        self.assertEqual(similarity.fingerprint_of([]), 0)
        self.assertEqual(similarity.fingerprint_of([2**64 - 1] * 1000), 2**64 - 1)

    def test_small_edits_stay_within_candidate_distance(self):
        a = "The deploy script must run from the repository root because it reads relative paths"
        b = a.replace("because", "since")
        self.assertGreater(similarity.similarity(a, b), 0.7)
        distance = similarity.hamming(similarity.fingerprint(a), similarity.fingerprint(b))
        self.assertLessEqual(distance, similarity.CANDIDATE_MAX_DISTANCE)


class CasesTests(unittest.TestCase):
    def test_passing_cases_drop_host_codes(self):
        data = cases_file(
            {
                "name": "banned and unsafe",
                "proposal": {"reasoning": "r", "memory_changes": [add("../x", "todo"), add("a", "fine")]},
                "expect": {"memory": [["unsafe_name", "banned_word"], "accept"]},
            },
            {
                "name": "a hold and an amendment",
                "config": {"banned_words": []},
                "proposal": {
                    "reasoning": "r",
                    "memory_changes": [add("a", "my secret")],
                    "piece_edit": {"piece": "p", "yaml": "LOUD"},
                },
                "expect": {"memory": [["amend:secret_redacted"]], "piece": ["hold:shouting"]},
            },
        )
        self.assertEqual(cases.check(Exported, data), ([], 2))

    def test_a_wrong_expectation_is_a_diff(self):
        data = cases_file(
            {
                "name": "x",
                "proposal": {"reasoning": "r", "memory_changes": [add("a", "todo")]},
                "expect": {"memory": ["accept"]},
            }
        )
        failures, _ = cases.check(Banned, data)
        self.assertIn("- expected: accept", failures[0])
        self.assertIn("+ got:      reject [banned_word]", failures[0])

    def test_an_undeclared_code_is_a_policy_error(self):
        class Sloppy(Banned):
            def check_change(self, change, context):
                return Verdict.reject("never_declared", "oops")

        data = cases_file(
            {
                "name": "x",
                "proposal": {"reasoning": "r", "memory_changes": [add("a", "b")]},
                "expect": {"memory": [["policy_error"]]},
            }
        )
        self.assertEqual(cases.check(Sloppy, data), ([], 1))

    def test_the_wrong_number_of_verdicts_is_a_policy_error(self):
        class Short(Banned):
            def evaluate(self, proposal, context):
                return Decision([])

        data = cases_file(
            {
                "name": "x",
                "proposal": {"reasoning": "r", "memory_changes": [add("a", "b")]},
                "expect": {"memory": [["policy_error"]]},
            }
        )
        self.assertEqual(cases.check(Short, data), ([], 1))

    def test_the_index_comes_from_the_context_entries(self):
        class Counts(Banned):
            def check_change(self, change, context):
                found = index.lookup(change.name)
                return Verdict.reject("banned_word", "exists") if found else Verdict.accept()

        context = {"entries": [{"name": "a", "type": "user", "description": "d", "body": "b"}]}
        data = cases_file(
            {
                "name": "x",
                "proposal": {"reasoning": "r", "memory_changes": [add("a", "b"), add("c", "d")]},
                "expect": {"memory": [["banned_word"], "accept"]},
            },
            context=context,
        )
        self.assertEqual(cases.check(Counts, data), ([], 1))

    def test_unknown_fields_and_packs_are_refused(self):
        with self.assertRaisesRegex(cases.CasesFileError, "unknown field `expected`"):
            cases.check(Banned, cases_file({"name": "x", "proposal": {"reasoning": "r"}, "expected": {}}))
        with self.assertRaisesRegex(cases.CasesFileError, "pack"):
            cases.check(Banned, {"pack": "default", "cases": []})
        with self.assertRaisesRegex(cases.CasesFileError, "quote it"):
            proposal = {"reasoning": "r", "memory_changes": [add("a", True)]}
            cases.check(Banned, cases_file({"name": "x", "proposal": proposal, "expect": {"memory": ["accept"]}}))

    def test_a_refused_config_fails_the_case(self):
        data = cases_file({"name": "x", "config": {"limit": 0}, "proposal": {"reasoning": "r"}, "expect": {}})
        failures, _ = cases.check(Banned, data)
        self.assertIn("the config is refused: limit must be positive", failures[0])


if __name__ == "__main__":
    unittest.main()
