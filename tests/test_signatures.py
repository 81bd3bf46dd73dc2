"""Keyword arguments as JAX (and the Array API standard) take them.

The signatures of irax.numpy's functions and Array methods against
jax.numpy's: every keyword irax takes is one JAX takes, and every keyword
JAX takes irax takes too, except those listed in NOT_YET. Then the
keywords that change results: copy=, correction=, order=, and operands
that are positional only. (device= is in test_creation.py.)
"""
import inspect

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.frontend.array_methods import _METHODS

from plugin_fakes import sync

jax = pytest.importorskip("jax")
jjnp = jax.numpy

_NAMEABLE = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def keywords(fn) -> set:
    """The parameters of `fn` a caller may pass by name."""
    return {p.name for p in inspect.signature(fn).parameters.values() if p.kind in _NAMEABLE}


FUNCTIONS = sorted(n for n in jnp.__all__ if inspect.isfunction(getattr(jnp, n)) and hasattr(jjnp, n))
METHODS = sorted(set(_METHODS) | {"reshape", "transpose"})

# JAX's keywords irax does not take yet, each a known gap (a keyword a newer
# JAX adds shows up in the test below: support it, or list it here). irax has
# no shardings, so out_sharding is missing everywhere.
_LINALG = {"precision", "preferred_element_type"}
NOT_YET = {
    **dict.fromkeys(["all", "any", "amax", "amin", "max", "min", "mean"], {"where"}),
    **dict.fromkeys(["sum", "prod"], {"where", "promote_integers"}),
    **dict.fromkeys(["std", "var"], {"where", "mean"}),
    **dict.fromkeys(["round", "around"], {"out"}),
    **dict.fromkeys(["dot", "inner", "matmul", "vdot"], {"a", "b"} | _LINALG),
    "tensordot": _LINALG, "einsum": {"out", "optimize", "_dot_general"} | _LINALG, "outer": {"a", "b", "out"},
    "repeat": {"total_repeat_length"}, "take_along_axis": {"wrap_negative_indices"}, "trunc": {"x"},
    "where": {"size", "fill_value"},
    **dict.fromkeys(["nanmax", "nanmean", "nanmin", "nanprod", "nansum"], {"where"}),
    **dict.fromkeys(["nanstd", "nanvar"], {"where", "mean"}),
}
NOT_YET_METHODS = {
    **dict.fromkeys(["all", "any", "max", "min", "mean", "std", "var"], {"where"}),
    **dict.fromkeys(["sum", "prod"], {"where", "promote_integers"}),
    "dot": {"b"} | _LINALG, "repeat": {"total_repeat_length"}, "round": {"out"},
}
# irax's keywords JAX does not have, each on purpose.
EXTRA = {"result_type": {"return_weak_type_flag"}}  # irax's own dtype rules use it


@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_keywords_are_jaxs(name):
    ours, theirs = keywords(getattr(jnp, name)), keywords(getattr(jjnp, name))
    assert ours - theirs <= EXTRA.get(name, set()), f"jnp.{name} takes keywords JAX does not"
    assert theirs - ours - {"out_sharding"} <= NOT_YET.get(name, set()), f"jnp.{name} lacks JAX keywords"


@pytest.mark.parametrize("name", METHODS)
def test_method_keywords_are_jaxs(name):
    missing = keywords(getattr(jax.Array, name)) - keywords(getattr(irax.Array, name)) - {"self", "out_sharding"}
    assert missing <= NOT_YET_METHODS.get(name, set()), f"Array.{name} lacks JAX keywords"


# Keywords this module was written for: a JAX user's call, now accepted.
FIXED = {
    "array": {"order", "device"}, "asarray": {"order", "copy", "device"}, "copy": {"order"}, "astype": {"copy", "device"},
    "reshape": {"copy"}, "std": {"correction"}, "var": {"correction"}, "empty_like": {"prototype", "device"},
    **dict.fromkeys(["arange", "empty", "eye", "full", "full_like", "linspace", "ones", "ones_like", "zeros",
                     "zeros_like"], {"device"}),
}


def test_fixed_keywords_stay_accepted():
    for name, names in FIXED.items():
        assert names <= keywords(getattr(jnp, name)) & keywords(getattr(jjnp, name)), name
    assert {"dtype", "copy", "device"} <= keywords(irax.Array.astype)
    assert {"correction"} <= keywords(irax.Array.std) & keywords(irax.Array.var)


# ---------------------------------------------------------------------------
# copy=

def test_astype_copy():
    x = jnp.arange(3.0)
    assert jnp.astype(x, jnp.float32) is x and x.astype(jnp.float32, copy=False) is x
    y, z = jnp.astype(x, jnp.float32, copy=True), x.astype(dtype=jnp.float32, copy=True)
    assert y is not x and z is not x
    x.delete()  # the copies have buffers of their own
    np.testing.assert_array_equal(y, np.arange(3.0))
    np.testing.assert_array_equal(z, np.arange(3.0))
    assert jnp.astype(jnp.arange(3), None).dtype == jjnp.astype(jjnp.arange(3), None).dtype  # the default float


def test_astype_drops_the_weak_type_like_jax():
    for ours, theirs in ((jnp.astype(jnp.array(1.5), jnp.float32), jjnp.astype(jjnp.array(1.5), jjnp.float32)),
                         (jnp.array(2).astype(jnp.int32, copy=True), jjnp.array(2).astype(jjnp.int32, copy=True))):
        assert (ours.dtype, ours.weak_type) == (theirs.dtype, theirs.weak_type)


def test_reshape_copy_is_accepted_and_unused_as_in_jax():
    x = jnp.arange(6)
    for copy in (None, False, True):
        np.testing.assert_array_equal(jnp.reshape(x, (2, 3), copy=copy), np.arange(6).reshape(2, 3))
        np.testing.assert_array_equal(x.reshape(3, 2, copy=copy), np.arange(6).reshape(3, 2))
    assert jnp.reshape(x, 6, copy=True) is x  # arrays are immutable: JAX returns x too


def test_asarray_copy_and_order():
    x = jnp.arange(3.0)
    assert jnp.asarray(x, copy=False) is x and jnp.asarray(x, None, "K") is x
    y = jnp.asarray(x, copy=True)
    assert y is not x and y._buffer is not x._buffer
    np.testing.assert_array_equal(jnp.asarray(np.arange(3), copy=False), np.arange(3))  # the CPU may share memory
    np.testing.assert_array_equal(jnp.asarray([1, 2], copy=False, device=sync.devices()[0]), [1, 2])  # no memory to share
    with pytest.raises(ValueError, match=r"jnp\.asarray: cannot convert object of type <class 'numpy\.ndarray'> to "
                                         r"JAX Array on platform=sync with copy=False\. Consider using copy=None"):
        jnp.asarray(np.arange(3), copy=False, device=sync.devices()[0])
    for fn in (lambda m: m.asarray([1], order="C"), lambda m: m.array([1], order="F"), lambda m: m.copy(m.ones(1), "F")):
        with pytest.raises(NotImplementedError, match="Only implemented for order='K'"):
            fn(jjnp)
        with pytest.raises(NotImplementedError, match="Only implemented for order='K'"):
            fn(jnp)


# ---------------------------------------------------------------------------
# correction=

X = np.arange(12, dtype=np.float32).reshape(3, 4) ** 1.5


@pytest.mark.parametrize("correction", [0, 1, 1.5])
def test_std_and_var_correction_is_ddof(correction):
    for name in ("var", "std"):
        got = getattr(jnp, name)(X, axis=1, correction=correction)
        np.testing.assert_allclose(got, getattr(np, name)(X, axis=1, ddof=correction), rtol=1e-6)
        np.testing.assert_allclose(getattr(jnp.asarray(X), name)(correction=correction),
                                   getattr(np, name)(X, ddof=correction), rtol=1e-6)
    np.testing.assert_allclose(jnp.var(X, ddof=0, correction=1), np.var(X, ddof=1), rtol=1e-6)  # ddof=0 is no ddof


def test_std_and_var_reject_ddof_with_correction_like_jax():
    for m in (jjnp, jnp):
        for fn in (m.std, m.var):
            with pytest.raises(ValueError, match="^ddof and correction can't be provided simultaneously.$"):
                fn(X, ddof=1, correction=1)


# ---------------------------------------------------------------------------
# Operands are positional only (JAX's ufuncs take *args; the Array API
# spells them x1, x2, /), and their number is checked.

BINARY = ["add", "subtract", "logical_and", "logical_or", "logical_xor", "equal", "arctan2", "power", "maximum"]


@pytest.mark.parametrize("name", BINARY)
def test_operands_cannot_be_named_as_in_jax(name):
    for m in (jjnp, jnp):
        with pytest.raises(TypeError):
            getattr(m, name)(x1=True, x2=False)
        with pytest.raises(TypeError):
            getattr(m, name)(x=True, y=False)


def test_logical_functions_check_their_operand_count():
    np.testing.assert_array_equal(jnp.logical_xor(np.array([1, 0, 2]), 1.0), [False, True, False])
    np.testing.assert_array_equal(jnp.logical_not(np.array([1, 0])), [False, True])
    for call in (lambda m: m.logical_and(True), lambda m: m.logical_or(True, False, True),
                 lambda m: m.logical_not(True, False)):
        with pytest.raises(TypeError):
            call(jjnp)
        with pytest.raises(TypeError, match=r"^logical_\w+\(\) (missing|takes)"):
            call(jnp)
