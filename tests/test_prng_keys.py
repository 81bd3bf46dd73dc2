"""Keys of each of JAX's PRNG implementations (irax/random/prng.py): typed
keys carry theirs (`key(0, impl="rbg")`, dtype `key<rbg>`), raw keys are of
the default one (jax_default_prng_impl), and every sampler draws on them
the bits JAX draws. The implementations' own functions are checked against
JAX's in test_prng_impls.py and test_lax_rng.py."""
import jax
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.config import config

IMPLS = ["threefry2x32", "rbg", "unsafe_rbg", "philox4x32", "philox2x32", "threefry4x32"]


def _draws(random, key):
    """A few draws of each kind on `key`, by the library `random`."""
    k1, k2 = random.split(key)
    return [random.key_data(k1), random.key_data(random.fold_in(k2, 7)), random.uniform(k1, (3,)),
            random.normal(k2, (3,)), random.randint(k1, (3,), 0, 10), random.bits(k2, (3,), np.uint8),
            random.permutation(k1, 5)]


@pytest.mark.parametrize("impl", IMPLS)
def test_typed_keys_of_each_implementation_draw_as_jax(impl):
    ours, theirs = irax.random.key(42, impl=impl), jax.random.key(42, impl=impl)
    assert str(ours.dtype) == str(theirs.dtype) and str(irax.typeof(ours)) == str(jax.typeof(theirs))
    assert irax.random.key_impl(ours) == str(jax.random.key_impl(theirs)) == impl
    np.testing.assert_array_equal(irax.random.key_data(ours), jax.random.key_data(theirs))
    for got, want in zip(_draws(irax.random, ours), _draws(jax.random, theirs)):
        assert got.dtype == want.dtype
        np.testing.assert_array_equal(got, want)
    assert irax.random.key_dtype(impl) == ours.dtype != irax.random.key_dtype(
        "rbg" if impl == "threefry2x32" else "threefry2x32")
    wrapped = irax.random.wrap_key_data(irax.random.key_data(ours), impl=impl)
    assert wrapped.dtype == ours.dtype and isinstance(wrapped, irax.random.KeyArray)
    np.testing.assert_array_equal(irax.random.uniform(wrapped), jax.random.uniform(theirs))


def test_keys_carry_their_implementation_through_transformations():
    """jit, vmap, indexing and the structural functions keep a key's
    implementation (its KeyArray class)."""
    keys = irax.random.split(irax.random.key(1, impl="rbg"), 3)
    theirs = jax.random.split(jax.random.key(1, impl="rbg"), 3)
    draw = irax.jit(lambda k: irax.random.uniform(k, (2,)))
    np.testing.assert_array_equal(draw(keys[1]), jax.random.uniform(theirs[1], (2,)))
    philox, their_philox = irax.random.split(irax.random.key(1, impl="philox4x32"), 3), jax.random.split(
        jax.random.key(1, impl="philox4x32"), 3)
    np.testing.assert_array_equal(irax.vmap(draw)(philox),
                                  jax.vmap(lambda k: jax.random.uniform(k, (2,)))(their_philox))
    assert jnp.where(True, keys, keys[::-1]).dtype == keys.dtype
    assert irax.jit(lambda k: k)(keys).dtype == keys.dtype and keys.reshape(3, 1).dtype == keys.dtype
    np.testing.assert_array_equal(irax.random.key_data(keys.reshape(3, 1)[2, 0]), jax.random.key_data(theirs[2]))


@pytest.mark.parametrize("impl", ["rbg", "unsafe_rbg"])
def test_vmap_over_rbg_keys_draws_as_jax(impl):
    """Under vmap over a batch of rbg keys the generator batches as JAX's
    rng_bit_generator: the batch draws from its first key alone (a
    custom_vmap rule, irax/random/rbg.py), at each level of nested vmaps;
    unsafe_rbg's split and fold_in draw so too."""
    ours, theirs = (r.random.split(r.random.key(1, impl=impl), 6).reshape(2, 3) for r in (irax, jax))
    for draw in (lambda r, k: r.random.uniform(k, (2,)),
                 lambda r, k: r.random.key_data(r.random.split(k)),
                 lambda r, k: r.random.key_data(r.random.fold_in(k, 3))):
        np.testing.assert_array_equal(irax.vmap(lambda k: draw(irax, k))(ours[0]),
                                      jax.vmap(lambda k: draw(jax, k))(theirs[0]))
    bits = lambda r: r.vmap(r.vmap(lambda k: r.random.bits(k, (2,))))  # noqa: E731
    np.testing.assert_array_equal(irax.jit(bits(irax))(ours), bits(jax)(theirs))


def test_raw_keys_are_of_the_default_implementation():
    """jax_default_prng_impl (config.update, the context manager, the
    variable IRAX_DEFAULT_PRNG_IMPL) sets the implementation of raw keys and
    of keys made without impl=, and a jitted function traces again under
    another (it is part of the trace context)."""
    assert irax.random.PRNGKey(3).shape == (2,) and irax.random.key_impl(irax.random.PRNGKey(3)) == "threefry2x32"
    draw = irax.jit(lambda k: irax.random.uniform(k, (2,)))
    with irax.default_prng_impl("rbg"), jax.default_prng_impl("rbg"):
        raw, theirs = irax.random.PRNGKey(3), jax.random.PRNGKey(3)
        assert raw.shape == (4,) and irax.random.key_impl(raw) == "rbg" and str(irax.random.key(3).dtype) == "key<rbg>"
        np.testing.assert_array_equal(irax.random.uniform(raw, (2,)), jax.random.uniform(theirs, (2,)))
        np.testing.assert_array_equal(draw(raw), jax.random.uniform(theirs, (2,)))
        np.testing.assert_array_equal(irax.random.split(raw), jax.random.split(theirs))
        with pytest.raises(TypeError, match=r"expected key_data.shape to end with \(4,\); got shape=\(2,\)"):
            irax.random.uniform(jnp.zeros(2, jnp.uint32))
    assert config.irax_default_prng_impl == "threefry2x32"
    raw = irax.random.PRNGKey(3)
    np.testing.assert_array_equal(draw(raw), jax.random.uniform(jax.random.PRNGKey(3), (2,)))
    config.update("jax_default_prng_impl", "philox4x32")
    try:
        assert irax.config.jax_default_prng_impl == "philox4x32" and str(irax.random.key(0).dtype) == "key<phx4>"
    finally:
        config.update("jax_default_prng_impl", "threefry2x32")


def test_an_unknown_implementation_is_jax_error():
    with pytest.raises(ValueError, match='unrecognized PRNG implementation "foo". Did you mean one of: '
                                         '"threefry2x32", .*"rbg"'):
        irax.random.key(0, impl="foo")
    with pytest.raises(ValueError, match="new enum value must be in .*'rbg'.*got foo"):
        config.update("jax_default_prng_impl", "foo")
    with pytest.raises(TypeError, match=r"expected key_data.shape to end with \(4,\); got shape=\(2,\)"):
        irax.random.wrap_key_data(jnp.zeros(2, jnp.uint32), impl="rbg")
    assert str(irax.random.key(0).dtype) == "key<fry>"  # (the default stays)


def test_legacy_prng_key_warns_or_refuses_raw_keys():
    """jax_legacy_prng_key: a raw uint32 key passed to a jax.random function
    is allowed (the default), warned about, or JAX's ValueError."""
    raw, typed = irax.random.PRNGKey(0), irax.random.key(0)
    message = "Legacy uint32 key array passed as key to jax.random function"
    with irax.legacy_prng_key("error"), jax.legacy_prng_key("error"):
        for library, key in ((irax, raw), (jax, jax.random.PRNGKey(0))):
            with pytest.raises(ValueError, match=message):
                library.random.uniform(key)
        irax.random.uniform(typed)  # (typed keys pass)
    with irax.legacy_prng_key("warn"), pytest.warns(UserWarning, match=message) as caught:
        irax.random.split(raw)
        irax.random.normal(raw)
    assert [w.filename for w in caught] == [__file__] * 2  # (the warning names the caller's line)
    irax.random.split(raw)
