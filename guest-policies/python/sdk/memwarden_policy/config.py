"""A policy's config: the rule pack's `config:` block, as JSON, read into the
policy's `Config` dataclass.

Reading is strict, as the Rust SDK's `deny_unknown_fields` is: an unknown
key (a typo in a rule pack) and a value of the wrong type are refused when
the pack loads (`validate-config`), with a message naming the field. Checks
beyond types go in the dataclass's `__post_init__`: a `ValueError` there
refuses the config with its message.

`Schema` inspects the dataclass's annotations once, in `export`, which runs
when the component is built; per call only the JSON is parsed and checked.
"""

import dataclasses
import json
import types
import typing


class ConfigError(Exception):
    """A config the module refuses; the message says why, in one line."""


@dataclasses.dataclass
class NoConfig:
    """The config of a module that takes none: only `{}` (or nothing)."""


class Schema:
    """How to read and check one `Config` dataclass."""

    def __init__(self, config_class):
        if not (isinstance(config_class, type) and dataclasses.is_dataclass(config_class)):
            raise TypeError(f"Config must be a dataclass, not {config_class!r}")
        hints = typing.get_type_hints(config_class)
        self.config_class = config_class
        self.fields = {field.name: hints.get(field.name, typing.Any) for field in dataclasses.fields(config_class)}
        self.required = [
            field.name
            for field in dataclasses.fields(config_class)
            if field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
        ]
        for name, hint in self.fields.items():
            if not supported(hint):
                raise TypeError(
                    f"Config field `{name}` has the type {hint!r}; the SDK reads bool, int, float, str, "
                    "list[...], dict[str, ...] and Optional[...]"
                )

    def parse(self, text):
        """The `Config` of the JSON `text`; empty or `null` means every
        default. Raises `ConfigError`."""
        text = text.strip()
        if text in ("", "null"):
            values = {}
        else:
            try:
                values = json.loads(text)
            except ValueError as err:
                raise ConfigError(f"the config is not JSON: {err}") from None
            if not isinstance(values, dict):
                raise ConfigError(f"the config must be a mapping, not {describe(values)}")
        for key, value in values.items():
            if key not in self.fields:
                known = ", ".join(f"`{name}`" for name in self.fields) or "none"
                raise ConfigError(f"unknown config field `{key}`; the fields are {known}")
            problem = mismatch(self.fields[key], value)
            if problem:
                raise ConfigError(f"config field `{key}`: {problem}")
        missing = [name for name in self.required if name not in values]
        if missing:
            raise ConfigError(f"missing config field `{missing[0]}`")
        try:
            return self.config_class(**values)
        except (ValueError, TypeError) as err:
            raise ConfigError(str(err)) from None


def supported(hint):
    """Whether `mismatch` can check values of the annotated type `hint`."""
    if hint in (typing.Any, object, bool, int, float, str, list, dict, type(None)):
        return True
    origin = typing.get_origin(hint)
    if origin in (list, dict, typing.Union, types.UnionType):
        return all(supported(arg) for arg in typing.get_args(hint))
    return False


def mismatch(expected, value):
    """Why `value` (from JSON) is not of the annotated type `expected`; an
    empty string when it is."""
    origin = typing.get_origin(expected)
    args = typing.get_args(expected)
    if expected is typing.Any or expected is object:
        return ""
    if origin is typing.Union or origin is types.UnionType:
        if value is None and type(None) in args:
            return ""
        problems = [mismatch(option, value) for option in args if option is not type(None)]
        return "" if "" in problems else problems[0]
    if expected is bool:
        return "" if isinstance(value, bool) else f"expected true or false, found {describe(value)}"
    if expected is int:
        # JSON has one number type, and Python's bool is an int: refuse
        # both `1.5` and `true` where an integer is meant.
        ok = isinstance(value, int) and not isinstance(value, bool)
        return "" if ok else f"expected an integer, found {describe(value)}"
    if expected is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return "" if ok else f"expected a number, found {describe(value)}"
    if expected is str:
        return "" if isinstance(value, str) else f"expected a string, found {describe(value)}"
    if origin is list or expected is list:
        if not isinstance(value, list):
            return f"expected a list, found {describe(value)}"
        item = args[0] if args else typing.Any
        for position, element in enumerate(value):
            problem = mismatch(item, element)
            if problem:
                return f"item {position}: {problem}"
        return ""
    if origin is dict or expected is dict:
        if not isinstance(value, dict):
            return f"expected a mapping, found {describe(value)}"
        item = args[1] if len(args) == 2 else typing.Any
        for key, element in value.items():
            problem = mismatch(item, element)
            if problem:
                return f"`{key}`: {problem}"
        return ""
    # INVARIANT: `Schema` refused every annotation `supported` does not know.
    raise TypeError(f"cannot check a config value against {expected!r}")


def describe(value):
    """`value` as a config message shows it: its JSON kind and text."""
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a mapping"}
    shown = json.dumps(value)
    if len(shown) > 40:
        shown = shown[:37] + "..."
    return f"{kind.get(type(value), 'null')} `{shown}`"
