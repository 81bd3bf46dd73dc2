"""Typed PRNG key arrays through the structural functions (jnp.where,
concatenate, stack, take, indexing, lax.select, lax.concatenate) and
control flow (cond, switch, scan, fori_loop, while_loop), eagerly, under
jit and under vmap, against JAX: the results are key arrays (dtype
key<fry>) holding JAX's key data, which the samplers accept."""
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax import lax, random

jax = pytest.importorskip("jax")


def _cases(m):
    """name -> function of (irax or jax module namespace) building keys and
    applying one structural op; run the same way under both libraries."""
    r, np_, lx = m.random, m.numpy, m.lax

    def keys():
        ks = r.split(r.key(0), 4)
        return ks, ks[0], ks[1]

    mask = lambda: np_.array([True, False, True, False])  # noqa: E731
    return {
        "where_scalar": lambda: np_.where(True, keys()[1], keys()[2]),
        "where_array": lambda: np_.where(mask(), keys()[0], keys()[0][::-1]),
        "where_broadcast": lambda: np_.where(np_.array([True, False]), keys()[1], keys()[0][2:]),
        "concatenate": lambda: np_.concatenate([keys()[0], keys()[0][:2]]),
        "concatenate_axis1": lambda: np_.concatenate([keys()[0][None], keys()[0][None]], axis=1),
        "concatenate_none": lambda: np_.concatenate([keys()[0].reshape(2, 2), keys()[0]], axis=None),
        "stack": lambda: np_.stack([keys()[1], keys()[2]]),
        "stack_last": lambda: np_.stack([keys()[0], keys()[0][::-1]], axis=-1),
        "take": lambda: np_.take(keys()[0], np_.array([2, 0])),
        "take_out_of_bounds": lambda: np_.take(keys()[0], np_.array([10, -1])),
        "take_axis": lambda: np_.take(keys()[0].reshape(2, 2), np_.array([1]), axis=1),
        "index_array": lambda: keys()[0][np_.array([2, 0])],
        "index_ellipsis": lambda: keys()[0].reshape(2, 2)[..., 1],
        "index_mask": lambda: keys()[0][np.array([True, False, True, False])],
        "select": lambda: lx.select(mask(), keys()[0], keys()[0][::-1]),
        "select_scalar": lambda: lx.select(True, keys()[1], keys()[2]),
        "lax_concatenate": lambda: lx.concatenate([keys()[0], keys()[0]], 0),
        "cond": lambda: lx.cond(True, lambda k: r.split(k)[0], lambda k: k, keys()[1]),
        "switch": lambda: lx.switch(1, [lambda k: k, lambda k: r.split(k)[1]], keys()[1]),
        "scan_carry": lambda: lx.scan(lambda k, _: (r.split(k)[0], r.uniform(k)), r.key(0), None, length=3)[0],
        "scan_ys": lambda: lx.scan(lambda k, _: (r.split(k)[0], k), r.key(0), None, length=3)[1],
        "fori_loop": lambda: lx.fori_loop(0, 3, lambda i, k: r.fold_in(k, i), r.key(0)),
        "while_loop": lambda: lx.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, r.split(c[1])[0]),
                                            (0, r.key(0)))[1],
        "vmap_where": lambda: m.vmap(lambda c, a, b: np_.where(c, a, b))(mask(), keys()[0], keys()[0][::-1]),
        "vmap_select": lambda: m.vmap(lx.select)(mask(), keys()[0], keys()[0][::-1]),
        "vmap_cond": lambda: m.vmap(lambda c, k: lx.cond(c, lambda k: r.split(k)[0], lambda k: k, k))(
            mask(), keys()[0]),
    }


IRAX, JAX = _cases(irax), _cases(jax)


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("name", sorted(JAX))
def test_key_arrays_through_structural_ops_and_control_flow_as_jax(name, jit):
    f, g = IRAX[name], JAX[name]
    got = irax.jit(f)() if jit else f()
    want = g()
    assert isinstance(got, random.KeyArray)
    assert str(got.dtype) == str(want.dtype) == "key<fry>"
    assert got.shape == want.shape
    np.testing.assert_array_equal(np.asarray(random.key_data(got)), np.asarray(jax.random.key_data(want)))
    # The samplers take the result as a key array (one key at a time).
    first = got.reshape(-1)[0]
    np.testing.assert_array_equal(np.asarray(random.uniform(first, (3,))),
                                  np.asarray(jax.random.uniform(want.reshape(-1)[0], (3,))))


MIXED = {
    "where": lambda m, k: m.numpy.where(True, k, 1),
    "where_raw": lambda m, k: m.numpy.where(True, k, m.random.key_data(k)),
    "concatenate": lambda m, k: m.numpy.concatenate([k[None], m.numpy.zeros(2, m.numpy.uint32)]),
    "stack": lambda m, k: m.numpy.stack([k, m.numpy.uint32(1)]),
    "stack_dtype": lambda m, k: m.numpy.stack([k, k], dtype=m.numpy.uint32),
    "concatenate_0d": lambda m, k: m.numpy.concatenate([k, k]),
    "stack_shapes": lambda m, k: m.numpy.stack([k[None], m.random.split(k, 2)]),
}


@pytest.mark.parametrize("name", sorted(MIXED))
def test_key_arrays_mixed_with_other_dtypes_raise_as_jax(name):
    with pytest.raises(Exception) as want:
        MIXED[name](jax, jax.random.key(0))
    with pytest.raises(want.type, match=want.value.args[0].replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[").replace("]", r"\]")):
        MIXED[name](irax, random.key(0))


@pytest.mark.parametrize("other", [lambda k: jnp.uint32(0), lambda k: random.split(k, 2)])
def test_select_of_a_key_and_another_type_or_shape_is_a_type_error(other):
    # (JAX: TypeError too, or an internal error for a key beside a uint32 scalar)
    k = random.key(0)
    with pytest.raises(TypeError, match="select cases must have the same shapes"):
        lax.select(True, k, other(k))
    with pytest.raises(TypeError, match="select `which` must be scalar or have the same shape as cases"):
        lax.select(jnp.array([True, False]), random.split(k, 3), random.split(k, 3))
