"""JAX's philox4x32, philox2x32 and threefry4x32 PRNG implementations
(irax/random/philox.py, threefry4x32.py; their hashes frontend/prng_hashes.py) against JAX's own (0.10.2), bit
for bit, on raw key data: seed, split, fold_in, random_bits, and
random_bits vmapped over keys.

Each implementation's functions run in one jitted program (one compile per
implementation), in 64-bit mode for the 64-bit seeds and uint64 draws."""
import numpy as np
import pytest
from helpers import device_or_skip, x64_mode

import irax
import irax.numpy as jnp
from irax.frontend import prng_hashes
from irax.random.prng import IMPLS

jax = pytest.importorskip("jax")
jax_prngs = pytest.importorskip("jax._src.random.prng").prngs

NAMES = ("philox4x32", "philox2x32", "threefry4x32")
SEEDS32 = np.array([0, 1, -1, 2**31 - 1], np.int32)
SEEDS64 = np.array([2**40 + 5, -2**40 - 5, -1, 2**63 - 1], np.int64)
SPLIT_SHAPES = ((), (3,), (2, 3))
BITS_SHAPES = ((), (5,), (2, 3), (0, 2))  # (an empty draw too)
WIDTHS = (8, 16, 32, 64)
FOLD = 7


def everything(impl, seeds32, seeds64):
    """All of an implementation's functions, on keys from the seeds."""
    key = impl.seed(seeds32[1])
    keys = impl.split(key, (3,))
    return {
        "seed32": irax.vmap(impl.seed)(seeds32),
        "seed64": irax.vmap(impl.seed)(seeds64),
        "split": [impl.split(key, shape) for shape in SPLIT_SHAPES],
        "fold_in": impl.fold_in(key, np.uint32(FOLD)),
        "bits": [[impl.random_bits(key, width, shape) for shape in BITS_SHAPES] for width in WIDTHS],
        "vmapped": irax.vmap(lambda k: impl.random_bits(k, 32, (5,)))(keys),
    }


def jax_everything(impl):
    """everything() of JAX's implementation, function by function."""
    asarray = jax.numpy.asarray
    key = impl.seed(asarray(SEEDS32[1]))
    return {
        "seed32": [impl.seed(asarray(s)) for s in SEEDS32],
        "seed64": [impl.seed(asarray(s)) for s in SEEDS64],
        "split": [impl.split(key, shape) for shape in SPLIT_SHAPES],
        "fold_in": impl.fold_in(key, jax.numpy.uint32(FOLD)),
        "bits": [[impl.random_bits(key, width, shape) for shape in BITS_SHAPES] for width in WIDTHS],
        "vmapped": jax.vmap(lambda k: impl.random_bits(k, 32, (5,)))(impl.split(key, (3,))),
    }


def assert_same(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.dtype == theirs.dtype and ours.shape == theirs.shape
    np.testing.assert_array_equal(ours, theirs)


@pytest.mark.parametrize("name", NAMES)
def test_functions_match_jax(name):
    with x64_mode(True):
        ours = irax.jit(everything, static_argnums=0)(IMPLS[name], SEEDS32, SEEDS64)
        theirs = jax_everything(jax_prngs[name])
    assert_same(ours["seed32"], np.stack(theirs["seed32"]))
    assert_same(ours["seed64"], np.stack(theirs["seed64"]))
    leaves = jax.tree_util.tree_leaves
    for part in ("split", "bits"):
        for got, expected in zip(leaves(ours[part]), leaves(theirs[part]), strict=True):
            assert_same(got, expected)
    assert_same(ours["fold_in"], theirs["fold_in"])
    assert_same(ours["vmapped"], theirs["vmapped"])


def test_32_bit_mode_matches_jax():
    seeds = {name: np.int32(-7) for name in NAMES}

    def draws(seeds):
        return {name: IMPLS[name].random_bits(IMPLS[name].seed(seeds[name]), 32, (5,)) for name in NAMES}

    with x64_mode(False):
        ours = irax.jit(draws)(seeds)
        for name in NAMES:
            impl = jax_prngs[name]
            assert_same(ours[name], impl.random_bits(impl.seed(jax.numpy.asarray(seeds[name])), 32, (5,)))


def test_registered_as_jax_names_them():
    assert {name: (IMPLS[name].key_shape, IMPLS[name].tag) for name in NAMES} == {
        name: (jax_prngs[name].key_shape, jax_prngs[name].tag) for name in NAMES}


@pytest.mark.parametrize("name", NAMES)
def test_errors_are_jaxs(name):
    impl, key_shape = IMPLS[name], IMPLS[name].key_shape
    with pytest.raises(TypeError, match=f"^{name}_random_bits got invalid prng key.$"):
        impl.random_bits(jnp.zeros((3, *key_shape), np.uint32), 32, (2,))
    with pytest.raises(TypeError, match="^requires 8-, 16-, 32- or 64-bit field width.$"):
        impl.random_bits(jnp.zeros(key_shape, np.uint32), 12, (2,))
    with pytest.raises(TypeError, match="^PRNG key seed must be an integer; got "):
        impl.seed(jnp.asarray(1.5))
    with pytest.raises(TypeError, match=r"^PRNG key seed must be a scalar; got "):
        impl.seed(jnp.asarray([1, 2]))


@pytest.mark.parametrize("primitive, arity",
                         [(prng_hashes.philox4x32_p, 6), (prng_hashes.philox2x32_p, 3), (prng_hashes.threefry4x32_p, 8)])
def test_hashes_take_uint32_operands_only(primitive, arity):
    with pytest.raises(TypeError, match=f"^Arguments to {primitive.name} must have uint32 type"):
        irax.jit(primitive.bind)(*[np.uint32(0)] * (arity - 1), np.int32(0))
    with pytest.raises(TypeError, match=f"^{primitive.name}_p expects {arity} arguments, got {arity - 1}.$"):
        irax.jit(primitive.bind)(*[np.uint32(0)] * (arity - 1))


def test_draws_match_jax_on_vulkan():
    device = device_or_skip("vulkan")
    keys = {name: np.asarray(jax_prngs[name].seed(jax.numpy.asarray(np.int32(42)))) for name in NAMES}

    def draws(keys):
        return {name: [IMPLS[name].random_bits(keys[name], width, (2, 3)) for width in (8, 32, 64)]
                for name in NAMES}

    with x64_mode(True):
        with irax.default_device(device):
            ours = irax.jit(draws)(keys)
        theirs = {name: [jax_prngs[name].random_bits(jax.numpy.asarray(keys[name]), width, (2, 3))
                         for width in (8, 32, 64)] for name in NAMES}
    for name in NAMES:
        assert ours[name][0].device == device
        for got, expected in zip(ours[name], theirs[name], strict=True):
            assert_same(got, expected)
