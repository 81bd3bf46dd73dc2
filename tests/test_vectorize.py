"""jnp.vectorize: generalized ufuncs on top of vmap, with jax.numpy.vectorize
as the oracle for shapes, values and errors."""
import functools

import numpy as np
import pytest

import irax.numpy as jnp

jax = pytest.importorskip("jax")
jjnp = jax.numpy

rng = np.random.default_rng(0)
A = rng.normal(size=(2, 3)).astype(np.float32)
B = rng.normal(size=(4, 3)).astype(np.float32)


def both(make):
    """The function `make(numpy module)` vectorized by irax and by JAX."""
    return make(jnp), make(jjnp)


CASES = {
    "matrix-vector, broadcast loop dims": (
        lambda np_: np_.vectorize(lambda m, v: m @ v, signature="(n,m),(m)->(n)"), (A, B)),
    "cross product, size-1 loop dims": (
        lambda np_: np_.vectorize(lambda a, b: np_.stack([a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2],
                                                          a[0] * b[1] - a[1] * b[0]]), signature="(k),(k)->(k)"),
        (A.reshape(1, 2, 3), B[:2].reshape(2, 1, 3))),
    "scalar function, no signature": (lambda np_: np_.vectorize(lambda x, y: x * 2 + np_.sin(y)), (A, B[0])),
    "two outputs": (lambda np_: np_.vectorize(lambda v: (v.sum(), v * 2), signature="(n)->(),(n)"), (A,)),
    "excluded argument": (
        lambda np_: np_.vectorize(lambda x, power: x ** power, excluded={1}), (A, 2)),
}


@pytest.mark.parametrize("name", CASES)
def test_vectorize_like_jax(name):
    make, args = CASES[name]
    ours, theirs = both(make)
    got, want = ours(*args), theirs(*args)
    for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,)):
        assert g.shape == w.shape and g.dtype == w.dtype
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


ERRORS = {
    "bad signature": (lambda np_: np_.vectorize(lambda x: x, signature="(n->()"), (A,)),
    "not enough dims": (lambda np_: np_.vectorize(lambda m, v: m @ v, signature="(n,m),(m)->(n)"), (A[0], A[0])),
    "inconsistent core size": (lambda np_: np_.vectorize(lambda a, b: a + b, signature="(n),(n)->(n)"),
                               (A, np.ones((2, 4), np.float32))),
    "output core dims": (lambda np_: np_.vectorize(lambda v: v, signature="(n)->()"), (A,)),
    "argument count": (lambda np_: np_.vectorize(lambda a, b: a, signature="(n),(n)->(n)"), (A,)),
}


@pytest.mark.parametrize("name", ERRORS)
def test_vectorize_errors_like_jax(name):
    make, args = ERRORS[name]
    ours, theirs = both(make)
    with pytest.raises((ValueError, TypeError)) as theirs_error:
        theirs(*args)
    with pytest.raises(type(theirs_error.value)) as ours_error:
        ours(*args)
    assert str(ours_error.value).replace("irax", "jax") == str(theirs_error.value)


def test_vectorize_as_a_decorator_keeps_the_name():
    @functools.partial(jnp.vectorize, signature="(n)->()")
    def norm(v):
        return jnp.sqrt((v * v).sum())

    assert norm.__name__ == "norm"
    np.testing.assert_allclose(norm(A), np.linalg.norm(A, axis=1), rtol=1e-6)
