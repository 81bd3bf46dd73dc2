"""PRNG keys and the threefry2x32 counter-based generator, as JAX's.

A key is two uint32 words (k1, k2). Random bits are a hash of a counter
under the key: the Threefry-2x32 block cipher (Salmon et al., "Parallel
random numbers: as easy as 1, 2, 3", SC 2011) with 20 rounds, (y1, y2) =
threefry(key, x1, x2): one primitive (`threefry2x32`, frontend/prng_hashes.py,
which writes the rounds out). JAX's "partitionable" scheme (its default
since 0.5) hashes the 64-bit index of each output element, split into its high
and low words (x1, x2) = (i >> 32, i & 0xFFFFFFFF), so element i of a draw
does not depend on the draw's size:

    bits(key, shape)[i]   = y1 ^ y2            (y1, y2) = threefry(key, hi(i), lo(i))
    split(key, shape)[i]  = (y1, y2)
    fold_in(key, d)       = threefry(key, 0, d)

JAX's earlier scheme (`irax.threefry_partitionable(False)`, jax's setting
jax_threefry_partitionable) hashes the counters 0 .. m-1 as pairs (c[j],
c[m/2 + j]) and lays the outputs y1 then y2 end to end (`_flat_hash`): a
draw's words are the first ceil(bits * size / 32) of that, 64-bit values
their first half shifted over their second, 8- and 16-bit values each
word's bytes, lowest first; split(key, n) is those of m = 2n, in pairs.

Keys come in JAX's two forms: raw `uint32[..., 2]` arrays (`PRNGKey`), and
typed key arrays (`key`), a `KeyArray` whose dtype prints `key<fry>` and
whose shape leaves out the trailing 2. Functions given a raw key return
raw keys, given typed keys typed keys, as JAX's do.

Threefry-2x32 is one of JAX's PRNG implementations (prng.py), the default.
A typed key array carries its implementation (its class: one KeyArray
subclass per implementation, `key_array_type`), so the samplers work on
typed keys whatever they were given: a raw key is taken as a key of the
default implementation (jax_default_prng_impl), whose key shape it must
have (uint32[4] for rbg).
"""
from __future__ import annotations

import functools
import math
import numbers
import warnings

import numpy as np

from irax import tree_util
from irax.config import config
from irax.frontend import dtypes
from irax.frontend.array import Array
from irax.frontend.core import ShapedArray
from irax.frontend.extended import ExtendedArray, ExtendedDType
from irax.frontend.jit import jit
from irax.frontend.numpy import shape as shape_ops
from irax.frontend.numpy import ufuncs
from irax.frontend.numpy.creation import canonicalize_shape
from irax.frontend.numpy.util import asarray, convert, is_array
from irax.frontend.primitives.creation import iota
from irax.frontend.prng_hashes import hash_words, threefry2x32_p, uint64_of
from irax.random.prng import IMPLS, PRNGImpl, register_prng
from irax.typing import ArrayLike, DTypeLike, Shape

def threefry_2x32(k1, k2, x1, x2):
    """Threefry-2x32 of the counters (x1, x2) under the key (k1, k2), all
    uint32 arrays that broadcast together: the pair (y1, y2)."""
    return tuple(hash_words(threefry2x32_p, k1, k2, x1, x2))


def _counters(shape):
    """The high and low words of each element's row-major index (the high
    word is 0: a draw has fewer than 2**32 elements)."""
    size = math.prod(shape)
    if size >= 2**32:
        raise NotImplementedError(f"irax.random draws fewer than 2**32 values at once, got shape {shape}.")
    if not shape:
        zero = asarray(0, np.uint32)
        return zero, zero
    flat = iota.bind(shape=(size,), dtype=np.dtype(np.uint32), dimension=0)
    return asarray(0, np.uint32), shape_ops.reshape(flat, shape)


def _hash(data, shape):
    k1, k2 = data[0], data[1]
    hi, lo = _counters(shape)
    return threefry_2x32(k1, k2, hi, lo)


def _flat_hash(data, count: int):
    """The earlier scheme's words 0 .. count-1: the counters' first half
    hashed against their second (a zero after an odd count), y1 then y2."""
    half = (count + 1) // 2
    counters = iota.bind(shape=(2 * half,), dtype=np.dtype(np.uint32), dimension=0)
    counters = ufuncs.where(counters < count, counters, np.uint32(0))
    y1, y2 = threefry_2x32(data[0], data[1], counters[:half], counters[half:])
    return shape_ops.concatenate([y1, y2])[:count]


def threefry_split(data, shape):
    """threefry2x32's keys of `shape` from the key `data` (module docstring)."""
    if not config.irax_threefry_partitionable:
        return shape_ops.reshape(_flat_hash(data, 2 * math.prod(shape)), (*shape, 2))
    return shape_ops.stack(_hash(data, shape), axis=-1)


def threefry_fold_in(data, message):
    """threefry2x32's key from the key `data` and a uint32 scalar: the hash of (0, message)."""
    return shape_ops.stack(threefry_2x32(data[0], data[1], 0, message), axis=-1)


def threefry_random_bits(data, bit_width, shape):
    """Uniform random bits of `bit_width` (8, 16, 32 or 64) under the raw key
    `data`: y1 ^ y2 truncated, or y1 << 32 | y2 for 64 bits."""
    unsigned = np.dtype(f"uint{bit_width}")
    if not config.irax_threefry_partitionable:
        return shape_ops.reshape(_earlier_bits(data, bit_width, math.prod(shape), unsigned), shape)
    y1, y2 = _hash(data, shape)
    if bit_width == 64:
        return uint64_of(y1, y2)
    return convert(ufuncs.bitwise_xor(y1, y2), unsigned, False)


def _earlier_bits(data, bit_width, size, unsigned):
    """`size` values of the earlier scheme, flat (module docstring)."""
    if size * bit_width >= 2**37:
        raise NotImplementedError(f"irax.random draws fewer than 2**32 words at once, got {size} values.")
    words = _flat_hash(data, -(-bit_width * size // 32))
    if bit_width == 64:
        return uint64_of(*shape_ops.split(words, 2))
    if bit_width == 32:
        return words
    shifts = np.arange(0, 32, bit_width, dtype=np.uint32)
    parts = ufuncs.right_shift(words[:, None], shifts) & np.uint32(2**bit_width - 1)
    return convert(shape_ops.reshape(parts, (-1,)), unsigned, False)[:size]


def threefry_seed(seed):
    """A raw key from an integer seed: its 64 bits as (high, low) words
    (a 32-bit seed has high word 0)."""
    high = 0
    if seed.dtype.itemsize == 8:
        high = ufuncs.right_shift(convert(seed, np.dtype(np.uint64), False), np.uint64(32))
    return shape_ops.stack([convert(asarray(high), np.dtype(np.uint32), False),
                            convert(seed, np.dtype(np.uint32), False)])


THREEFRY = PRNGImpl(key_shape=(2,), seed=threefry_seed, split=threefry_split, random_bits=threefry_random_bits,
                    fold_in=threefry_fold_in, name="threefry2x32", tag="fry")
register_prng(THREEFRY)


# An implementation's functions, jitted (the implementation and the static
# arguments are part of each program's key), on raw key data.

@functools.partial(jit, static_argnums=(0,))
def _seed_data(impl, seed):
    return impl.seed(seed)


@functools.partial(jit, static_argnums=(0, 2))
def _split_data(impl, data, shape):
    return impl.split(data, shape)


@functools.partial(jit, static_argnums=(0,))
def _fold_in_data(impl, data, message):
    return impl.fold_in(data, message)


@functools.partial(jit, static_argnums=(0, 2, 3))
def _random_bits_data(impl, data, bit_width, shape):
    return impl.random_bits(data, bit_width, shape)


def random_bits(keys, bit_width: int, shape: tuple) -> Array:
    """Uniform random bits of `bit_width` (8, 16, 32 or 64) under the one
    typed key `keys`, by its implementation."""
    return _random_bits_data(keys.impl, keys._data, bit_width, shape)


# ---------------------------------------------------------------------------
# Typed keys.

class KeyDtype(ExtendedDType):
    """The dtype of typed keys of one PRNG implementation; prints as JAX's,
    `key<fry>` (its tag)."""
    type = dtypes.prng_key  # its scalar type, for issubdtype, as JAX's
    physical_dtype = np.dtype(np.uint32)

    def __init__(self, impl: PRNGImpl):
        self.impl, self.name, self.element_shape = impl, f"key<{impl.tag}>", impl.key_shape

    def __repr__(self):
        return self.name

    __str__ = __repr__

    def __eq__(self, other):
        return isinstance(other, KeyDtype) and other.impl == self.impl

    def __hash__(self):
        return hash(self.name)

    def aval_of_shape(self, shape):
        return KeyAval(shape, self)


def key_dtype(impl_spec: str | KeyDtype | None = None) -> KeyDtype:
    """The dtype of typed keys of a PRNG implementation (by name, a key
    dtype, or None: the default one)."""
    return key_array_type(_impl(impl_spec)).dtype


class KeyAval(ShapedArray):
    """The abstract value of a key array (what irax.typeof gives): its shape
    and its key dtype, printed as JAX's, `key<fry>[]`."""
    __slots__ = ()

    def __init__(self, shape, dtype):  # (np.dtype has no key dtype: ShapedArray's would refuse it)
        self.shape, self.dtype, self.weak_type = tuple(shape), dtype, False
        self._hash = hash((self.shape, self.dtype))


class KeyArray(ExtendedArray):
    """An array of typed PRNG keys, over the uint32 array of its key data
    (shape `(*shape, *key_shape)`). A pytree leaf, as in JAX, whose data the
    transformations trace (tree_util.register_data_leaf), so keys pass
    through `jit`, `vmap` and `grad` (with no derivative) as arrays do;
    the structural functions (jnp.where, concatenate, stack, take, lax.select)
    take them as extended arrays (irax/frontend/extended.py). Its class says
    its implementation (`key_array_type`): KeyArray itself is threefry2x32's,
    each other's a subclass."""
    _trailing = 1  # the key's words
    impl = THREEFRY
    dtype = KeyDtype(THREEFRY)

    aval = property(lambda self: KeyAval(self.shape, self.dtype))
    size = property(lambda self: math.prod(self.shape))

    def __len__(self):
        if not self.shape:
            raise TypeError("len() of unsized object")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index):
        index = index if isinstance(index, tuple) else (index,)
        return self._wrap(self._data[(*index, slice(None))])  # the key's words kept whole, after any Ellipsis

    # Shape methods act on the leading axes of the data, its last axis (the key's two words) kept whole.
    def reshape(self, *shape, order="C"):
        if order != "C":
            raise NotImplementedError("irax key arrays reshape in C order only")
        shape = tuple(shape[0]) if len(shape) == 1 and not isinstance(shape[0], numbers.Integral) else shape
        return self._wrap(self._data.reshape((*shape, *self.impl.key_shape)))

    def ravel(self, order="C"):
        return self.reshape(-1, order=order)

    flatten = ravel

    def transpose(self, *axes):
        axes = tuple(axes[0]) if len(axes) == 1 and axes[0] is not None and not isinstance(
            axes[0], numbers.Integral) else axes
        axes = tuple(reversed(range(self.ndim))) if axes in ((), (None,)) else tuple(a % self.ndim for a in axes)
        return self._wrap(self._data.transpose((*axes, self.ndim)))

    T = property(lambda self: self.transpose())

    @property
    def mT(self):  # noqa: N802 (JAX leaves it abstract on key arrays: x.T, jnp.matrix_transpose work)
        raise NotImplementedError("Cannot call abstract method mT")

    def swapaxes(self, axis1, axis2):
        axes = list(range(self.ndim))
        axes[axis1], axes[axis2] = axes[axis2], axes[axis1]
        return self.transpose(axes)

    def squeeze(self, axis=None):
        if axis is None:
            axis = tuple(i for i, d in enumerate(self.shape) if d == 1)
        axis = (axis,) if isinstance(axis, numbers.Integral) else tuple(axis)
        return self._wrap(self._data.squeeze(tuple(a % self.ndim for a in axis)))

    def __eq__(self, other):
        if not isinstance(other, KeyArray):
            return NotImplemented
        return ufuncs.equal(self._data, other._data).all(axis=-1)

    def __ne__(self, other):
        return ufuncs.logical_not(self == other) if isinstance(other, KeyArray) else NotImplemented

    __hash__ = None

    def block_until_ready(self):
        self._data.block_until_ready()
        return self

    def __repr__(self):
        return f"Array({self.shape}, dtype={self.dtype}) overlaying:\n{self._data}"

    __str__ = __repr__


def key_array_type(impl: PRNGImpl) -> type:
    """The KeyArray class of `impl`'s keys (made and registered as a pytree
    data leaf once per implementation)."""
    found = _KEY_ARRAY_TYPES.get(impl.name)
    if found is None or found.impl != impl:
        found = _KEY_ARRAY_TYPES[impl.name] = type(f"KeyArray_{impl.name}", (KeyArray,),
                                                   {"impl": impl, "dtype": KeyDtype(impl), "__module__": __name__})
        _register(found)
    return found


def _register(cls):
    cls.dtype.array_type = cls
    tree_util.register_data_leaf(cls, lambda keys: ((keys._data,), None), lambda _, data: cls(data[0]))


_KEY_ARRAY_TYPES = {THREEFRY.name: KeyArray}  # implementation name -> its keys' class
_register(KeyArray)


def _impl(spec) -> PRNGImpl:
    """The implementation `spec` names (jax.random.key's impl=): its name, a
    key dtype, an implementation, or None for the default one; JAX's
    ValueError for an unknown name."""
    if spec is None:
        spec = config.irax_default_prng_impl
    if isinstance(spec, KeyDtype):
        return spec.impl
    if isinstance(spec, PRNGImpl):
        return spec
    if spec not in IMPLS:
        names = ", ".join(f'"{name}"' for name in IMPLS)
        raise ValueError(f'unrecognized PRNG implementation "{spec}". Did you mean one of: {names}?')
    return IMPLS[spec]


def _check_key_data(data, impl):
    """JAX's checks of raw key data of `impl`, with its TypeError wording."""
    if not all(hasattr(data, name) for name in ("ndim", "shape", "dtype")):  # (a typed key array has them)
        raise TypeError("JAX encountered invalid PRNG key data: expected key_data to have ndim, shape, and dtype "
                        f"attributes. Got {data}")
    if data.ndim < 1:
        raise TypeError(f"JAX encountered invalid PRNG key data: expected key_data.ndim >= 1; got ndim={data.ndim}")
    if tuple(data.shape[-1:]) != impl.key_shape:
        raise TypeError(f"JAX encountered invalid PRNG key data: expected key_data.shape to end with "
                        f"{impl.key_shape}; got shape={tuple(data.shape)} for impl={impl!r}")
    if data.dtype != np.uint32:
        raise TypeError(f"JAX encountered invalid PRNG key data: expected key_data.dtype = uint32; "
                        f"got dtype={data.dtype}")
    return asarray(data)


_LEGACY_KEY_MESSAGE = ("Legacy uint32 key array passed as key to jax.random function. Please create keys using "
                       "jax.random.key(). If use of a raw key array was intended, set jax_legacy_prng_key=\"allow\".")


def _legacy_key(setting, stacklevel):
    """What a raw key does by the setting jax_legacy_prng_key ("warn" or "error"), in JAX's words."""
    if setting == "error":
        raise ValueError(_LEGACY_KEY_MESSAGE)
    warnings.warn(_LEGACY_KEY_MESSAGE, stacklevel=stacklevel + 1)


def check_key(name, key, allow_batched=False, stacklevel=3):
    """(the typed keys, whether they came raw): a typed key array, or a raw
    uint32[..., *key_shape] array of the default implementation. A sampler
    takes one key (`allow_batched=False`). `stacklevel`: the user's frame,
    which jax_legacy_prng_key's warning names, counted from here."""
    if isinstance(key, KeyArray):
        keys, raw = key, False
    elif is_array(key) or isinstance(key, (np.ndarray, np.generic, numbers.Number, str)):
        impl = _impl(None)
        keys, raw = key_array_type(impl)(_check_key_data(key, impl)), True
        if config.irax_legacy_prng_key != "allow":
            _legacy_key(config.irax_legacy_prng_key, stacklevel)
    else:
        raise TypeError(f"unexpected PRNG key type {type(key)}")
    if not allow_batched and keys.ndim:
        raise ValueError(f"{name} accepts a single key, but was given a key array of shape "
                         f"{tuple(np.shape(key))} != (). Use jax.vmap for batching.")
    return keys, raw


def _seed(name, seed, impl):
    if isinstance(seed, KeyArray):
        raise TypeError(f"{name} accepts a scalar seed, but was given a PRNG key.")
    if np.ndim(seed):
        raise TypeError(f"{name} accepts a scalar seed, but was given an array of shape {np.shape(seed)} != (). "
                        "Use jax.vmap for batching")
    # A Python int (a bool too) is read as int64 first (wrapping to int32 without x64), as JAX does for
    # hashes as seeds.
    seed = asarray(np.int64(seed) if isinstance(seed, int) else seed)
    if not dtypes.is_int(seed.dtype):
        raise TypeError(f"PRNG key seed must be an integer; got {seed!r}")
    return _seed_data(impl, seed)


def key(seed: int | ArrayLike, *, impl: str | None = None) -> KeyArray:
    """A typed PRNG key (shape (), dtype key<fry> for the default
    implementation) from an integer seed."""
    impl = _impl(impl)
    return key_array_type(impl)(_seed("key", seed, impl))


def PRNGKey(seed: int | ArrayLike, *, impl: str | None = None) -> Array:
    """A raw PRNG key, a uint32 array of the implementation's key shape
    (uint32[2] for threefry2x32), from an integer seed."""
    impl = _impl(impl)
    return _seed("PRNGKey", seed, impl)


def split(key: ArrayLike, num: int | Shape = 2) -> ArrayLike:
    """`num` new keys (or an array of keys of shape `num`) from one key."""
    keys, raw = check_key("split", key)
    new = _split_data(keys.impl, keys._data, canonicalize_shape(num))
    return new if raw else keys._wrap(new)


def fold_in(key: ArrayLike, data: ArrayLike) -> ArrayLike:
    """A new key from a key and a 32-bit integer, e.g. a step number."""
    keys, raw = check_key("fold_in", key)
    if np.ndim(data):
        raise TypeError("fold_in accepts a scalar, but was given an array of"
                        f"shape {np.shape(data)} != (). Use jax.vmap for batching.")
    new = _fold_in_data(keys.impl, keys._data, asarray(data, np.uint32))
    return new if raw else keys._wrap(new)


def bits(key: ArrayLike, shape: Shape = (), dtype: DTypeLike | None = None) -> Array:
    """Uniform random bits as unsigned integers of `dtype` (default uint32,
    uint64 with x64)."""
    keys, _ = check_key("bits", key)
    dtype = dtypes.canonicalize_dtype(np.uint64 if dtype is None else dtype)
    if not dtypes.is_unsigned(dtype):
        raise ValueError(f"dtype argument to `bits` must be an unsigned int dtype, got {dtype}")
    return random_bits(keys, dtype.itemsize * 8, canonicalize_shape(shape))


def key_data(keys: ArrayLike) -> Array:
    """The uint32 data of a key array (shape `(*keys.shape, *key_shape)`)."""
    keys, _ = check_key("key_data", keys, allow_batched=True)
    return keys._data


def wrap_key_data(key_bits_array: ArrayLike, *, impl: str | None = None,
                  dtype: str | KeyDtype | None = None) -> KeyArray:
    """The typed key array whose data is `key_bits_array` (uint32, trailing
    dims the key shape); `dtype` (a key dtype, or its implementation's name)
    names the implementation as `impl` does, as JAX's (`key.dtype` wraps
    `key`'s data)."""
    if impl is not None and dtype is not None:
        raise ValueError("Cannot specify both `impl` and `dtype` arguments to jax.random.wrap_key_data")
    impl = _impl(impl if dtype is None else dtype)
    return key_array_type(impl)(_check_key_data(key_bits_array, impl))


def key_impl(keys: ArrayLike) -> str:
    """The name of the keys' PRNG implementation (raw keys: the default one)."""
    keys, _ = check_key("key_impl", keys, allow_batched=True)
    return keys.impl.name


def clone(key: ArrayLike) -> ArrayLike:
    """The key itself: irax arrays are immutable, so a key is never consumed."""
    return key
