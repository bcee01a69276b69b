"""Hypothesis strategies for garbage input, shared by the "garbage in" property tests."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Any code point, lone surrogates included: JSON can escape them ("\ud800").
strings = st.text(st.one_of(st.characters(), st.characters(categories=["Cs"])), max_size=12)
huge_integers = st.integers(min_value=10**18, max_value=10**300).flatmap(
    lambda n: st.sampled_from([n, -n])
)
json_leaves = st.one_of(
    st.none(), st.booleans(), st.integers(), huge_integers, st.floats(), strings
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(strings, inner, max_size=4),
    max_leaves=12,
)


def json_kind(value: Any) -> str:
    """The JSON type of a decoded value: null, bool, int, float, str, list or dict."""
    if value is None:
        return "null"
    return type(value).__name__  # bool is checked before int by its own name


def json_values_except(*kinds: str) -> st.SearchStrategy[Any]:
    """Any JSON value whose type is none of the given kinds."""
    return json_values.filter(lambda value: json_kind(value) not in kinds)
