"""irax.tree_util against jax.tree_util as the oracle."""
import collections
import dataclasses
import functools
import operator
import re

import numpy as np
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
def test_node_data_matches_jax(tree):
    """(node type, aux data) of every node (a dict's keys as a list), None for leaves."""
    def walk(t, jt):
        assert t.node_data() == jt.node_data()
        for c, jc in zip(t.children(), jt.children()):
            walk(c, jc)

    walk(tu.tree_structure(tree), jtu.tree_structure(tree))


@pytest.mark.parametrize("tree", [{"w": np.ones((2, 2), np.float32), "b": 3.0, "n": np.arange(2, dtype=np.int32)},
                                  [np.ones(3, np.float32), (np.float32(2.0),)], [], {"a": np.ones(2, np.int32)}],
                         ids=["mixed dtypes", "one dtype", "empty", "ints"])
def test_ravel_pytree_matches_jax(tree):
    from jax.flatten_util import ravel_pytree as jax_ravel

    import irax.numpy as jnp
    from irax.flatten_util import ravel_pytree
    flat, unravel = ravel_pytree(tree)
    jflat, junravel = jax_ravel(tree)
    assert (flat.shape, flat.dtype) == (jflat.shape, jflat.dtype)
    np.testing.assert_array_equal(np.asarray(flat), np.asarray(jflat))
    back, jback = unravel(flat * 2), junravel(jflat * 2)
    assert tu.tree_structure(back) == tu.tree_structure(tree)
    for x, y in zip(tu.tree_leaves(back), jtu.tree_leaves(jback)):
        assert (x.shape, x.dtype) == (y.shape, y.dtype)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    if flat.size:  # a vector of the wrong size or dtype: JAX's error (one dtype: any dtype will do)
        for bad in (np.ones(flat.size + 1, flat.dtype), np.ones(flat.size, np.bool_)):
            try:
                junravel(bad)
            except (TypeError, ValueError) as want:
                with pytest.raises(type(want), match=re.escape(str(want))):
                    unravel(jnp.asarray(bad))
            else:
                unravel(jnp.asarray(bad))


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
    assert hash(s(unhashable)) == hash(s(Box(3, 4, ["aux"])))  # hashable too, as JAX's treedefs are


def test_jit_of_a_method_of_a_pytree_with_dict_aux_data():
    """Common_Gotchas_in_JAX's CustomClass: aux data a dict ({'mul': ...}), which
    JAX's treedefs (and so its jit cache) take though it is unhashable."""
    import irax

    class Custom:
        def __init__(self, x, mul):
            self.x, self.mul = x, mul

        @irax.jit
        def calc(self, y):
            return self.x * y if self.mul else y

    tu.register_pytree_node(Custom, lambda c: ((c.x,), {"mul": c.mul}), lambda aux, ch: Custom(*ch, **aux))
    c = Custom(2, True)
    assert int(c.calc(3)) == 6
    c.mul = False  # a new aux data: a new trace
    assert int(c.calc(3)) == 3


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


# ---------------------------------------------------------------------------
# Key paths, the other tree_util functions, Partial.

# What jax.tree_util has that irax.tree_util leaves out, and why.
LEFT_OUT = {"default_registry": "JAX's C++ PyTreeRegistry object; irax's registry is a module-level dict"}


def test_has_what_jax_tree_util_has():
    public = {n for n in dir(jtu) if not n.startswith("_")}
    assert public - set(tu.__all__) == set(LEFT_OUT)


def _paths(m, tree, **kw):
    """(repr of key path, keystr, simple keystr, leaf) for each leaf, and the treedef's repr."""
    pairs, treedef = m.tree_flatten_with_path(tree, **kw)
    return [(repr(p), m.keystr(p), m.keystr(p, simple=True, separator="/"), x) for p, x in pairs], repr(treedef)


@pytest.mark.parametrize("tree", TREES, ids=IDS)
def test_flatten_with_path_matches_jax(tree):
    assert _paths(tu, tree) == _paths(jtu, tree)
    assert tu.tree_leaves_with_path(tree) == [(p, x) for p, x in tu.tree_flatten_with_path(tree)[0]]
    keyed = lambda m: m.tree_map_with_path(lambda p, x: (m.keystr(p), x), tree)
    assert keyed(tu) == keyed(jtu)
    assert tu.tree_structure(tree).key_paths() == [jtu.keystr(p) for p, _ in jtu.tree_leaves_with_path(tree)]


def test_key_entries_match_jax():
    for make in (lambda m: m.SequenceKey(2), lambda m: m.DictKey("a"), lambda m: m.DictKey(3),
                 lambda m: m.DictKey("it's"), lambda m: m.GetAttrKey("w"), lambda m: m.FlattenedIndexKey(1)):
        k, jk = make(tu), make(jtu)
        assert (repr(k), str(k), k.__match_args__) == (repr(jk), str(jk), jk.__match_args__)
        assert k == make(tu) and hash(k) == hash(make(tu)) and k != jk
    assert tu.DictKey(1) != tu.SequenceKey(1) and tu.DictKey(1) != 1
    match tu.GetAttrKey("w"):
        case tu.GetAttrKey(name):
            assert name == "w"
    assert tu.SequenceKey(np.int64(3)).idx == 3 and type(tu.SequenceKey(np.int64(3)).idx) is int
    for m in (tu, jtu):
        with pytest.raises(TypeError):
            m.SequenceKey("a")
        with pytest.raises(TypeError):
            m.GetAttrKey(1)
        with pytest.raises(TypeError):
            hash(m.DictKey([1]))


def test_keystr_matches_jax():
    for m in (tu, jtu):
        path = (m.DictKey("foo"), m.SequenceKey(0), m.GetAttrKey("x"), m.FlattenedIndexKey(1), "other")
        assert m.keystr(path) == "['foo'][0].x[<flat index 1>]other"
        assert m.keystr(path, simple=True, separator="/") == "foo/0/x/1/other"
        assert m.keystr(()) == ""


class Span:
    """A custom node registered with keys: children `lo` and `hi` keyed by name."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def __eq__(self, other):
        return type(other) is type(self) and (self.lo, self.hi) == (other.lo, other.hi)


for _m in (tu, jtu):
    _m.register_pytree_with_keys(
        Span, lambda x, m=_m: (((m.GetAttrKey("lo"), x.lo), (m.DictKey("hi"), x.hi)), "span"),
        lambda aux, c: Span(*c))


def _keyed_class(m):
    class Keyed(Pair):
        def tree_flatten_with_keys(self):
            return ((m.GetAttrKey("l"), self.l), (m.GetAttrKey("r"), self.r)), None

    return m.register_pytree_with_keys_class(Keyed)


def test_register_pytree_with_keys_matches_jax():
    tree = [Span(1, (2, 3)), {"s": Span(None, 4)}]
    assert _paths(tu, tree) == _paths(jtu, tree)
    assert tu.tree_unflatten(tu.tree_structure(tree), [5, 6, 7, 8]) == [Span(5, (6, 7)), {"s": Span(None, 8)}]
    assert tu.tree_structure(tree).key_paths() == ["[0].lo", "[0]['hi'][0]", "[0]['hi'][1]", "[1]['s']['hi']"]
    ikeyed, jkeyed = _keyed_class(tu), _keyed_class(jtu)
    assert _paths(tu, ikeyed(1, [2]))[0] == _paths(jtu, jkeyed(1, [2]))[0]
    assert tu.tree_leaves(ikeyed(1, [2])) == [1, 2]


def test_mismatch_key_path_names_fields():
    """A mismatch inside a dataclass or a keyed node says where, by name."""
    with pytest.raises(ValueError, match=r"at key path\n    tree\[0\]\.w\n.*1 children, but the full pytree "
                                         r"has one with 2 children"):
        tu.tree_map(lambda u, v: u, [Params(w=[1], b=3)], [Params(w=[1, 2], b=3)])
    with pytest.raises(ValueError, match=r"tree\['hi'\]"):
        tu.tree_map_with_path(lambda p, u, v: u, Span(1, (2,)), Span(1, [2]))


def test_is_leaf_takes_path():
    tree = [1, (2, (3, 4)), {"a": (5,)}]
    stop = lambda path, x: len(path) == 2 and isinstance(x, tuple)
    assert _paths(tu, tree, is_leaf=stop, is_leaf_takes_path=True) == \
        _paths(jtu, tree, is_leaf=stop, is_leaf_takes_path=True)
    pred = lambda x: isinstance(x, tuple)
    assert _paths(tu, tree, is_leaf=pred) == _paths(jtu, tree, is_leaf=pred)
    f = lambda m: m.tree_map_with_path(lambda p, x: len(p), tree, is_leaf=stop, is_leaf_takes_path=True)
    assert f(tu) == f(jtu)


def test_register_static_matches_jax():
    class Tag(str):
        pass

    for m in (tu, jtu):
        m.register_static(Tag)
    tree = [Tag("relu"), 1, {"t": Tag("x")}]
    assert _paths(tu, tree) == _paths(jtu, tree)
    assert tu.tree_structure(tree) != tu.tree_structure([Tag("gelu"), 1, {"t": Tag("x")}])


def test_register_dataclass_errors_match_jax():
    @dataclasses.dataclass
    class Two:
        a: int
        b: int

    class NotADataclass:
        pass

    for kw in (dict(data_fields=["a"], meta_fields=[]), dict(data_fields=["a", "b", "c"], meta_fields=[]),
               dict(data_fields=["a", "b"], meta_fields=["a"])):
        with pytest.raises(ValueError) as expected:
            jtu.register_dataclass(Two, **kw)
        with pytest.raises(ValueError, match=expected.value.args[0].replace(".", r"\.")):
            tu.register_dataclass(Two, **kw)
    for cls, kw in ((NotADataclass, {}), (Two, dict(data_fields=["a"]))):
        with pytest.raises(TypeError) as expected:
            jtu.register_dataclass(cls, **kw)
        with pytest.raises(TypeError, match=expected.value.args[0][:60]):
            tu.register_dataclass(cls, **kw)


PARTIALS = {  # name: (make one with module m, the arguments of a call)
    "add": (lambda m: m.Partial(operator.add, 1), (2,)),
    "keywords": (lambda m: m.Partial(max, 1, key=abs), (-3,)),
    "nested": (lambda m: m.Partial(m.Partial(operator.add, 1), 5), ()),  # the inner 1 is not a leaf
    "functools": (lambda m: m.Partial(functools.partial(operator.add, 1)), (4,)),
}


@pytest.mark.parametrize("make, args", PARTIALS.values(), ids=PARTIALS)
def test_partial_matches_jax(make, args):
    p, jp = make(tu), make(jtu)
    assert repr(p) == repr(jp) and p(*args) == jp(*args)
    assert _paths(tu, p) == _paths(jtu, jp)
    leaves, treedef = tu.tree_flatten(p)
    assert repr(treedef) == repr(jtu.tree_structure(jp)) and leaves == jtu.tree_leaves(jp)
    assert type(treedef.unflatten(leaves)) is tu.Partial and treedef == tu.tree_structure(treedef.unflatten(leaves))
    times10 = lambda x: x * 10 if isinstance(x, int) else x
    assert tu.tree_map(times10, p)(*args) == jtu.tree_map(times10, jp)(*args)


def test_reductions_match_jax():
    tree = [1, (2, 3), {"a": 4, "b": [5, None]}]
    for m in (tu, jtu):
        assert m.tree_reduce(operator.add, tree) == 15 and m.tree_reduce(operator.add, [], 7) == 7
        assert m.tree_reduce(lambda a, x: a + [x], tree, []) == [1, 2, 3, 4, 5]
        assert m.tree_reduce_associative(lambda a, b: f"({a}{b})", tree) == "((12)(3(45)))"
        assert m.tree_reduce_associative(operator.add, [None], identity=0) == 0
        assert m.tree_all([True, (1, {"a": "x"})]) and not m.tree_all([True, (0,)]) and m.tree_all([None])
        with pytest.raises(TypeError, match="reduce.. of empty"):
            m.tree_reduce(operator.add, {})
        with pytest.raises(TypeError, match="Must specify identity"):
            m.tree_reduce_associative(operator.add, ())


def test_transpose_matches_jax():
    tree = [(1, {"a": 2}), (3, {"a": 4}), (5, {"a": 6})]
    for inner in (lambda m: m.tree_structure((0, {"a": 0})), lambda m: None):
        out = tu.tree_transpose(tu.tree_structure([0, 0, 0]), inner(tu), tree)
        assert out == jtu.tree_transpose(jtu.tree_structure([0, 0, 0]), inner(jtu), tree) == \
            ([1, 3, 5], {"a": [2, 4, 6]})
    with pytest.raises(TypeError) as expected:
        jtu.tree_transpose(jtu.tree_structure([0, 0]), jtu.tree_structure((0,)), tree)
    with pytest.raises(TypeError) as got:
        tu.tree_transpose(tu.tree_structure([0, 0]), tu.tree_structure((0,)), tree)
    assert str(got.value) == str(expected.value)  # "Mismatch\n<tree>\n != \n<outer composed with inner>"


def test_broadcast_matches_jax():
    for prefix, full in [((1, 2, 3), (0, {"a": 0, "b": 0}, (0, 0))), ({"a": 1, "b": None}, {"a": [0, (0,)], "b": None}),
                         (7, [0, {"x": 0}]), ([1, 2], [None, [0, 0]])]:
        assert tu.tree_broadcast(prefix, full) == jtu.tree_broadcast(prefix, full)
    for m in (tu, jtu):
        with pytest.raises(ValueError, match="different lengths of tuple"):
            m.tree_broadcast((1, 2), (0, 0, 0))


def test_treedef_helpers_match_jax():
    for tree in [1, None, (), [1, (2,)], {"a": (1, None)}, Point(1, [2])]:
        d, jd = tu.tree_structure(tree), jtu.tree_structure(tree)
        assert tu.treedef_is_leaf(d) == jtu.treedef_is_leaf(jd)
        assert [repr(c) for c in tu.treedef_children(d)] == [repr(c) for c in jtu.treedef_children(jd)]
        assert repr(d.compose(tu.tree_structure((0, [0])))) == repr(jd.compose(jtu.tree_structure((0, [0]))))
    parts = lambda m: [m.tree_structure([1]), m.tree_structure(None), m.tree_structure({"k": 2})]
    assert repr(tu.treedef_tuple(parts(tu))) == repr(jtu.treedef_tuple(parts(jtu)))
    assert tu.treedef_tuple(parts(tu)) is tu.tree_structure(([1], None, {"k": 2}))


def test_leaf_and_node_tests_match_jax():
    for items, pred in [([1, 2], None), ([1, None], None), ([(1,)], None), ([], None), (iter([1, "a"]), None),
                        ([(1,), 2], lambda x: isinstance(x, tuple)), ([[1], 2], lambda x: isinstance(x, tuple))]:
        items = list(items)
        assert tu.all_leaves(items, pred) == jtu.all_leaves(items, pred)
    for typ in (list, tuple, dict, type(None), Point, Box, Params, int, str, np.ndarray):
        assert tu.is_tree_node(typ) == jtu.is_tree_node(typ)


def test_flatten_one_level_matches_jax():
    for node in [[1, (2,)], (1,), {"b": 1, "a": [2]}, None, collections.OrderedDict(b=1, a=2), Box(1, 2)]:
        (children, aux), (jchildren, jaux) = tu.flatten_one_level(node), jtu.flatten_one_level(node)
        assert (list(children), aux) == (list(jchildren), jaux)
        pairs, jpairs = tu.flatten_one_level_with_keys(node)[0], jtu.flatten_one_level_with_keys(node)[0]
        assert [(repr(k), c) for k, c in pairs] == [(repr(k), c) for k, c in jpairs]
    for m in (tu, jtu):
        with pytest.raises(ValueError, match="can't tree-flatten type: <class 'int'>"):
            m.flatten_one_level(1)
