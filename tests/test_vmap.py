"""irax.vmap against jax.vmap: values, shapes and dtypes for in_axes and
out_axes of every kind, the ops inside (elementwise, broadcasting,
reductions, contractions, shape ops, gathers, scatters, control flow),
composition with jit and grad, and JAX's errors. Then the batching pass
itself (transforms/batching.py).

Each case is a function of a numpy module, run with irax.numpy under
irax.vmap and with jax.numpy under jax.vmap on the same arguments."""
import re

import numpy as np
import pytest
from iree.compiler import ir

import irax
import irax.nn
import irax.numpy as jnp
from helpers import run_module
from irax.frontend.core import ShapedArray
from irax.ir import mlir
from irax.transforms.batching import add_batched

jax = pytest.importorskip("jax")
jjnp = jax.numpy

rng = np.random.default_rng(0)
X = rng.normal(size=(3, 4)).astype(np.float32)
X3 = rng.normal(size=(2, 3, 4)).astype(np.float32)
V = rng.normal(size=4).astype(np.float32)
M = rng.normal(size=(4, 4)).astype(np.float32)
# Scatter indices per member: repeated, negative (from the end) and out of bounds (dropped).
IDX = np.array([[0, 0, 3, 1], [1, 3, 1, -1], [-1, 2, 5, 2]], np.int32)


def same(ours, theirs):
    """Two pytrees of arrays with equal structure, shapes, dtypes and values."""
    ours_leaves, ours_tree = irax.tree_util.tree_flatten(ours)
    theirs_leaves, theirs_tree = jax.tree_util.tree_flatten(theirs)
    assert len(ours_leaves) == len(theirs_leaves), (ours_tree, theirs_tree)
    for a, b in zip(ours_leaves, theirs_leaves):
        assert (a.shape, a.dtype) == (b.shape, b.dtype)
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-5)


def both(case, *args, **vmap_kwargs):
    """`case(np_module)` vmapped by irax and by JAX on `args`: the same results."""
    same(irax.vmap(case(jnp), **vmap_kwargs)(*args), jax.vmap(case(jjnp), **vmap_kwargs)(*args))


def jax_or_irax(np_):
    return irax if np_ is jnp else jax


def newton_sqrt(np_):
    """A square root per member by Newton's method, to a relative tolerance:
    under vmap the predicate is mapped, and the rows of X stop after 4, 7
    and 0 steps (the step count is an output)."""
    def f(a):
        s = np_.exp(a.sum() * 3) + 1
        step = lambda c: ((c[0] + s / c[0]) / 2, c[1] + 1)  # noqa: E731
        return jax_or_irax(np_).lax.while_loop(lambda c: np_.abs(c[0] * c[0] - s) > 1e-3 * s, step, (s, 0))
    return f


def at(method):
    """`x.at[i].method(v)`, x maybe a NumPy array."""
    return lambda np_: lambda x, i, v: getattr(np_.asarray(x).at[i], method)(v)


BRANCHES = [lambda x: x * 2, lambda x: -x, lambda x: x + 1]


CASES = {
    # name: (case, args, vmap keywords)
    "elementwise": (lambda np_: lambda a, b: np_.sin(a) * b + 1, (X, X), {}),
    "in_axes=(1, None)": (lambda np_: lambda a, b: a * b, (X, X[:, 0]), {"in_axes": (1, None)}),
    "in_axes=(-1, 0)": (lambda np_: lambda a, b: a - b, (X, X.T), {"in_axes": (-1, 0)}),
    "in_axes=[0, None] (a list)": (lambda np_: lambda a, b: a / b, (X, V + 3), {"in_axes": [0, None]}),
    "in_axes as a dict prefix": (lambda np_: lambda d, c: d["a"] + d["b"] * c, ({"a": X, "b": X.T}, 2.0),
                                 {"in_axes": ({"a": 0, "b": 1}, None)}),
    "integer and bool results": (lambda np_: lambda a: (a > 0, (a * 10).astype(np_.int32) // 3), (X,), {}),
    "broadcast against a closure": (lambda np_: lambda a: np_.maximum(a, V) * M[0], (X,), {}),
    "sum, mean, max over axes": (lambda np_: lambda a: (np_.sum(a, axis=0), np_.mean(a, axis=1), np_.max(a),
                                                        np_.argmax(a, axis=1)), (X3,), {}),
    "nn.softmax": (lambda np_: jax_or_irax(np_).nn.softmax, (X,), {}),
    "matrix-vector product": (lambda np_: lambda m, v: m @ v, (M, X), {"in_axes": (None, 0)}),
    "dot of two batches": (lambda np_: np_.dot, (X, X), {}),
    "batched matmul": (lambda np_: np_.matmul, (X3, np.swapaxes(X3, 1, 2)), {}),
    "matmul mapped over axis 1": (lambda np_: lambda a, b: a @ b.T, (X3, X3), {"in_axes": (1, 1)}),
    "reshape, transpose, concatenate, slices": (
        lambda np_: lambda a: np_.concatenate([a.reshape(4, 2), a.T], axis=1)[1:3, ::2], (X3,), {"in_axes": 1}),
    "pad, cumsum, expand_dims": (lambda np_: lambda a: np_.expand_dims(np_.cumsum(np_.pad(a, 1)), 0), (X,), {}),
    "pad with a mapped value": (lambda np_: lambda a: np_.pad(a, (1, 2), constant_values=a[0]), (X,), {}),
    "full of a mapped value": (lambda np_: lambda a: np_.full((2,), a[1]), (X,), {}),
    "update at a static index": (lambda np_: lambda a: a.at[1].set(0.0).at[2:].add(1.0), (X,), {}),
    "gather with an index array": (lambda np_: lambda a: a[np_.array([3, 0, 3])], (X,), {}),
    "index mapped too": (lambda np_: lambda a, i: a[i] + a[i - 1], (X, np.array([0, 3, 1], np.int32)), {}),
    "gather from an unmapped table": (lambda np_: lambda t, i: np_.asarray(t)[i], (M, np.array([1, 3, 0], np.int32)),
                                      {"in_axes": (None, 0)}),
    "scatter-add, x mapped": (at("add"), (X, IDX[0], V), {"in_axes": (0, None, None)}),
    "scatter-add, index mapped": (at("add"), (V, IDX, V), {"in_axes": (None, 0, None)}),
    "scatter-add, updates mapped": (at("add"), (V, IDX[0], X), {"in_axes": (None, None, 0)}),
    "scatter-max, all mapped": (at("max"), (X, IDX, X[::-1]), {}),
    "fori_loop, carry mapped by a closure": (
        lambda np_: lambda a: jax_or_irax(np_).lax.fori_loop(0, 3, lambda i, c: c * 0.5 + a * i, np_.zeros(4)),
        (X,), {}),
    "fori_loop, mapped bounds (a while_loop)": (
        lambda np_: lambda a, n: jax_or_irax(np_).lax.fori_loop(0, n, lambda i, c: c * 2 + i, a),
        (X, np.array([1, 2, 3], np.int32)), {}),
    "scan over mapped xs": (lambda np_: lambda a: jax_or_irax(np_).lax.scan(lambda c, x: (c + x, c * x), 0.0, a),
                            (X,), {}),
    "reverse scan, unmapped xs": (
        lambda np_: lambda a, m: jax_or_irax(np_).lax.scan(lambda c, r: (c * r, c.sum()), a, m, reverse=True),
        (X, M), {"in_axes": (0, None)}),
    "while_loop, one trip count": (
        lambda np_: lambda a: jax_or_irax(np_).lax.while_loop(lambda c: c[1] < 3, lambda c: (c[0] * 2, c[1] + 1),
                                                              (a, 0)), (X,), {}),
    "while_loop, a trip count per member": (newton_sqrt, (X,), {}),
    "cond, unmapped predicate": (  # takes the branch that returns the unmapped b
        lambda np_: lambda a, b: jax_or_irax(np_).lax.cond(b.sum() > 100, lambda x: x * 2, lambda x: b, a),
        (X, V), {"in_axes": (0, None)}),
    "cond, mapped predicate": (
        lambda np_: lambda a: jax_or_irax(np_).lax.cond(a.sum() > 0, lambda x: x * 2, lambda x: -x, a), (X,), {}),
    "switch, mapped index": (lambda np_: lambda a, i: jax_or_irax(np_).lax.switch(i, BRANCHES, a),
                             (X, np.array([-1, 1, 5], np.int32)), {}),
    "out_axes=1": (lambda np_: lambda a: a * 2, (X3,), {"out_axes": 1}),
    "out_axes=-1 with in_axes=2": (lambda np_: lambda a: a.T, (X3,), {"in_axes": 2, "out_axes": -1}),
    "out_axes pytree with None": (lambda np_: lambda a, b: {"y": a + b, "b": b * 2}, (X, V),
                                  {"in_axes": (0, None), "out_axes": {"y": 1, "b": None}}),
    "unmapped output broadcast": (lambda np_: lambda a, b: (a, b + 1.0), (X, V), {"in_axes": (0, None)}),
    "axis_size with nothing mapped": (lambda np_: lambda a: a + 1, (V,), {"in_axes": None, "axis_size": 2}),
    "weak scalar output": (lambda np_: lambda a: 2.0, (X,), {}),
    "sort, argsort, slices of an empty batch": (
        lambda np_: lambda a: (np_.sort(a), np_.argsort(a), a[1:3], a.at[1].set(0.0), a[0]), (X[:0],), {}),
    "unmapped outputs at out_axes None of an empty batch": (
        lambda np_: lambda a, b: (a * 2, b + 1.0, np_.ones(4), X[0] * 2), (X[:0], V),
        {"in_axes": (0, None), "out_axes": (0, None, None, None)}),
}


@pytest.mark.parametrize("name", CASES)
def test_vmap_like_jax(name):
    case, args, kwargs = CASES[name]
    both(case, *args, **kwargs)


def test_untraced_outputs_at_out_axes_none_are_given_back_as_they_are():
    """As in JAX: a Python number, NumPy value or concrete array that no op
    computed from the arguments comes back itself (not as an irax array),
    unless an enclosing jit makes its outputs arrays."""
    def f(np_):
        return lambda a: {"float": 1.0, "int": 2, "numpy": np.float32(3), "mapped": a, "computed": a.sum() * 0}
    axes = {"float": None, "int": None, "numpy": None, "mapped": 0, "computed": 0}
    ours, theirs = irax.vmap(f(jnp), out_axes=axes)(X), jax.vmap(f(jjnp), out_axes=axes)(X)
    for name in ("float", "int", "numpy"):
        assert type(ours[name]) is type(theirs[name]) and ours[name] == theirs[name]
    same({k: ours[k] for k in ("mapped", "computed")}, {k: theirs[k] for k in ("mapped", "computed")})
    inner = lambda vmap: vmap(lambda a: 2.0, out_axes=None)  # noqa: E731
    assert irax.vmap(inner(irax.vmap), out_axes=None)(X) == 2.0
    same(irax.jit(inner(irax.vmap))(X), jax.jit(inner(jax.vmap))(X))
    same(irax.vmap(inner(irax.vmap))(X3), jax.vmap(inner(jax.vmap))(X3))


def test_keyword_arguments_are_mapped_along_axis_0():
    same(irax.vmap(lambda a, b: a * b, in_axes=(None,))(V, b=X), jax.vmap(lambda a, b: a * b, in_axes=(None,))(V, b=X))


def test_static_arguments_pass_through_unmapped():
    f = lambda a, mode: a * 2 if mode == "double" else a  # noqa: E731
    same(irax.vmap(f, in_axes=(0, None))(X, "double"), 2 * X)


def test_custom_pytree_whose_constructor_converts_its_leaves():
    """docs/custom_pytrees.md's MyTree (`self.a = jnp.asarray(a)`) maps as in JAX:
    vmap never rebuilds it from stand-in leaves (which asarray rejects)."""
    class MyTree:
        def __init__(self, a):
            self.a = jnp.asarray(a)

    irax.tree_util.register_pytree_node(MyTree, lambda t: ((t.a,), None), lambda _, c: MyTree(*c))
    got = irax.vmap(lambda t: t)(MyTree(jnp.arange(5.0)))
    assert type(got) is MyTree
    same(got.a, np.arange(5.0, dtype=np.float32))
    same(irax.vmap(lambda t, b: t.a * b, in_axes=(0, None))(MyTree(X), 2.0), 2 * X)


def test_nested_vmap():
    def outer(np_):
        vmap = jax_or_irax(np_).vmap
        return vmap(vmap(lambda a, b: a * b + np_.sum(b), (0, None)), (None, 0))

    same(outer(jnp)(V, X), outer(jjnp)(V, X))
    same(irax.vmap(irax.vmap(jnp.sum))(X3), jax.vmap(jax.vmap(jjnp.sum))(X3))


def test_vmap_of_jit_and_jit_of_vmap():
    f = lambda np_: lambda a: np_.sum(a ** 2) * a  # noqa: E731
    expected = jax.vmap(f(jjnp))(X)
    same(irax.vmap(irax.jit(f(jnp)))(X), expected)
    same(irax.jit(irax.vmap(f(jnp)))(X), expected)


def test_eager_vmap_compiles_once_per_signature(capfd, monkeypatch):
    monkeypatch.setattr(irax.config, "irax_log_compiles", True)
    f = irax.vmap(lambda a: a * 3)
    f(X)
    f(X + 1)
    assert capfd.readouterr().err.count("compiling vmap") == 1


def _loss(np_, params, x, y):
    hidden = np_.tanh(x @ params["w1"] + params["b1"])
    return np_.mean((hidden @ params["w2"] - y) ** 2)


PARAMS = {"w1": rng.normal(size=(4, 3)).astype(np.float32), "b1": rng.normal(size=3).astype(np.float32),
          "w2": rng.normal(size=(3, 2)).astype(np.float32)}
TARGETS = rng.normal(size=(3, 2)).astype(np.float32)


def test_per_example_gradients():
    ours = irax.vmap(irax.grad(lambda p, x, y: _loss(jnp, p, x, y)), in_axes=(None, 0, 0))(PARAMS, X, TARGETS)
    theirs = jax.vmap(jax.grad(lambda p, x, y: _loss(jjnp, p, x, y)), in_axes=(None, 0, 0))(PARAMS, X, TARGETS)
    same(ours, theirs)


def test_per_example_gradients_through_a_loop():
    def f(np_):
        return lambda p, x: jax_or_irax(np_).lax.fori_loop(0, 3, lambda i, c: np_.sin(c) * p + x, x).sum()

    same(irax.vmap(irax.grad(f(jnp)), in_axes=(None, 0))(V, X), jax.vmap(jax.grad(f(jjnp)), in_axes=(None, 0))(V, X))


def test_grad_of_vmap():
    def total(np_, vmap):
        return lambda p: np_.sum(vmap(lambda x, y: _loss(np_, p, x, y))(X, TARGETS) ** 2)

    same(irax.grad(total(jnp, irax.vmap))(PARAMS), jax.grad(total(jjnp, jax.vmap))(PARAMS))


def test_stop_gradient_survives_batching():
    f = lambda lax, vmap: lambda a: (vmap(lambda r: r * lax.stop_gradient(r))(a)).sum()  # noqa: E731
    same(irax.grad(f(irax.lax, irax.vmap))(X), jax.grad(f(jax.lax, jax.vmap))(X))


def test_one_batched_op_per_op_not_a_loop():
    """The batched program has the ops of one slice, each over the whole batch."""
    f = lambda a: jnp.sum(jnp.exp(a) * 2.0)  # noqa: E731
    one = irax.jit(f).lower(X[0]).as_text("traced").count("linalg.generic")
    batched = irax.vmap(f).lower(X).as_text("traced")
    assert batched.count("linalg.generic") == one
    assert re.search(r"iterator_types = \[\"parallel\", \"reduction\"\]", batched)


def test_one_loop_for_the_whole_batch():
    """Members with different trip counts share one scf.while (those done keep their carry)."""
    assert irax.vmap(newton_sqrt(jnp)).lower(X).as_text("traced").count("scf.while") == 1


ERRORS = [
    # (name, call on the vmap function and a numpy module, error type)
    ("inconsistent sizes", lambda vmap, np_: vmap(lambda a, b: a)(X, V), ValueError),
    ("axis_size disagrees", lambda vmap, np_: vmap(lambda a, b: a, in_axes=(0, None), axis_size=5)(X, V),
     ValueError),
    ("most axes had one size", lambda vmap, np_: vmap(lambda a, b, c: a)(X, X, V), ValueError),
    ("axis out of range", lambda vmap, np_: vmap(lambda a: a, in_axes=2)(X), ValueError),
    ("negative axis out of range", lambda vmap, np_: vmap(lambda a: a, in_axes=-3)(X), ValueError),
    ("a scalar mapped", lambda vmap, np_: vmap(lambda a: a)(1.0), ValueError),
    ("nothing mapped", lambda vmap, np_: vmap(lambda a: a, in_axes=None)(X), ValueError),
    ("no arguments", lambda vmap, np_: vmap(lambda: 1.0)(), ValueError),
    ("in_axes of the wrong length", lambda vmap, np_: vmap(lambda a: a, in_axes=(0, 0))(X), ValueError),
    ("a string mapped", lambda vmap, np_: vmap(lambda a, s: a, in_axes=(0, 0))(X, "s"), TypeError),
    ("in_axes not an int", lambda vmap, np_: vmap(lambda a: a, in_axes=1.5)(X), TypeError),
    ("in_axes a dict", lambda vmap, np_: vmap(lambda d: d, in_axes={"a": 0})({"a": X}), TypeError),
    ("in_axes with a float leaf", lambda vmap, np_: vmap(lambda a: a, in_axes=(0.5,))(X), TypeError),
    ("out_axes not an int", lambda vmap, np_: vmap(lambda a: a, out_axes=1.5)(X), TypeError),
    ("mapped output with out_axes=None", lambda vmap, np_: vmap(lambda a: a.sum(), out_axes=None)(X), ValueError),
    ("mapped output of an empty batch with out_axes=None",
     lambda vmap, np_: vmap(lambda a: a * 2, out_axes=None)(X[:0]), ValueError),
    ("mapped output with out_axes None in a tree",
     lambda vmap, np_: vmap(lambda a: {"a": a, "b": [1.0, a]}, out_axes={"a": 0, "b": None})(X), ValueError),
    ("out_axes out of range", lambda vmap, np_: vmap(lambda a: a, out_axes=2)(X), ValueError),
    ("negative out_axes out of range", lambda vmap, np_: vmap(lambda a: a, out_axes=-3)(X), ValueError),
]


@pytest.mark.parametrize("name, call, error", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_like_jax(name, call, error):
    with pytest.raises(error) as theirs:
        call(jax.vmap, jjnp)
    with pytest.raises(error) as ours:
        call(irax.vmap, jnp)
    assert str(ours.value) == str(theirs.value)


def test_in_axes_must_be_a_prefix_of_the_arguments():
    with pytest.raises(ValueError, match="vmap in_axes specification must be a tree prefix"):
        irax.vmap(lambda a: a, in_axes=({"a": 0},))(X)


def custom_fns(lib, np):
    """A custom_jvp function whose rule calls the function itself, and a
    custom_vjp function of two arguments that closes over an array."""
    @lib.custom_jvp
    def log1pexp(x):
        return np.log1p(np.exp(x))

    @log1pexp.defjvp
    def rule(primals, tangents):
        return log1pexp(primals[0]), tangents[0] * (1 - 1 / (1 + np.exp(primals[0])))

    offset = np.asarray(0.5, np.float32)

    @lib.custom_vjp
    def scaled_sin(x, y):
        return np.sin(x) * y + offset

    scaled_sin.defvjp(lambda x, y: (scaled_sin(x, y), (np.cos(x), x, y)),
                      lambda r, g: (r[0] * r[2] * g, np.sin(r[1]) * g))
    return {
        "vmap(custom_jvp)": lambda x: lib.vmap(log1pexp)(x),
        "vmap(grad(custom_jvp))": lambda x: lib.vmap(lib.grad(lambda v: log1pexp(v).sum()))(x),
        "grad(vmap(custom_jvp))": lambda x: lib.grad(lambda v: lib.vmap(log1pexp)(v).sum())(x),
        "vmap(custom_vjp), one argument unbatched": lambda x: lib.vmap(scaled_sin, in_axes=(0, None))(x, x[0]),
        "grad(vmap(custom_vjp)) for both arguments": lambda x: lib.grad(
            lambda a, b: lib.vmap(scaled_sin, in_axes=(0, None))(a, b).sum(), argnums=(0, 1))(x, x[0]),
        "jit(vmap(grad(custom_vjp)))": lambda x: lib.jit(lib.vmap(lib.vmap(lib.grad(scaled_sin, argnums=(0, 1)))))(
            x, x * 2),
    }


@pytest.mark.parametrize("name", list(custom_fns(irax, jnp)))
def test_custom_derivatives_batch_as_in_jax(platform, name):
    """The call stays a custom call, of the function and its rules batched."""
    same(custom_fns(irax, jnp)[name](X), custom_fns(jax, jax.numpy)[name](X))


# ---------------------------------------------------------------------------
# The pass alone, on a module: ops no numpy function emits today.

COPY = """
func.func @f(%x: tensor<3xf32>, %y: tensor<f32>) -> (tensor<3xf32>, tensor<5xf32>) {
  %e = tensor.empty() : tensor<3xf32>
  %c = linalg.copy ins(%x : tensor<3xf32>) outs(%e : tensor<3xf32>) -> tensor<3xf32>
  %v = tensor.extract %y[] : tensor<f32>
  %p = tensor.pad %c low[1] high[1] {
  ^bb0(%i: index):
    tensor.yield %v : f32
  } : tensor<3xf32> to tensor<5xf32>
  return %c, %p : tensor<3xf32>, tensor<5xf32>
}
"""


def test_the_pass_batches_copy_and_pad_of_a_module():
    with mlir.context():
        module = ir.Module.parse(COPY)
        batched, out_batched = add_batched(module, [1, None], 2, of="f", name="main")
        assert out_batched == [True, True]
        assert str(batched.type) == "(tensor<3x2xf32>, tensor<f32>) -> (tensor<2x3xf32>, tensor<2x5xf32>)"
        assert module.operation.verify()
    x = rng.normal(size=(3, 2)).astype(np.float32)
    copied, padded = run_module(module, [x, np.float32(7)], [ShapedArray((2, 3), np.float32),
                                                              ShapedArray((2, 5), np.float32)])
    np.testing.assert_array_equal(np.asarray(copied), x.T)
    np.testing.assert_array_equal(np.asarray(padded), np.pad(x.T, ((0, 0), (1, 1)), constant_values=7))


def test_the_pass_rejects_a_mapped_padding_value():
    with mlir.context():
        module = ir.Module.parse(COPY)
        with pytest.raises(NotImplementedError, match="'tensor.pad' with a batched padding value"):
            add_batched(module, [None, 0], 2, of="f")


TWO_CALLS = """
func.func private @g(%a: tensor<3xf32>, %b: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>) {
  %e = tensor.empty() : tensor<3xf32>
  %c = linalg.copy ins(%a : tensor<3xf32>) outs(%e : tensor<3xf32>) -> tensor<3xf32>
  return %c, %b : tensor<3xf32>, tensor<3xf32>
}
func.func @f(%x: tensor<3xf32>, %y: tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) {
  %0:2 = func.call @g(%x, %y) : (tensor<3xf32>, tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  %1:2 = func.call @g(%y, %x) : (tensor<3xf32>, tensor<3xf32>) -> (tensor<3xf32>, tensor<3xf32>)
  return %0#0, %1#0, %1#1 : tensor<3xf32>, tensor<3xf32>, tensor<3xf32>
}
"""


def test_the_pass_batches_each_call_by_its_own_operands():
    with mlir.context():
        module = ir.Module.parse(TWO_CALLS)
        batched, _ = add_batched(module, [0, None], 2, of="f", name="main")
        assert module.operation.verify()
    x, y = rng.normal(size=(2, 3)).astype(np.float32), rng.normal(size=3).astype(np.float32)
    results = run_module(module, [x, y], [ShapedArray((2, 3), np.float32)] * 3)
    for result, expected in zip(results, [x, np.broadcast_to(y, (2, 3)), x]):
        np.testing.assert_array_equal(np.asarray(result), expected)


SCALE = """
func.func @f(%x: tensor<3xf32>, %y: tensor<f32>) -> tensor<3xf32> {
  %v = tensor.extract %y[] : tensor<f32>
  %e = tensor.empty() : tensor<3xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]} ins(%x : tensor<3xf32>) outs(%e : tensor<3xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %v : f32
    linalg.yield %m : f32
  } -> tensor<3xf32>
  return %r : tensor<3xf32>
}
"""


def test_the_pass_reads_a_mapped_scalar_inside_a_generic():
    with mlir.context():
        module = ir.Module.parse(SCALE)
        add_batched(module, [None, 0], 2, of="f", name="main")
        assert module.operation.verify()
    x, y = rng.normal(size=3).astype(np.float32), rng.normal(size=2).astype(np.float32)
    (result,) = run_module(module, [x, y], [ShapedArray((2, 3), np.float32)])
    np.testing.assert_allclose(np.asarray(result), y[:, None] * x, rtol=1e-6)


FORWARDS_ANOTHER = """
func.func @f(%x: tensor<f32>) -> tensor<f32> {
  %r = scf.while (%c = %x) : (tensor<f32>) -> tensor<f32> {
    %e = tensor.extract %c[] : tensor<f32>
    %z = arith.constant 0.0 : f32
    %t = arith.cmpf olt, %e, %z : f32
    scf.condition(%t) %x : tensor<f32>
  } do {
  ^bb0(%a: tensor<f32>):
    scf.yield %a : tensor<f32>
  }
  return %r : tensor<f32>
}
"""


def test_the_pass_needs_a_while_loop_to_pass_on_its_carry():
    with mlir.context():
        module = ir.Module.parse(FORWARDS_ANOTHER)
        with pytest.raises(NotImplementedError, match="'scf.while' whose condition does not pass on its carry"):
            add_batched(module, [0], 2, of="f")


# ---------------------------------------------------------------------------
# Loops whose rows stop apart, and IREE's VM register allocator
# (backends/vm_branches.py)

def test_vmapped_bfgs_as_in_jax():
    """Each row runs its own BFGS loops (batched predicates). Before
    backends/vm_branches.py its CPU program read a null buffer: "indirect
    buffer reference slot 0 is out range ... binding[3]"."""
    a = np.array([[3.0, 0.5], [0.5, 1.0]], np.float32)
    x0 = np.array([[2.0, 1.0], [-1.0, 0.5], [0.3, 0.3]], np.float32)  # (rows that converge: exact counts)

    def solve(lib, optimize):
        return lib.jit(lib.vmap(lambda x: optimize.minimize(lambda x: 0.5 * x @ a @ x - x.sum(), x, method="BFGS")))(x0)

    import irax.scipy.optimize
    import jax.scipy.optimize
    got, want = solve(irax, irax.scipy.optimize), solve(jax, jax.scipy.optimize)
    for field in ("x", "fun", "jac", "hess_inv", "status", "success", "nfev", "njev", "nit"):
        np.testing.assert_allclose(np.asarray(getattr(got, field)), np.asarray(getattr(want, field)),
                                   rtol=1e-3, atol=1e-4, err_msg=field)  # (float32 iterations)


def _branches_passing_a_ref_twice(vm_text) -> int:
    from irax.backends import vm_branches
    with mlir.context():
        module = ir.Module.parse(vm_text)
        count = 0
        for branch in mlir.ops_where(module.operation, lambda op: op.name in ("vm.br", "vm.cond_br")):
            for operands in vm_branches._successor_ranges(branch):
                refs = [branch.operands[k] for k in operands if str(branch.operands[k].type).startswith("!vm.ref")]
                count += any(r == s for i, r in enumerate(refs) for s in refs[:i])
        return count


def test_no_branch_passes_a_ref_twice(platform):
    """A loop that stops at the first row to finish: IREE packs its carries
    into one allocation, and the branches out of it pass that allocation and
    its fence once per carry, which IREE's register allocator can turn into
    a null ref (vm_branches.py). After the fix each is a value of its own."""
    if platform != "cpu":  # (each copy would compile the same text for the CPU: ~1 s each)
        pytest.skip("compiles for the CPU backend on every platform: the cpu copy checks it")
    from irax.backends import compiler, cpu, vm_branches

    def f(x):
        return irax.lax.while_loop(lambda c: (c[0] < 5) & (c[1].sum() > 0.1),
                                   lambda c: (c[0] + 1, c[1] * 0.5 + c[2], c[2] - c[1], c[3] + 1), (0, x, x, 0))
    text = cpu.backend.prepare(irax.jit(irax.vmap(f)).lower(X[:, :2]).as_text("optimized"))
    [vm_text] = compiler.compile_to_phases(text, cpu.backend.target_backend, cpu.backend.compile_flags, ["vm"])
    assert _branches_passing_a_ref_twice(vm_text)
    assert not _branches_passing_a_ref_twice(vm_branches.distinct_branch_refs(vm_text))


def test_an_unmapped_python_number_is_a_number_where_the_function_needs_its_value():
    """in_axes None: a loop over an int argument runs as in JAX (it was traced:
    ConcretizationTypeError), while a float the function only computes with
    stays an operand, its values sharing one program."""
    from irax.backends import cache

    def doubled(lib):
        def f(x, n):
            for _ in range(n):
                x = x * 2.0
            return x
        return f

    x = np.arange(3, dtype=np.float32)
    for n in (2, 3):
        np.testing.assert_array_equal(irax.vmap(doubled(irax), (0, None))(x, n), jax.vmap(doubled(jax), (0, None))(x, n))
    scaled = irax.vmap(lambda v, s: v * s, (0, None))
    scaled(x, 0.5)
    before = cache.stats()["compiles"]
    for s in (1.5, 2.5, 3.5):
        np.testing.assert_array_equal(scaled(x, s), x * np.float32(s))
    assert cache.stats()["compiles"] == before


def test_what_a_call_computes_without_the_batch_stays_unbatched():
    """vmap(lambda t: jvp(f, (x,), (t,))[0], out_axes=None): the jvp's primal
    output (and a has_aux aux) does not depend on t, as JAX sees; irax
    broadcast every result of a call ("output was batched on axis 0")."""
    x, ts = np.arange(3.0, dtype=np.float32), np.ones((4, 3), np.float32)
    for m in (irax, jax):
        sin, f = m.numpy.sin, (lambda x, m=m: (m.numpy.sin(x), x * 2))
        np.testing.assert_allclose(m.vmap(lambda t: m.jvp(sin, (x,), (t,))[0], out_axes=None)(ts), np.sin(x), rtol=1e-6)
        np.testing.assert_allclose(m.vmap(lambda t: m.jvp(f, (x,), (t,), has_aux=True)[2], out_axes=None)(ts), x * 2)
        with pytest.raises(ValueError, match="got axis spec None but output was batched on axis 0"):
            m.vmap(lambda t: m.jvp(sin, (x,), (t,))[1], out_axes=None)(ts)


def test_vmap_takes_spmd_axis_name():
    """spmd_axis_name (a mesh axis to shard the batch over) was a TypeError; one device shards nothing."""
    np.testing.assert_array_equal(irax.vmap(lambda x: x * 2, spmd_axis_name="data")(jnp.arange(3.0)), [0.0, 2.0, 4.0])
