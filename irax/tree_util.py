"""Pytrees: nested containers of arrays, with the semantics of ``jax.tree_util``.

A pytree is either a *leaf* (any object whose type is not registered) or a
*node*: an object of a registered type that splits into ``(children, aux_data)``
and is rebuilt by ``unflatten(aux_data, children)``. Flattening a tree gives

    tree  ->  (leaves, treedef),   tree == tree_unflatten(treedef, leaves)

where ``leaves`` lists the leaves depth-first, left to right, and ``treedef``
(a :class:`PyTreeDef`) records the node types and aux data. Built-in nodes:

* ``tuple``, ``list``: children in order; ``None``: a node with no children.
* ``dict``: children in *sorted* key order; ``OrderedDict``: insertion order;
  ``defaultdict``: sorted keys, ``default_factory`` kept in the aux data.
* namedtuples (any ``tuple`` subclass with ``_fields``): children in field order.

    >>> tree_flatten({'b': (1, 2), 'a': None})
    ([1, 2], PyTreeDef({'a': None, 'b': (*, *)}))
"""
from __future__ import annotations

import collections
import dataclasses
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any

__all__ = ["PyTreeDef", "tree_flatten", "tree_unflatten", "tree_leaves",
           "tree_structure", "tree_map",
           "register_pytree_node", "register_pytree_node_class", "register_dataclass"]


def _flatten_dict(d):
    """``dict -> (values in sorted key order, sorted keys)``."""
    try:
        keys = tuple(sorted(d))
    except TypeError:
        raise ValueError("Comparator raised exception while sorting pytree "
                         "dictionary keys.") from None
    return [d[k] for k in keys], keys


# type -> (flatten(node) -> (children, aux_data), unflatten(aux_data, children) -> node)
_registry = {
    tuple: (lambda t: (t, None), lambda _, c: tuple(c)),
    list: (lambda l: (l, None), lambda _, c: list(c)),
    type(None): (lambda n: ((), None), lambda _, c: None),
    dict: (_flatten_dict, lambda keys, c: dict(zip(keys, c))),
    collections.OrderedDict: (lambda d: (list(d.values()), tuple(d)),
                              lambda keys, c: collections.OrderedDict(zip(keys, c))),
    collections.defaultdict: (
        lambda d: (lambda vals, keys: (vals, (d.default_factory, keys)))(*_flatten_dict(d)),
        lambda aux, c: collections.defaultdict(aux[0], zip(aux[1], c))),
}


def _is_namedtuple(typ):
    return typ not in _registry and issubclass(typ, tuple) and hasattr(typ, "_fields")


def _lookup(typ):
    """The (flatten, unflatten) pair of a node type, or None if ``typ`` is a leaf type."""
    if typ in _registry:
        return _registry[typ]
    if _is_namedtuple(typ):
        return (lambda t: (tuple(t), None), lambda _, c: typ(*c))
    return None


def register_pytree_node(nodetype: type, flatten_func: Callable[[Any], tuple[Iterable[Any], Any]],
                         unflatten_func: Callable[[Any, Iterable[Any]], Any]) -> None:
    """Make ``nodetype`` a pytree node: ``flatten_func(x) -> (children, aux_data)``,
    ``unflatten_func(aux_data, children) -> x``. aux_data must be hashable and
    comparable with ``==``; it is part of the treedef."""
    if nodetype in _registry:
        raise ValueError(f"Duplicate custom PyTreeDef type registration for {nodetype}.")
    _registry[nodetype] = (flatten_func, unflatten_func)


def register_pytree_node_class(cls: type) -> type:
    """Class decorator: register ``cls`` via its ``tree_flatten(self)`` method and
    ``tree_unflatten(cls, aux_data, children)`` classmethod."""
    register_pytree_node(cls, lambda x: x.tree_flatten(), cls.tree_unflatten)
    return cls


def register_dataclass(nodetype: type, data_fields: Sequence[str] | None = None,
                       meta_fields: Sequence[str] | None = None, drop_fields: Sequence[str] = ()) -> type:
    """Register a dataclass: ``data_fields`` are children, ``meta_fields`` are aux data.
    If both are omitted, fields with ``metadata={'static': True}`` are meta, the rest data."""
    if (data_fields is None) != (meta_fields is None):
        raise TypeError("register_dataclass: data_fields and meta_fields must both be "
                        "specified when either is specified.")
    if data_fields is None:
        fields = dataclasses.fields(nodetype)
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if f.name not in meta_fields]
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)
    if dataclasses.is_dataclass(nodetype):
        init = {f.name for f in dataclasses.fields(nodetype) if f.init} - set(drop_fields)
        if {*data_fields, *meta_fields} != init:
            raise ValueError("data_fields and meta_fields must include all dataclass fields "
                             "with ``init=True`` and only them.")
    register_pytree_node(
        nodetype,
        lambda x: (tuple(getattr(x, n) for n in data_fields),
                   tuple(getattr(x, n) for n in meta_fields)),
        lambda meta, data: nodetype(**dict(zip(meta_fields, meta)), **dict(zip(data_fields, data))))
    return nodetype


def _mismatch(path, what, mine, theirs):
    return ValueError(f"pytree structure error: different {what} at key path\n    tree{path}\n"
                      f"At that key path, the prefix pytree has a subtree with {mine}, "
                      f"but the full pytree has one with {theirs}.")


class PyTreeDef:
    """The structure of a pytree: a tree of (node type, aux data) with ``*`` for leaves.
    Immutable, hashable; equal iff node types, aux data and shapes all agree."""
    __slots__ = ("node_type", "aux_data", "_children", "num_leaves", "num_nodes", "_hash", "__weakref__")

    def __init__(self, node_type=None, aux_data=None, children=()):
        self.node_type, self.aux_data, self._children = node_type, aux_data, tuple(children)
        self.num_leaves = 1 if node_type is None else sum(c.num_leaves for c in children)
        self.num_nodes = 1 + sum(c.num_nodes for c in children)
        self._hash = None  # computed on first use: treedefs key the jit and grad caches

    def children(self) -> list[PyTreeDef]:
        """The treedefs of the direct subtrees."""
        return list(self._children)

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        """Rebuild a tree of this structure from ``num_leaves`` leaves."""
        leaves = list(leaves)
        n, got = self.num_leaves, len(leaves)
        if got < n:
            raise ValueError(f"Too few leaves for PyTreeDef; expected {n}, got {got}")
        if got > n:
            raise ValueError(f"Too many leaves for PyTreeDef; expected {n}.")
        return self._build(iter(leaves))

    def _build(self, it):
        if self.node_type is None:
            return next(it)
        unflatten = _lookup(self.node_type)[1]
        return unflatten(self.aux_data, [c._build(it) for c in self._children])

    def flatten_up_to(self, tree: Any) -> list[Any]:
        """Leaves of ``tree`` cut at this (prefix) structure: where the treedef has a
        leaf, the whole subtree of ``tree`` there is one "leaf". Mismatch -> ValueError."""
        out = []
        self._flatten_up_to(tree, out, "")
        return out

    def _flatten_up_to(self, tree, out, path):
        if self.node_type is None:
            return out.append(tree)
        typ = type(tree)
        if typ is not self.node_type:
            raise _mismatch(path, "types", f"type {self.node_type}", f"type {typ}")
        children, data = _lookup(typ)[0](tree)
        children = list(children)
        if len(children) != len(self._children):
            what = (f"lengths of {typ.__name__}" if typ in (tuple, list)
                    else "numbers of pytree children")
            raise _mismatch(path, what, f"{len(self._children)} children", len(children))
        if data != self.aux_data:
            raise _mismatch(path, "pytree metadata", f"metadata {self.aux_data!r}",
                            f"metadata {data!r}")
        for key, c, t in zip(self._keys(), self._children, children):
            c._flatten_up_to(t, out, path + key)

    def key_paths(self) -> list[str]:
        """The key path of every leaf, in flattening order: ["[0]['w']", "[1]", ...]."""
        if self.node_type is None:
            return [""]
        return [key + path for key, child in zip(self._keys(), self._children) for path in child.key_paths()]

    def _keys(self):
        """Key-path entries of the children, for error messages: [0], ['a'], .x, ..."""
        typ, n = self.node_type, len(self._children)
        if typ in (tuple, list):
            return [f"[{i}]" for i in range(n)]
        if typ in (dict, collections.OrderedDict, collections.defaultdict):
            keys = self.aux_data[1] if typ is collections.defaultdict else self.aux_data
            return [f"[{k!r}]" for k in keys]
        if _is_namedtuple(typ):
            return [f".{f}" for f in typ._fields]
        return [f"[<flat index {i}>]" for i in range(n)]

    def __eq__(self, other):
        return self is other or isinstance(other, PyTreeDef) and (
            self.node_type, self.aux_data, self._children) == (other.node_type, other.aux_data, other._children)

    def __hash__(self):
        if self._hash is None:
            self._hash = hash((self.node_type, self.aux_data, self._children))
        return self._hash

    def _repr(self):
        typ, kids = self.node_type, [c._repr() for c in self._children]
        if typ is None or typ is type(None):
            return "*" if typ is None else "None"
        if typ is tuple:
            return "(" + ", ".join(kids) + ("," if len(kids) == 1 else "") + ")"
        if typ is list:
            return "[" + ", ".join(kids) + "]"
        if typ is dict:
            return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(self.aux_data, kids)) + "}"
        name = (f"namedtuple[{typ.__name__}]" if _is_namedtuple(typ)
                else f"{typ.__name__}[{self.aux_data}]")
        return f"CustomNode({name}, [{', '.join(kids)}])"

    def __repr__(self):
        return f"PyTreeDef({self._repr()})"


def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list[Any], PyTreeDef]:
    """``tree -> (leaves, treedef)``. ``is_leaf(x) -> True`` stops recursion at ``x``."""
    leaves = []
    treedef = _flatten_into(tree, is_leaf, leaves)  # runs first: it fills `leaves`
    return leaves, treedef


def _flatten_into(x, is_leaf, leaves) -> PyTreeDef:
    # A module-level function, not a closure: a recursive closure is a
    # reference cycle, which would keep `leaves` (arrays, often big) alive
    # until the garbage collector runs.
    entry = None if is_leaf is not None and is_leaf(x) else _lookup(type(x))
    if entry is None:
        leaves.append(x)
        return _LEAF
    children, data = entry[0](x)
    return _node(type(x), data, [_flatten_into(c, is_leaf, leaves) for c in children])


# Flattening gives one PyTreeDef object per structure, so that comparing and
# hashing the treedefs of equal structures, which the jit and grad caches do
# on every call, is an identity test. Children are interned first, so a
# node's key can name them by id; an entry lives as long as its treedef.
_LEAF = PyTreeDef()
_interned = weakref.WeakValueDictionary()  # (node type, aux data, children's ids) -> PyTreeDef


def _node(node_type, aux_data, children):
    key = (node_type, aux_data, tuple(map(id, children)))
    try:
        treedef = _interned.get(key)
    except TypeError:  # unhashable aux data: a treedef of its own
        return PyTreeDef(node_type, aux_data, children)
    if treedef is None:
        treedef = _interned[key] = PyTreeDef(node_type, aux_data, children)
    return treedef


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Inverse of :func:`tree_flatten`: ``treedef.unflatten(leaves)``."""
    return treedef.unflatten(leaves)


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """The leaves of ``tree``, depth-first, left to right."""
    return tree_flatten(tree, is_leaf)[0]


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """The treedef of ``tree``."""
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``f`` applied leafwise: ``out = unflatten(def, [f(x, *ys) for x, *ys in zip(...)])``.
    ``tree`` fixes the structure; each of ``rest`` must have it as a prefix."""
    leaves, treedef = tree_flatten(tree, is_leaf)
    others = [treedef.flatten_up_to(r) for r in rest]
    return treedef.unflatten(f(*xs) for xs in zip(leaves, *others))
