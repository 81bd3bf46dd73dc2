"""Key paths: where a leaf sits in a pytree, one key entry per node on the
way down to it (``jax.tree_util``'s key classes; irax.tree_util re-exports
them, and its flattening with paths makes them).

    SequenceKey(i)        [i]             a tuple or list item
    DictKey(k)            [repr(k)]       a dict value
    GetAttrKey(name)      .name           a namedtuple or dataclass field
    FlattenedIndexKey(i)  [<flat index i>]  child i of a custom node registered without keys

``keystr`` writes a path as text: ``"['w'][1][0]"``.
"""
import dataclasses
import operator
from collections.abc import Hashable
from typing import Any

KeyEntry = Any  # one step of a key path: one of the four classes below, or any object with a str
KeyPath = tuple[KeyEntry, ...]


@dataclasses.dataclass(frozen=True)
class SequenceKey:
    """Item ``idx`` of a tuple or list: ``str`` is ``[idx]``."""
    idx: int

    def __post_init__(self):
        object.__setattr__(self, "idx", operator.index(self.idx))  # np.int64(1) -> 1; "a" -> TypeError

    def __str__(self):
        return f"[{self.idx}]"


@dataclasses.dataclass(frozen=True)
class DictKey:
    """The value at ``key`` of a dict: ``str`` is ``[repr(key)]``."""
    key: Hashable

    def __str__(self):
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True)
class GetAttrKey:
    """Attribute ``name`` (a namedtuple or dataclass field): ``str`` is ``.name``."""
    name: str

    def __post_init__(self):
        if not isinstance(self.name, str):
            raise TypeError(f"GetAttrKey takes an attribute name (a str), got {self.name!r}")

    def __str__(self):
        return f".{self.name}"


@dataclasses.dataclass(frozen=True)
class FlattenedIndexKey:
    """Child ``key`` of a custom node registered without keys: ``str`` is ``[<flat index key>]``."""
    key: int

    def __post_init__(self):
        object.__setattr__(self, "key", operator.index(self.key))

    def __str__(self):
        return f"[<flat index {self.key}>]"


def keystr(keys: KeyPath, *, simple: bool = False, separator: str = "") -> str:
    """The key path as text: the ``str`` of each key, joined by ``separator``
    (``"['a'][0].x"``). ``simple=True`` writes bare keys (``a``, ``0``, ``x``):
    more compact, but ambiguous (``0`` may be a list index or a dict key)."""
    return separator.join(map(_bare_key if simple else str, keys))


def _bare_key(key):
    # Each key class has one field, and __match_args__ names it.
    keyed = isinstance(key, (SequenceKey, DictKey, GetAttrKey, FlattenedIndexKey))
    return str(getattr(key, key.__match_args__[0]) if keyed else key)
