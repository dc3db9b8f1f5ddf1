"""The tenant's memory store as the host shows it during one evaluation:
read-only, and each call copies into the module only what it returns.

Inside a component the calls go to the host's `tenant-index` import. In
plain CPython they go to the index `native.use_index` installed (the
native cases runner builds one from the cases file's `context.entries`).
"""

try:
    from wit_world.imports import tenant_index as _host
except ImportError:
    _host = None

# The native backend, when one is installed; it wins over the host's so a
# checkout with generated bindings lying around still tests natively.
_native = None


def _backend():
    backend = _native or _host
    if backend is None:
        raise RuntimeError("no tenant index outside a component: run the policy through memwarden_policy.native")
    return backend


def stats():
    """`IndexStats`: the number of entries and their total body bytes."""
    return _backend().stats()


def lookup(name):
    """The `EntrySummary` of the entry called `name`, or None."""
    return _backend().lookup(name)


def contains(name):
    """Whether an entry called `name` exists."""
    return lookup(name) is not None


def entries():
    """Every entry's `EntrySummary`, ordered by name. Copies the whole
    index: prefer `lookup` or `fingerprints` when they suffice."""
    return _backend().entries()


def fingerprints():
    """Every entry's similarity fingerprint (int), in the order of `entries`."""
    return _backend().fingerprints()


def entry_at(position):
    """The `EntrySummary` at `position` in the order of `entries`, or None."""
    return _backend().entry_at(position)


def body(name):
    """The body (str) of the entry called `name`, or None."""
    return _backend().body(name)
