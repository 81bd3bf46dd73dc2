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

A leaf's *key path* is the tuple of key entries on the way down to it, one per
node: ``SequenceKey(i)`` for a tuple or list item, ``DictKey(k)`` for a dict
value, ``GetAttrKey(name)`` for a namedtuple or dataclass field, and
``FlattenedIndexKey(i)`` for child ``i`` of a custom node registered without
keys (:func:`register_pytree_with_keys` names them). ``keystr`` writes one:

    >>> [keystr(path) for path, _ in tree_leaves_with_path({'w': [5, (6, 7)]})]
    ["['w'][0]", "['w'][1][0]", "['w'][1][1]"]
"""
from __future__ import annotations

import collections
import dataclasses
import functools
import itertools
import operator
import weakref
from collections.abc import Callable, Hashable, Iterable, Sequence
from typing import Any

from irax.tree_keys import DictKey, FlattenedIndexKey, GetAttrKey, KeyEntry, KeyPath, SequenceKey, keystr

__all__ = ["PyTreeDef", "tree_flatten", "tree_unflatten", "tree_leaves", "tree_structure", "tree_map",
           "tree_flatten_with_path", "tree_leaves_with_path", "tree_map_with_path",
           "tree_reduce", "tree_reduce_associative", "tree_all", "tree_transpose", "tree_broadcast",
           "all_leaves", "is_tree_node", "flatten_one_level", "flatten_one_level_with_keys",
           "treedef_tuple", "treedef_children", "treedef_is_leaf",
           "KeyEntry", "KeyPath", "SequenceKey", "DictKey", "GetAttrKey", "FlattenedIndexKey", "keystr",
           "register_pytree_node", "register_pytree_node_class", "register_pytree_with_keys",
           "register_pytree_with_keys_class", "register_dataclass", "register_static", "Partial"]
# (register_data_leaf and tree_flatten_data, for irax's transformations, are not JAX's API)

# --- the registry -------------------------------------------------------------

# How a node type splits and is rebuilt. flatten(x) -> (children, aux_data);
# unflatten(aux_data, children) -> x; flatten_with_keys(x) -> ([(key entry, child), ...], aux_data).
_Node = collections.namedtuple("_Node", "flatten unflatten flatten_with_keys")


def _with_keys(flatten, keys):
    """A flatten_with_keys from ``flatten`` and ``keys(aux_data, n)``, the key entries of n children."""
    def flatten_with_keys(x):
        children, aux_data = flatten(x)
        children = list(children)
        return list(zip(keys(aux_data, len(children)), children)), aux_data
    return flatten_with_keys


def _node_entry(flatten, unflatten, keys):
    return _Node(flatten, unflatten, _with_keys(flatten, keys))


def _flatten_dict(d):
    """``dict -> (values in sorted key order, sorted keys)``."""
    try:
        keys = sorted(d)
    except TypeError:
        raise ValueError("Comparator raised exception while sorting pytree "
                         "dictionary keys.") from None
    if keys == list(d):  # already in order, as a dict that an unflatten built is: no lookup per key
        return list(d.values()), tuple(keys)
    return list(map(d.__getitem__, keys)), tuple(keys)


_sequence_keys = lambda _, n: map(SequenceKey, range(n))
_dict_keys = lambda keys, _: map(DictKey, keys)
_flat_index_keys = lambda _, n: map(FlattenedIndexKey, range(n))

_registry = {
    tuple: _node_entry(lambda t: (t, None), lambda _, c: tuple(c), _sequence_keys),
    list: _node_entry(lambda l: (l, None), lambda _, c: list(c), _sequence_keys),
    type(None): _node_entry(lambda n: ((), None), lambda _, c: None, _sequence_keys),
    dict: _node_entry(_flatten_dict, lambda keys, c: dict(zip(keys, c)), _dict_keys),
    collections.OrderedDict: _node_entry(lambda d: (list(d.values()), tuple(d)),
                                         lambda keys, c: collections.OrderedDict(zip(keys, c)), _dict_keys),
    collections.defaultdict: _node_entry(
        lambda d: (lambda vals, keys: (vals, (d.default_factory, keys)))(*_flatten_dict(d)),
        lambda aux, c: collections.defaultdict(aux[0], zip(aux[1], c)),
        lambda aux, _: map(DictKey, aux[1])),
}


def _is_namedtuple(typ):
    return typ not in _registry and issubclass(typ, tuple) and hasattr(typ, "_fields")


_leaf_types = set()  # types known to be leaves (arrays, numbers): one set lookup per leaf; emptied by registration


def _lookup(typ):
    """The :class:`_Node` entry of a node type, or None if ``typ`` is a leaf type."""
    if typ in _leaf_types:
        return None
    if typ in _registry:
        return _registry[typ]
    if _is_namedtuple(typ):
        return _node_entry(lambda t: (tuple(t), None), lambda _, c: typ(*c),
                           lambda _, n: map(GetAttrKey, typ._fields))
    _leaf_types.add(typ)
    return None


# Leaves with data: types that are leaves to the tree functions, as JAX's typed
# PRNG key arrays are, but that irax's transformations (jit, vmap, grad, scan,
# ...), which trace arrays of ordinary dtypes, see into. Those flatten their
# arguments and results with `tree_flatten_data`, where such a leaf is a node
# whose children are its data: the treedef rebuilds the leaf around the traced
# data, and each transformation needs nothing more for it.
_data_leaves = {}  # type -> _Node
_data_leaf_types = set()  # _leaf_types, less the leaves with data


def register_data_leaf(leaftype: type, flatten_func: Callable[[Any], tuple[Iterable[Any], Any]],
                       unflatten_func: Callable[[Any, Iterable[Any]], Any]) -> None:
    """Make ``leaftype`` a leaf with data: a leaf, but a node to :func:`tree_flatten_data`,
    split by ``flatten_func(x) -> ((data array,), aux_data)`` and rebuilt by
    ``unflatten_func(aux_data, (data array,))``. One data array: so the two
    flattenings have their leaves in the same places (vmap's axes, grad's
    argnums count a key array as one leaf)."""
    _data_leaf_types.clear()
    _data_leaves[leaftype] = _Node(flatten_func, unflatten_func, None)  # (its data takes its key path)


def _lookup_data(typ):
    """:func:`_lookup`, where a leaf with data is a node."""
    if typ in _data_leaf_types:
        return None
    entry = _data_leaves.get(typ) or _lookup(typ)
    if entry is None:
        _data_leaf_types.add(typ)
    return entry


def register_pytree_node(nodetype: type, flatten_func: Callable[[Any], tuple[Iterable[Any], Any]],
                         unflatten_func: Callable[[Any, Iterable[Any]], Any],
                         flatten_with_keys_func: Callable[[Any], tuple[Iterable[tuple[KeyEntry, Any]], Any]]
                         | None = None) -> None:
    """Make ``nodetype`` a pytree node: ``flatten_func(x) -> (children, aux_data)``,
    ``unflatten_func(aux_data, children) -> x``. aux_data must be hashable and
    comparable with ``==``; it is part of the treedef. ``flatten_with_keys_func(x) ->
    ([(key, child), ...], aux_data)`` names the children in key paths (default:
    ``FlattenedIndexKey(i)``)."""
    if nodetype in _registry:
        raise ValueError(f"Duplicate custom PyTreeDef type registration for {nodetype}.")
    _leaf_types.clear()  # it may have been a leaf type until now
    _data_leaf_types.clear()
    _registry[nodetype] = _Node(flatten_func, unflatten_func,
                                flatten_with_keys_func or _with_keys(flatten_func, _flat_index_keys))


def register_pytree_node_class(cls: type) -> type:
    """Class decorator: register ``cls`` via its ``tree_flatten(self)`` method and
    ``tree_unflatten(cls, aux_data, children)`` classmethod."""
    register_pytree_node(cls, operator.methodcaller("tree_flatten"), cls.tree_unflatten)
    return cls


def register_pytree_with_keys(nodetype: type,
                              flatten_with_keys: Callable[[Any], tuple[Iterable[tuple[KeyEntry, Any]], Any]],
                              unflatten_func: Callable[[Any, Iterable[Any]], Any],
                              flatten_func: Callable[[Any], tuple[Iterable[Any], Any]] | None = None) -> None:
    """:func:`register_pytree_node` with keys: ``flatten_with_keys(x) -> ([(key, child), ...],
    aux_data)``. ``flatten_func``, if given, must give the same children and aux data
    without keys (faster for :func:`tree_flatten` and :func:`tree_map`)."""
    if flatten_func is None:
        def flatten_func(x):
            pairs, aux_data = flatten_with_keys(x)
            return [child for _, child in pairs], aux_data
    register_pytree_node(nodetype, flatten_func, unflatten_func, flatten_with_keys)


def register_pytree_with_keys_class(cls: type) -> type:
    """Class decorator: register ``cls`` via its ``tree_flatten_with_keys(self)`` method,
    ``tree_unflatten`` classmethod and, if it has one, ``tree_flatten(self)`` method."""
    flatten = operator.methodcaller("tree_flatten") if hasattr(cls, "tree_flatten") else None
    register_pytree_with_keys(cls, operator.methodcaller("tree_flatten_with_keys"), cls.tree_unflatten, flatten)
    return cls


def register_dataclass(nodetype: type, data_fields: Sequence[str] | None = None,
                       meta_fields: Sequence[str] | None = None, drop_fields: Sequence[str] = ()) -> type:
    """Register a dataclass: ``data_fields`` are children (key ``GetAttrKey(name)``),
    ``meta_fields`` are aux data. If both are omitted, fields with
    ``metadata={'static': True}`` (see ``irax.tree.static``) are meta, the rest data."""
    if data_fields is None or meta_fields is None:
        if (data_fields is None) != (meta_fields is None):
            raise TypeError("register_dataclass: data_fields and meta_fields must both be specified "
                            f"when either is specified. Got {data_fields=} {meta_fields=}.")
        if not dataclasses.is_dataclass(nodetype):
            raise TypeError("register_dataclass: data_fields and meta_fields are required when "
                            f"nodetype is not a dataclass. Got {nodetype=}.")
        fields = dataclasses.fields(nodetype)
        meta_fields = [f.name for f in fields if f.metadata.get("static", False)]
        data_fields = [f.name for f in fields if f.name not in meta_fields]
    data_fields, meta_fields = tuple(data_fields), tuple(meta_fields)
    if dataclasses.is_dataclass(nodetype):
        init = {f.name for f in dataclasses.fields(nodetype) if f.init} - set(drop_fields)
        given = {*data_fields, *meta_fields}
        if given != init:
            raise ValueError("data_fields and meta_fields must include all dataclass fields with "
                             "``init=True`` and only them."
                             + (f" Missing fields: {init - given}. Add them to drop_fields to suppress "
                                "this error." if init - given else "")
                             + (f" Unexpected fields: {given - init}." if given - init else ""))
    if overlap := set(data_fields) & set(meta_fields):
        raise ValueError(f"data_fields and meta_fields must not overlap. Overlapping fields: {overlap}.")

    def flatten(x):
        return tuple(getattr(x, n) for n in data_fields), tuple(getattr(x, n) for n in meta_fields)

    register_pytree_node(
        nodetype, flatten,
        lambda meta, data: nodetype(**dict(zip(meta_fields, meta)), **dict(zip(data_fields, data))),
        _with_keys(flatten, lambda *_: map(GetAttrKey, data_fields)))
    return nodetype


def register_static(cls: type) -> type:
    """Class decorator: instances of ``cls`` are nodes with no children, the whole
    object being the aux data, so ``jit`` treats them as static. ``cls`` must be hashable."""
    register_pytree_with_keys(cls, lambda x: ((), x), lambda x, _: x)
    return cls


# --- treedefs -----------------------------------------------------------------

class _Mismatch(Exception):
    """A structure mismatch found in flatten_up_to. Its key path is collected on the
    way back up, from the full tree's nodes, so a match costs no key lookups."""

    def __init__(self, what, mine, theirs):
        self.what, self.mine, self.theirs, self.path = what, mine, theirs, []


def _hashable_part(aux_data):
    """What of a node's aux data its treedef's hash takes: all of it, or nothing where
    it cannot be hashed (a dict, which JAX takes: its treedefs never hash aux data);
    equality still compares it."""
    try:
        hash(aux_data)
    except TypeError:
        return None
    return aux_data


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

    def node_data(self) -> tuple[type, Any] | None:
        """(node type, aux data) of the root, None for a leaf; a dict's aux data
        is its sorted keys as a list, as JAX gives them."""
        if self.node_type is None:
            return None
        return self.node_type, list(self.aux_data) if self.node_type is dict else self.aux_data

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
        unflatten = _lookup_data(self.node_type).unflatten
        if self.num_nodes == self.num_leaves + 1:  # leaves only (a dict of arrays): no Python step per leaf
            return unflatten(self.aux_data, list(itertools.islice(it, self.num_leaves)))
        return unflatten(self.aux_data, [next(it) if c is _LEAF else c._build(it) for c in self._children])

    def compose(self, inner: PyTreeDef) -> PyTreeDef:
        """The structure of this tree with an ``inner`` tree at each leaf."""
        if self.node_type is None:
            return inner
        return _node(self.node_type, self.aux_data, [c.compose(inner) for c in self._children])

    def flatten_up_to(self, tree: Any) -> list[Any]:
        """Leaves of ``tree`` cut at this (prefix) structure: where the treedef has a
        leaf, the whole subtree of ``tree`` there is one "leaf". Mismatch -> ValueError."""
        out = []
        try:
            self._flatten_up_to(tree, out)
        except _Mismatch as e:
            raise ValueError(f"pytree structure error: different {e.what} at key path\n"
                             f"    tree{keystr(e.path[::-1])}\n"
                             f"At that key path, the prefix pytree has a subtree with {e.mine}, "
                             f"but the full pytree has one with {e.theirs}.") from None
        return out

    def _flatten_up_to(self, tree, out):
        if self.node_type is None:
            return out.append(tree)
        typ = type(tree)
        if typ is not self.node_type:
            raise _Mismatch("types", f"type {self.node_type}", f"type {typ}")
        entry = _lookup_data(typ)
        children, data = entry.flatten(tree)
        children = list(children)
        if len(children) != len(self._children):
            what = (f"lengths of {typ.__name__}" if typ in (tuple, list)
                    else "numbers of pytree children")
            raise _Mismatch(what, f"{len(self._children)} children", f"{len(children)} children")
        if data != self.aux_data:
            raise _Mismatch("pytree metadata", f"metadata {self.aux_data!r}", f"metadata {data!r}")
        for i, (c, t) in enumerate(zip(self._children, children)):
            try:
                c._flatten_up_to(t, out)
            except _Mismatch as e:
                e.path.append(list(entry.flatten_with_keys(tree)[0])[i][0])
                raise

    def key_paths(self) -> list[str]:
        """The key path of every leaf as text, in flattening order: ["[0]['w']", "[1]", ...]."""
        # A custom node's keys may come from the node only: ask one built of stand-in leaves.
        tree = self.unflatten([object()] * self.num_leaves)
        return [keystr(path) for path, _ in tree_flatten_with_path(tree)[0]]

    def __eq__(self, other):
        return self is other or isinstance(other, PyTreeDef) and (
            self.node_type, self.aux_data, self._children) == (other.node_type, other.aux_data, other._children)

    def __hash__(self):
        if self._hash is None:
            self._hash = hash((self.node_type, _hashable_part(self.aux_data), self._children))
        return self._hash

    def _repr(self):
        typ, kids = self.node_type, [c._repr() for c in self._children]
        if typ is None or typ is type(None):
            return "*" if typ is None else "None"
        if typ in _data_leaves:  # (tree_flatten_data's node for a key array: a leaf, as JAX prints it)
            return "*"
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


# Flattening gives one PyTreeDef object per structure, so that comparing and
# hashing the treedefs of equal structures, which the jit and grad caches do
# on every call, is an identity test. Children are interned first, so a
# node's key can name them by id; an entry lives as long as its treedef.
_LEAF = PyTreeDef()
_interned = weakref.WeakValueDictionary()  # (node type, aux data, children's ids or leaves' number) -> PyTreeDef


def _node(node_type, aux_data, children, leaves_only=None):
    # A node of leaves only (`leaves_only`, if known) is keyed by their number:
    # n ids cost ~40 ns each to make and compare (~25 us a dict of 200 arrays).
    if leaves_only is None:
        leaves_only = all(map(operator.is_, children, itertools.repeat(_LEAF)))
    key = (node_type, aux_data, len(children) if leaves_only else tuple(map(id, children)))
    try:
        treedef = _interned.get(key)
    except TypeError:  # unhashable aux data: a treedef of its own
        return PyTreeDef(node_type, aux_data, children)
    if treedef is None:
        treedef = _interned[key] = PyTreeDef(node_type, aux_data, children)
    return treedef


def treedef_tuple(treedefs: Iterable[PyTreeDef]) -> PyTreeDef:
    """The treedef of a tuple whose items have the structures ``treedefs``."""
    return _node(tuple, None, list(treedefs))


def treedef_children(treedef: PyTreeDef) -> list[PyTreeDef]:
    """The treedefs of the direct subtrees: ``treedef.children()``."""
    return treedef.children()


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """Whether ``treedef`` has one node: a leaf, or a node with no children (``None``, ``()``)."""
    return treedef.num_nodes == 1


# --- flattening and mapping ---------------------------------------------------

def tree_flatten(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list[Any], PyTreeDef]:
    """``tree -> (leaves, treedef)``. ``is_leaf(x) -> True`` stops recursion at ``x``."""
    leaves = []
    treedef = _flatten_into(tree, is_leaf, leaves, _lookup, _leaf_types)  # runs first: it fills `leaves`
    return leaves, treedef


def tree_flatten_data(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> tuple[list[Any], PyTreeDef]:
    """:func:`tree_flatten`, each leaf with data (a typed PRNG key array) flattened to its
    data: how the transformations flatten their arguments and results, whose
    treedef rebuilds such leaves (see :func:`register_data_leaf`)."""
    leaves = []
    treedef = _flatten_into(tree, is_leaf, leaves, _lookup_data, _data_leaf_types)
    return leaves, treedef


def _flatten_into(x, is_leaf, leaves, lookup, leaf_types) -> PyTreeDef:
    # A module-level function, not a closure: a recursive closure is a
    # reference cycle, which would keep `leaves` (arrays, often big) alive
    # until the garbage collector runs. `lookup` and its `leaf_types`: those
    # of tree_flatten or tree_flatten_data.
    entry = None if is_leaf is not None and is_leaf(x) else lookup(type(x))
    if entry is None:
        leaves.append(x)
        return _LEAF
    children, data = entry.flatten(x)
    if is_leaf is None and type(children) in (list, tuple) and set(map(type, children)) <= leaf_types:
        # Leaves only (a dict of arrays, a list of them): no Python step per child
        # (jit's warm call flattens its arguments: ~45 -> ~30 us a dict of 200 arrays).
        leaves.extend(children)
        return _node(type(x), data, [_LEAF] * len(children), leaves_only=True)
    treedefs = []
    for c in children:
        if is_leaf is None and type(c) in leaf_types:  # an array or number: no call (the common case)
            leaves.append(c)
            treedefs.append(_LEAF)
        else:
            treedefs.append(_flatten_into(c, is_leaf, leaves, lookup, leaf_types))
    return _node(type(x), data, treedefs)


def tree_flatten_with_path(tree: Any, is_leaf: Callable[..., bool] | None = None,
                           is_leaf_takes_path: bool = False) -> tuple[list[tuple[KeyPath, Any]], PyTreeDef]:
    """``tree -> ([(key path, leaf), ...], treedef)``: :func:`tree_flatten` with each
    leaf's key path. ``is_leaf(x)``, or ``is_leaf(path, x)`` if ``is_leaf_takes_path``."""
    stop = is_leaf if is_leaf is None or is_leaf_takes_path else (lambda _, x: is_leaf(x))
    pairs = []
    treedef = _flatten_with_path_into(tree, (), stop, pairs, _lookup)
    return pairs, treedef


def tree_flatten_data_with_path(tree: Any) -> tuple[list[tuple[KeyPath, Any]], PyTreeDef]:
    """:func:`tree_flatten_with_path` as :func:`tree_flatten_data` flattens: the data of a
    leaf with data has the leaf's path."""
    pairs = []
    treedef = _flatten_with_path_into(tree, (), None, pairs, _lookup_data)
    return pairs, treedef


def _flatten_with_path_into(x, path, is_leaf, pairs, lookup) -> PyTreeDef:
    entry = None if is_leaf is not None and is_leaf(path, x) else lookup(type(x))
    if entry is None:
        pairs.append((path, x))
        return _LEAF
    if type(x) in _data_leaves:  # its data, at its path
        children, data = entry.flatten(x)
        return _node(type(x), data, [_flatten_with_path_into(c, path, is_leaf, pairs, lookup) for c in children])
    keyed, data = entry.flatten_with_keys(x)
    return _node(type(x), data, [_flatten_with_path_into(c, (*path, k), is_leaf, pairs, lookup) for k, c in keyed])


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Inverse of :func:`tree_flatten`: ``treedef.unflatten(leaves)``."""
    return treedef.unflatten(leaves)


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """The leaves of ``tree``, depth-first, left to right."""
    return tree_flatten(tree, is_leaf)[0]


def tree_leaves_with_path(tree: Any, is_leaf: Callable[..., bool] | None = None,
                          is_leaf_takes_path: bool = False) -> list[tuple[KeyPath, Any]]:
    """The ``(key path, leaf)`` pairs of ``tree``, depth-first, left to right."""
    return tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)[0]


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """The treedef of ``tree``."""
    return tree_flatten(tree, is_leaf)[1]


def tree_map(f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``f`` applied leafwise: ``out = unflatten(def, [f(x, *ys) for x, *ys in zip(...)])``.
    ``tree`` fixes the structure; each of ``rest`` must have it as a prefix."""
    return _map(tree_flatten, f, tree, rest, is_leaf)


def tree_map_data(f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """:func:`tree_map` over the leaves of :func:`tree_flatten_data`: ``f`` gets the data
    of each leaf with data, which is rebuilt around its results."""
    return _map(tree_flatten_data, f, tree, rest, is_leaf)


def _map(flatten, f, tree, rest, is_leaf):
    leaves, treedef = flatten(tree, is_leaf)
    others = [treedef.flatten_up_to(r) for r in rest]
    return treedef.unflatten(f(*xs) for xs in zip(leaves, *others))


def tree_map_with_path(f: Callable[..., Any], tree: Any, *rest: Any, is_leaf: Callable[..., bool] | None = None,
                       is_leaf_takes_path: bool = False) -> Any:
    """:func:`tree_map` with each leaf's key path first: ``f(path, x, *ys)``."""
    pairs, treedef = tree_flatten_with_path(tree, is_leaf, is_leaf_takes_path)
    others = [treedef.flatten_up_to(r) for r in rest]
    return treedef.unflatten(f(path, x, *ys) for (path, x), *ys in zip(pairs, *others))


def tree_broadcast(prefix_tree: Any, full_tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``full_tree`` with each of its leaves replaced by the leaf of ``prefix_tree`` above it:
    ``tree_broadcast((1, 2), (0, {'a': 0, 'b': 0})) == (1, {'a': 2, 'b': 2})``."""
    return tree_map(lambda x, subtree: tree_map(lambda _: x, subtree), prefix_tree, full_tree, is_leaf=is_leaf)


def tree_transpose(outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None, pytree_to_transpose: Any) -> Any:
    """A tree of structure outer(inner) -> one of structure inner(outer), e.g.
    ``[(1, 2), (3, 4)] -> ([1, 3], [2, 4])``. ``inner_treedef=None``: the structure
    of the first subtree at the outer leaves."""
    flat, treedef = tree_flatten(pytree_to_transpose)
    if inner_treedef is None:
        inner_treedef = tree_structure(outer_treedef.flatten_up_to(pytree_to_transpose)[0])
    n_inner, n_outer = inner_treedef.num_leaves, outer_treedef.num_leaves
    if treedef.num_leaves != n_inner * n_outer:
        raise TypeError(f"Mismatch\n{treedef}\n != \n{outer_treedef.compose(inner_treedef)}")
    # flat[o * n_inner + i] is leaf i of outer leaf o; inner leaf i gathers it from every o.
    rows = [flat[i::n_inner] for i in range(n_inner)]
    return inner_treedef.unflatten(outer_treedef.unflatten(row) for row in rows)


# --- reductions and tests -------------------------------------------------------

_NO_INITIALIZER = object()


def tree_reduce(function: Callable[[Any, Any], Any], tree: Any, initializer: Any = _NO_INITIALIZER,
                is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """``functools.reduce(function, leaves[, initializer])`` over the leaves of ``tree``."""
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INITIALIZER:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_reduce_associative(operation: Callable[[Any, Any], Any], tree: Any, *, identity: Any = _NO_INITIALIZER,
                            is_leaf: Callable[[Any], bool] | None = None) -> Any:
    """Reduce the leaves with an associative ``operation`` as a balanced tree, depth
    log2(#leaves): ``op(reduce(first half), reduce(second half))``. ``identity`` is
    the result for a tree without leaves."""
    leaves = tree_leaves(tree, is_leaf)
    if not leaves:
        if identity is _NO_INITIALIZER:
            raise TypeError("Must specify identity for parallel reduction of empty sequence.")
        return identity
    return _reduce_halves(operation, leaves)


def _reduce_halves(operation, xs):
    if len(xs) == 1:
        return xs[0]
    half = len(xs) // 2
    return operation(_reduce_halves(operation, xs[:half]), _reduce_halves(operation, xs[half:]))


def tree_all(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """``all(leaves)``: True for a tree without leaves."""
    return all(tree_leaves(tree, is_leaf))


def all_leaves(iterable: Iterable[Any], is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every item of ``iterable`` is a leaf (``None`` is not: it is a node)."""
    items = list(iterable)
    leaves = tree_leaves(items, is_leaf)
    return len(leaves) == len(items) and all(map(operator.is_, items, leaves))


def is_tree_node(typ: type) -> bool:
    """Whether ``typ`` is a pytree node type (built in, a namedtuple, or registered)."""
    return _lookup(typ) is not None


def flatten_one_level(tree: Any) -> tuple[Iterable[Any], Hashable]:
    """``(children, aux_data)`` of a pytree node; ValueError for a leaf."""
    return _node_of(tree).flatten(tree)


def flatten_one_level_with_keys(tree: Any) -> tuple[Iterable[tuple[KeyEntry, Any]], Hashable]:
    """``([(key, child), ...], aux_data)`` of a pytree node; ValueError for a leaf."""
    return _node_of(tree).flatten_with_keys(tree)


def _node_of(tree):
    entry = _lookup(type(tree))
    if entry is None:
        raise ValueError(f"can't tree-flatten type: {type(tree)}")
    return entry


# --- Partial ------------------------------------------------------------------

class Partial(functools.partial):
    """A ``functools.partial`` that is a pytree: its bound ``args`` and ``keywords``
    are children (leaves for ``jit``), the function is aux data. So a function with
    bound arrays can be passed to a jitted function: ``Partial(jnp.add, x)``."""

    def __new__(cls, func, *args, **kw):
        # functools.partial(p, ...) of a partial p merges p's bound arguments into
        # its own; Partial keeps p whole (its arguments stay out of the pytree).
        if isinstance(func, functools.partial):
            func = _HashableCallableShim(func)
        return super().__new__(cls, func, *args, **kw)


class _HashableCallableShim:
    """A partial given to :class:`Partial`, hidden from functools.partial's merging.
    Calls, hashes and compares as the partial; has its func, args and keywords."""

    def __init__(self, fun):
        self.fun, self.func, self.args, self.keywords = fun, fun.func, fun.args, fun.keywords

    def __call__(self, *args, **kw):
        return self.fun(*args, **kw)

    def __hash__(self):
        return hash(self.fun)

    def __eq__(self, other):
        return self.fun == (other.fun if isinstance(other, _HashableCallableShim) else other)

    def __repr__(self):
        return f"_HashableCallableShim({self.fun!r})"


register_pytree_node(Partial, lambda p: ((p.args, p.keywords), p.func),
                     lambda func, children: Partial(func, *children[0], **children[1]))
