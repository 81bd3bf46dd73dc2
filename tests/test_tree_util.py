"""irax.tree_util against jax.tree_util as the oracle."""
import collections
import dataclasses

import pytest

jtu = pytest.importorskip("jax.tree_util")
from irax import tree_util as tu  # noqa: E402

Point = collections.namedtuple("Point", ["x", "y"])


class Box:
    """A custom node, registered in both libraries with the same functions."""

    def __init__(self, a, b, tag="t"):
        self.a, self.b, self.tag = a, b, tag

    def __repr__(self):  # stable test ids under pytest-xdist
        return f"Box({self.a!r}, {self.b!r}, {self.tag!r})"

    def __eq__(self, other):
        return type(other) is Box and (self.a, self.b, self.tag) == (other.a, other.b, other.tag)


def _box_flatten(x):
    return (x.a, x.b), x.tag


def _box_unflatten(tag, children):
    return Box(*children, tag=tag)


for _m in (tu, jtu):
    _m.register_pytree_node(Box, _box_flatten, _box_unflatten)


@dataclasses.dataclass
class Params:
    w: object
    b: object
    name: str = dataclasses.field(default="p", metadata=dict(static=True))


for _m in (tu, jtu):
    _m.register_dataclass(Params)


class Pair:
    def __init__(self, l, r):
        self.l, self.r = l, r

    def tree_flatten(self):
        return (self.l, self.r), None

    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)

    def __eq__(self, other):
        return type(other) is type(self) and (self.l, self.r) == (other.l, other.r)


IPair = tu.register_pytree_node_class(type("IPair", (Pair,), {}))
JPair = jtu.register_pytree_node_class(type("JPair", (Pair,), {}))


TREES = [
    1, "leaf", None, (), [], {}, (1,), [None], (None, 1), [[]],
    {"b": (1, 2), "a": [None, 3]},
    {"z": {"y": [1, {"x": 2}], "a": ()}, "m": (3, [4, (5,)])},
    {3: "c", 1: "a", 2: "b"},
    Point(1, (2, 3)),
    [Point(x={"q": 1}, y=None), Point(2, 3)],
    collections.OrderedDict([("b", 1), ("a", (2, 3))]),
    collections.defaultdict(list, {"b": 1, "a": [2]}),
    Box(1, [2, 3]), Box({"k": Box(4, 5, "in")}, None, "out"),
    Params(w=[1, 2], b=3, name="lin"),
]
IDS = [repr(t)[:40] for t in TREES]


@pytest.mark.parametrize("tree", TREES, ids=IDS)
def test_flatten_matches_jax(tree):
    leaves, treedef = tu.tree_flatten(tree)
    jleaves, jtreedef = jtu.tree_flatten(tree)
    assert leaves == jleaves
    assert treedef.num_leaves == jtreedef.num_leaves
    assert treedef.num_nodes == jtreedef.num_nodes
    assert repr(treedef) == repr(jtreedef)
    assert tu.tree_leaves(tree) == jleaves
    assert tu.tree_structure(tree) == treedef


@pytest.mark.parametrize("tree", TREES, ids=IDS)
def test_roundtrip(tree):
    leaves, treedef = tu.tree_flatten(tree)
    out = tu.tree_unflatten(treedef, leaves)
    assert out == tree and type(out) is type(tree)
    assert treedef.unflatten(leaves) == tree
    if isinstance(tree, collections.OrderedDict):
        assert list(out) == list(tree)
    if isinstance(tree, collections.defaultdict):
        assert out.default_factory is tree.default_factory


def test_pytree_node_class_matches_jax():
    assert tu.tree_leaves(IPair(1, [2, (3,)])) == jtu.tree_leaves(JPair(1, [2, (3,)]))
    d = tu.tree_structure(IPair(1, [2, 3]))
    assert repr(d) == repr(jtu.tree_structure(JPair(1, [2, 3]))).replace("JPair", "IPair")
    assert d.unflatten([7, 8, 9]) == IPair(7, [8, 9])


def test_none_is_a_node_not_a_leaf():
    assert tu.tree_leaves([None, 1, None]) == jtu.tree_leaves([None, 1, None]) == [1]
    assert tu.tree_map(lambda x: x + 1, {"a": None, "b": 1}) == {"a": None, "b": 2}


def test_dict_keys_sorted_and_unsortable():
    tree = {"c": 3, "a": 1, "b": 2}
    assert tu.tree_leaves(tree) == jtu.tree_leaves(tree) == [1, 2, 3]
    assert tu.tree_structure(tree) == tu.tree_structure({"a": 0, "b": 0, "c": 0})
    with pytest.raises(ValueError):
        jtu.tree_flatten({1: 2, "a": 3})
    with pytest.raises(ValueError, match="sorting pytree dictionary keys"):
        tu.tree_flatten({1: 2, "a": 3})


def test_treedef_equality_and_hash():
    s = tu.tree_structure
    cases = [
        ((1, 2), (3.0, "x"), True), ((1, 2), [1, 2], False), (None, (), False),
        (Point(1, 2), (1, 2), False), ({"a": 1}, collections.OrderedDict(a=1), False),
        (collections.defaultdict(int, a=1), collections.defaultdict(list, a=1), False),
        (Box(1, 2, "t"), Box(3, 4, "t"), True), (Box(1, 2, "t"), Box(1, 2, "u"), False),
        (1, [1], False), (1, 2.0, True),
    ]
    for a, b, eq in cases:
        assert (jtu.tree_structure(a) == jtu.tree_structure(b)) == eq
        assert (s(a) == s(b)) == eq
        if eq:
            assert hash(s(a)) == hash(s(b))
    assert len({s((1, {"a": 2})), s((3, {"a": 4})), s([1])}) == 2


def test_equal_structures_share_one_treedef():
    """The jit cache compares treedefs on every call: equal ones are one object."""
    s = tu.tree_structure
    assert s([(1, 2), {"w": 3}]) is s([(4, 5), {"w": 6}])
    assert s(Box(1, 2, "t")) is s(Box(3, 4, "t"))
    assert s(Box(1, 2, "t")) is not s(Box(1, 2, "u"))
    unhashable = Box(1, 2, ["aux"])  # aux data that cannot be interned still compares
    assert s(unhashable) == s(Box(3, 4, ["aux"])) and s(unhashable) != s(Box(3, 4, ["other"]))
    assert s(unhashable).unflatten([5, 6]) == Box(5, 6, ["aux"])


def test_children():
    d, jd = tu.tree_structure((1, [2], None)), jtu.tree_structure((1, [2], None))
    assert [repr(c) for c in d.children()] == [repr(c) for c in jd.children()]


def test_tree_map_several_trees():
    a = {"x": (1, 2), "y": [3, Point(4, 5)]}
    b = {"x": (10, 20), "y": [30, Point(40, 50)]}
    f = lambda u, v, w: u + v * w
    assert tu.tree_map(f, a, b, b) == jtu.tree_map(f, a, b, b)
    # The first tree is a prefix: its leaves may face whole subtrees of the others.
    g = lambda u, v: (u, v)
    assert tu.tree_map(g, [1, 2], [(3, 4), {"k": 5}]) == jtu.tree_map(g, [1, 2], [(3, 4), {"k": 5}])
    assert tu.tree_map(g, Box(1, 2), Box([3], None)) == jtu.tree_map(g, Box(1, 2), Box([3], None))


MISMATCHES = [
    ((1, 2), (1, 2, 3), "different lengths of tuple"),
    ([1, 2], [1], "different lengths of list"),
    ((1, 2), [1, 2], "different types"),
    ([1, None], [1, 3], "different types"),
    (Point(1, 2), (1, 2), "different types"),
    (Box(1, 2), (1, 2), "different types"),
    ({"a": 1}, collections.OrderedDict(a=1), "different types"),
    ({"a": 1}, {"b": 1}, "different pytree metadata"),
    ({"a": 1}, {"a": 1, "b": 2}, "different numbers of pytree children"),
    (collections.OrderedDict(a=1, b=2), collections.OrderedDict(b=1, a=2),
     "different pytree metadata"),
    (Box(1, 2, "t"), Box(1, 2, "u"), "different pytree metadata"),
    ({"a": [1, (2, 3)]}, {"a": [1, (2,)]}, "different lengths of tuple"),
]


@pytest.mark.parametrize("a, b, msg", MISMATCHES, ids=[m[2] for m in MISMATCHES])
def test_tree_map_mismatch(a, b, msg):
    with pytest.raises(ValueError, match=msg):
        jtu.tree_map(lambda u, v: u, a, b)
    with pytest.raises(ValueError, match="pytree structure error: " + msg):
        tu.tree_map(lambda u, v: u, a, b)


def test_mismatch_key_path():
    with pytest.raises(ValueError, match=r"tree\['a'\]\[1\]"):
        tu.tree_map(lambda u, v: u, {"a": [1, (2, 3)]}, {"a": [1, (2,)]})
    with pytest.raises(ValueError, match=r"tree\[0\]\.y"):
        tu.tree_map(lambda u, v: u, [Point(1, None)], [Point(1, 2)])


def test_unflatten_wrong_leaf_count():
    d = tu.tree_structure((1, 2))
    with pytest.raises(ValueError, match="Too few leaves for PyTreeDef; expected 2, got 1"):
        d.unflatten([1])
    with pytest.raises(ValueError, match="Too many leaves for PyTreeDef; expected 2"):
        tu.tree_unflatten(d, [1, 2, 3])


def test_is_leaf():
    tree = [1, (2, 3), None, {"a": (4,)}]
    for pred in (lambda x: isinstance(x, tuple), lambda x: x is None, lambda x: True):
        leaves, d = tu.tree_flatten(tree, is_leaf=pred)
        jleaves, jd = jtu.tree_flatten(tree, is_leaf=pred)
        assert leaves == jleaves and repr(d) == repr(jd)
        assert tu.tree_map(repr, tree, is_leaf=pred) == jtu.tree_map(repr, tree, is_leaf=pred)
    g = lambda u, v: (u, v)
    pred = lambda x: isinstance(x, tuple)
    assert tu.tree_map(g, [1, (2, 3)], [4, 5], is_leaf=pred) == \
        jtu.tree_map(g, [1, (2, 3)], [4, 5], is_leaf=pred)


def test_leaves_are_unregistered_types():
    class T(tuple):
        pass

    class D(dict):
        pass

    for x in (T((1, 2)), D(a=1), {1, 2}, 3.5, object):
        assert tu.tree_leaves(x) == jtu.tree_leaves(x) == [x]


def test_registration_errors():
    with pytest.raises(ValueError, match="Duplicate"):
        tu.register_pytree_node(Box, _box_flatten, _box_unflatten)
    with pytest.raises(TypeError):
        tu.register_dataclass(Params, data_fields=["w"])
