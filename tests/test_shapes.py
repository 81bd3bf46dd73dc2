"""irax.eval_shape, ShapeDtypeStruct, typeof and make_jaxpr: shapes, dtypes,
weak types, reprs and errors against JAX's. Nothing here compiles or runs a
program (test_nothing_is_compiled_or_run holds eval_shape and make_jaxpr to it)."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.backends import cache
from irax.frontend import executable

jax = pytest.importorskip("jax")
jjnp = jax.numpy

LIBS = {irax: jnp, jax: jjnp}


def sds(lib, shape, dtype, weak_type=False):
    return lib.ShapeDtypeStruct(shape, dtype, weak_type=weak_type)


# (name, fun(lib, np-like module, *args), args(lib)): each is run with irax and with jax.
CASES = [
    ("pytree out, python int weak", lambda lib, m, x, y: {"a": x @ y, "b": (x, 1)},
     lambda lib: (sds(lib, (2, 3), np.float32), sds(lib, (3, 4), np.int32))),
    ("python float in: weak", lambda lib, m, x: x * 2, lambda lib: (1.0,)),
    ("float64 struct: canonicalized", lambda lib, m, x: m.sin(x), lambda lib: (sds(lib, (3,), np.float64),)),
    ("int8 + 1 stays int8", lambda lib, m, x: x + 1, lambda lib: (sds(lib, (3,), np.int8),)),
    ("weak struct in", lambda lib, m, x: (x + 1, x + np.float32(1)), lambda lib: (sds(lib, (), np.float32, True),)),
    ("numpy array and bool", lambda lib, m, x, b: m.where(b, x, 0), lambda lib: (np.ones((2, 3)), True)),
    ("reductions, reshape, indexing", lambda lib, m, x: (m.sum(x, axis=0), x.reshape(4, 3)[1:, None], m.argmax(x)),
     lambda lib: (sds(lib, (3, 4), np.float32),)),
    ("shape as output", lambda lib, m, x: x.shape, lambda lib: (sds(lib, (5, 2), np.uint8),)),
    ("grad and jit inside", lambda lib, m, x: lib.grad(lambda x: m.sum(lib.jit(m.tanh)(x) ** 2))(x),
     lambda lib: (sds(lib, (5,), np.float32),)),
    ("None leaf, empty", lambda lib, m, x, n: (x.T, n, ()), lambda lib: (sds(lib, (0, 2), np.bool_), None)),
]


@pytest.mark.parametrize("name,fun,args", CASES, ids=[c[0] for c in CASES])
def test_eval_shape_like_jax(name, fun, args):
    """Same pytree of ShapeDtypeStruct, same repr (shape, dtype, weak_type)."""
    got = irax.eval_shape(lambda *a: fun(irax, jnp, *a), *args(irax))
    expected = jax.eval_shape(lambda *a: fun(jax, jjnp, *a), *args(jax))
    assert repr(got) == repr(expected)
    assert irax.tree_util.tree_structure(got) == irax.tree_util.tree_structure(
        irax.tree_util.tree_map(lambda s: 0, expected))


def test_eval_shape_takes_keywords_and_closures():
    w = jnp.ones((3, 2))
    out = irax.eval_shape(lambda x, *, scale: {"y": x @ w * scale}, irax.ShapeDtypeStruct((4, 3), jnp.float32),
                          scale=2.0)
    assert out == {"y": irax.ShapeDtypeStruct((4, 2), jnp.float32)}


def test_nothing_is_compiled_or_run(monkeypatch):
    def run(*args, **kwargs):
        raise AssertionError("a program ran")

    monkeypatch.setattr(executable, "execute", run)
    before = cache.stats()
    big = irax.ShapeDtypeStruct((10**5, 10**5), jnp.float32)  # 40 GB, were it real
    out = irax.eval_shape(lambda x: jnp.exp(x) @ x, big)
    program = irax.make_jaxpr(irax.jit(lambda x: jnp.sum(x * 2)))(big)
    assert cache.stats() == before
    assert out == big and program.out_avals == [irax.typeof(np.float32(0))]


def test_shape_dtype_struct_like_jax():
    for lib in LIBS:
        s = lib.ShapeDtypeStruct([2, 3], "float64")
        assert (s.shape, s.dtype, s.weak_type, s.ndim, s.size) == ((2, 3), np.float64, False, 2, 6)
    assert repr(irax.ShapeDtypeStruct((3,), jnp.bfloat16, weak_type=True)) == repr(
        jax.ShapeDtypeStruct((3,), jjnp.bfloat16, weak_type=True))
    s = irax.ShapeDtypeStruct((3,), np.float32)
    assert s == irax.ShapeDtypeStruct([3], "float32") and hash(s) == hash(irax.ShapeDtypeStruct([3], "float32"))
    assert s != s.update(weak_type=True) and s.update(shape=(1, 2)).shape == (1, 2)
    for lib, error in [(jax, pytest.raises(RuntimeError)), (irax, pytest.raises(RuntimeError, match="immutable"))]:
        with error:
            lib.ShapeDtypeStruct((3,), np.float32).shape = (4,)
    for lib in LIBS:
        with pytest.raises(ValueError, match="dtype must be specified"):
            lib.ShapeDtypeStruct((3,), None)


TYPEOF = [
    lambda lib: LIBS[lib].ones(3), lambda lib: 1.0, lambda lib: True, lambda lib: 3, lambda lib: np.float64(1),
    lambda lib: np.arange(6, dtype=np.int64).reshape(2, 3), lambda lib: sds(lib, (3,), np.float64),
    lambda lib: sds(lib, (), np.int8, True),
    lambda lib: lib.random.key(42), lambda lib: lib.random.split(lib.random.key(0), 3),  # key<fry>[3]
]


@pytest.mark.parametrize("make", TYPEOF)
def test_typeof_like_jax(make):
    got, expected = irax.typeof(make(irax)), jax.typeof(make(jax))
    assert (repr(got), str(got)) == (repr(expected), str(expected))


@pytest.mark.parametrize("value", ["a", np.str_("a"), [1, 2]], ids=repr)
def test_typeof_errors_like_jax(value):
    with pytest.raises(TypeError):
        jax.typeof(value)
    with pytest.raises(TypeError, match=f"Argument '.*' of type {type(value)} is not a valid irax type"):
        irax.typeof(value)


def f(x, y):
    return x


@pytest.mark.parametrize("args,kwargs", [((1, {"a": "x"}), {}), ((1,), {"y": [2, object()]})], ids=["dict", "kwarg"])
def test_non_array_arguments_error_like_jax(args, kwargs):
    """JAX's TypeError, naming the leaf by its parameter and keys."""
    with pytest.raises(TypeError) as expected:
        jax.eval_shape(f, *args, **kwargs)
    first_line = str(expected.value).splitlines()[0]
    for api in (irax.eval_shape, lambda f, *a, **k: irax.make_jaxpr(f)(*a, **k)):
        with pytest.raises(TypeError) as got:
            api(f, *args, **kwargs)
        assert str(got.value).splitlines()[0] == first_line


@pytest.mark.parametrize("fun,args", [
    (lambda m, x, y: x + y, lambda lib: (sds(lib, (3,), np.float32), sds(lib, (4,), np.float32))),
    (lambda m, x, y: m.reshape(x, (4,)), lambda lib: (sds(lib, (3,), np.float32), 1)),
    (lambda m, x: "a", lambda lib: (1.0,)),
], ids=["broadcast", "reshape", "returns a string"])
def test_errors_of_the_function_are_jaxs(fun, args):
    with pytest.raises(Exception) as expected:
        jax.eval_shape(lambda *a: fun(jjnp, *a), *args(jax))
    with pytest.raises(expected.type):
        irax.eval_shape(lambda *a: fun(jnp, *a), *args(irax))


def test_make_jaxpr_shows_the_traced_program():
    w = jnp.ones((3, 2))
    x = irax.ShapeDtypeStruct((4, 3), jnp.float32)
    program = irax.make_jaxpr(lambda x: jnp.sin(x) @ w)(x)
    text = str(program)
    assert text == repr(program)
    assert "func.func @main(%arg0: tensor<4x3xf32>, %arg1: tensor<3x2xf32>) -> tensor<4x2xf32>" in text
    assert "math.sin" in text
    assert program.consts == [w]  # the closed-over array: the last argument
    expected = jax.make_jaxpr(lambda x: jjnp.sin(x) @ jjnp.ones((3, 2)))(jax.ShapeDtypeStruct((4, 3), jjnp.float32))
    assert repr(program.in_avals) == repr(expected.in_avals)
    assert repr(program.out_avals) == repr(expected.out_avals)
    program, shapes = irax.make_jaxpr(lambda x: {"y": x * 2}, return_shape=True)(1.0)
    assert repr(shapes) == repr(jax.make_jaxpr(lambda x: {"y": x * 2}, return_shape=True)(1.0)[1])
    assert irax.make_jaxpr(f).__name__ == jax.make_jaxpr(f).__name__
