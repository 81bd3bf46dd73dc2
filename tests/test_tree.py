"""irax.tree, the short names of irax.tree_util, against jax.tree as the oracle."""
import dataclasses
import operator

import pytest

import irax

jax_tree = pytest.importorskip("jax.tree")
jtu = pytest.importorskip("jax.tree_util")
from irax import tree_util as tu  # noqa: E402


def test_has_the_names_of_jax_tree():
    assert set(irax.tree.__all__) == {n for n in dir(jax_tree) if not n.startswith("_")}
    assert "tree" in irax.__all__ and irax.tree.map is tu.tree_map  # a name, not a copy


TREE = {"b": [1, (2, 3)], "a": None, "c": {"x": 4}}
OTHER = {"b": [10, (20, 30)], "a": None, "c": {"x": 40}}

CALLS = {  # name: call with module m (irax.tree or jax.tree)
    "map": lambda m: m.map(operator.add, TREE, OTHER),
    "map prefix": lambda m: m.map(lambda x, y: (x, y), [1, 2], [(3, 4), {"k": 5}]),
    "leaves": lambda m: m.leaves(TREE),
    "leaves is_leaf": lambda m: m.leaves(TREE, is_leaf=lambda x: isinstance(x, tuple)),
    "structure": lambda m: repr(m.structure(TREE)),
    "flatten": lambda m: (lambda leaves, d: (leaves, repr(d)))(*m.flatten(TREE)),
    "unflatten": lambda m: m.unflatten(m.structure(TREE), range(4)),
    "reduce": lambda m: m.reduce(operator.add, TREE),
    "reduce initializer": lambda m: m.reduce(operator.add, TREE, 100),
    "reduce_associative": lambda m: m.reduce_associative(operator.add, TREE),
    "all": lambda m: (m.all(TREE), m.all([1, (0,)]), m.all([])),
    "transpose": lambda m: m.transpose(m.structure([0, 0]), m.structure((0, 0, 0)), [(1, 2, 3), (4, 5, 6)]),
    "transpose inferred": lambda m: m.transpose(m.structure([0, 0]), None, [(1, {"a": 2}), (3, {"a": 4})]),
    "broadcast": lambda m: m.broadcast((1, 2, 3), (0, {"a": 0, "b": 0}, (0, 0))),
    "flatten_with_path": lambda m: repr(m.flatten_with_path(TREE)),
    "leaves_with_path": lambda m: repr(m.leaves_with_path(TREE, is_leaf=lambda x: isinstance(x, tuple))),
    "map_with_path": lambda m: repr(m.map_with_path(lambda p, x, y: (p, x + y), TREE, OTHER)),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS)
def test_matches_jax_tree(call):
    assert call(irax.tree) == call(jax_tree)


@pytest.mark.parametrize("name", ["map", "map_with_path"])
def test_mismatched_structures_raise_value_error(name):
    f = (lambda x, y: x) if name == "map" else (lambda p, x, y: x)
    for m in (irax.tree, jax_tree):
        with pytest.raises(ValueError, match="pytree structure error: different lengths of tuple"):
            getattr(m, name)(f, TREE, {"b": [1, (2,)], "a": None, "c": {"x": 4}})


def test_static_field_is_aux_data():
    def make(field, m):
        @dataclasses.dataclass
        class Layer:
            w: object
            act: str = field(default="relu")

        return m.register_dataclass(Layer)

    Layer, JLayer = make(irax.tree.static, tu), make(jax_tree.static, jtu)
    assert dataclasses.fields(Layer)[1].metadata == dataclasses.fields(JLayer)[1].metadata == {"static": True}
    assert irax.tree.leaves(Layer([1, 2])) == jax_tree.leaves(JLayer([1, 2])) == [1, 2]
    assert repr(irax.tree.structure(Layer(1, "tanh"))) == repr(jax_tree.structure(JLayer(1, "tanh")))
    assert irax.tree.static(default=0, metadata={"doc": "d"}).metadata == {"static": True, "doc": "d"}
