"""Interop: DLPack both ways with NumPy and JAX, the Array API's namespace and
inspection info, and the array attributes that go with them (nbytes,
itemsize, to_device, copy_to_host_async). JAX is the oracle for semantics.

A CPU array's buffer is host memory, so NumPy reads it through DLPack
without a copy (read-only: irax arrays are immutable); a Vulkan array's is
not, so it goes out as a host copy. Both platforms run (CORE)."""
import gc
import re

import jax
import jax.numpy as jjnp
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from helpers import x64_mode
from irax.frontend.core import ConcretizationTypeError

X = np.arange(4, dtype=np.float32) * 1.5


def _address(a: np.ndarray) -> int:
    return a.__array_interface__["data"][0]


def _mapped_address(x) -> int:
    """Where the CPU keeps x's buffer (mapped by hand)."""
    return _address(x._buffer.map().asarray(x.shape, x.dtype))


@pytest.mark.parametrize("dtype", ["float32", "int8", "bfloat16"])
def test_nbytes_and_itemsize_match_jax(dtype):
    want = jjnp.zeros((2, 3), dtype)
    x = jnp.zeros((2, 3), dtype)
    assert (x.nbytes, x.itemsize) == (want.nbytes, want.itemsize)
    assert irax.jit(lambda t: jnp.float32(t.nbytes + t.itemsize))(x) == want.nbytes + want.itemsize  # on tracers too


def test_numpy_reads_an_irax_array_through_dlpack():
    x = jnp.asarray(X) * 2
    a = np.from_dlpack(x)
    np.testing.assert_array_equal(a, X * 2)
    assert a.dtype == np.float32 and not a.flags.writeable  # irax arrays are immutable: no writing through a
    with pytest.raises(ValueError, match="read-only"):
        a[0] = 1
    assert x.__dlpack_device__() == (1, 0) and x.__dlpack_device__()[0].name == "kDLCPU"  # what the capsule holds
    if x.device.platform == "cpu":  # shared: the buffer's own memory, on every export
        assert _address(a) == _address(np.from_dlpack(x, copy=False)) == _mapped_address(x)
        assert _address(np.from_dlpack(x, copy=True)) != _address(a)
    else:  # Vulkan's device memory (and the example plugin, with no host_view) goes out as a host copy
        with pytest.raises(BufferError, match="requires a copy: its buffer is not host memory that irax can share.*copy=False"):
            np.from_dlpack(x, copy=False)
    assert np.from_dlpack(x, copy=True).flags.writeable  # a copy of its own is the consumer's to write


def test_an_export_keeps_the_buffer_and_its_values():
    x = jnp.asarray(X) + 1
    a = np.from_dlpack(x)
    del x
    gc.collect()
    for k in range(4):  # reuse of freed buffers would show here
        np.asarray(jnp.asarray(X) * k)
    np.testing.assert_array_equal(a, X + 1)
    donated = jnp.asarray(X) + 2
    b = np.from_dlpack(donated)
    out = irax.jit(lambda v: v.at[0].set(-1.0), donate_argnums=0)(donated)  # may write in place, but b shares it
    np.testing.assert_array_equal(out, np.concatenate([[-1], X[1:] + 2]))
    np.testing.assert_array_equal(b, X + 2)
    assert donated.is_deleted()


def test_jax_and_irax_exchange_arrays_through_dlpack():
    x = jnp.asarray(X)
    got = jjnp.from_dlpack(x)  # asks for an unversioned capsule, which cannot say read-only: a copy
    assert isinstance(got, jax.Array) and got.dtype == jjnp.float32
    np.testing.assert_array_equal(got, X)
    with pytest.raises(BufferError, match="unversioned capsule.*cannot mark it read-only"):
        x.__dlpack__(copy=False)
    for source in (X, jjnp.asarray(X), np.arange(3.0), jjnp.arange(3, dtype=jjnp.int8)):
        y = jnp.from_dlpack(source)
        want = jjnp.from_dlpack(source)
        assert isinstance(y, irax.Array) and y.dtype == want.dtype  # float64 is float32 outside x64 mode, as in JAX
        np.testing.assert_array_equal(y, want)


def test_from_dlpack_places_and_refuses_as_jax():
    device = irax.devices()[0]
    y = jnp.from_dlpack(X, device=device)
    assert y.device is device and y.committed
    assert not jnp.from_dlpack(X).committed
    assert jnp.from_dlpack(y, copy=False) is y  # irax's own arrays are shared where device and copy allow
    other = next((d for d in jnp.__array_namespace_info__().devices()[1:] if d is not device), None)
    if other is not None:
        with pytest.raises(ValueError, match="requires a copy since the source device is .*however copy=False"):
            jnp.from_dlpack(y, device=other, copy=False)
    with pytest.raises(ValueError, match="copy=False. Set copy=True or copy=None"):
        jnp.from_dlpack(X, copy=False)  # an irax array owns its buffer
    with pytest.raises(TypeError, match="must have __dlpack__ and __dlpack_device__ methods"):
        jnp.from_dlpack([1.0, 2.0])
    with pytest.raises(ConcretizationTypeError, match="__dlpack__"):
        irax.jit(lambda t: np.from_dlpack(t))(X)


@pytest.mark.parametrize("call, error, message", [
    (lambda x: x.__dlpack__(stream=1), BufferError, "stream must be None"),
    (lambda x: x.__dlpack__(dl_device=(2, 0)), BufferError, r"exports host memory .*got dl_device=\(2, 0\)"),
    (lambda x: x.to_device(irax.devices()[0], stream=1), NotImplementedError, "stream argument of array.to_device"),
], ids=["stream", "cuda", "to_device-stream"])
def test_what_cannot_be_done_says_so(call, error, message):
    with pytest.raises(error, match=message):
        call(jnp.asarray(X))


def test_to_device_and_copy_to_host_async():
    x = jnp.asarray(X)
    for device in irax.devices("cpu")[:1] + [x.device]:
        y = x.to_device(device)
        assert y.device is device and y.committed
        np.testing.assert_array_equal(y, X)
    z = x * 3
    assert z.copy_to_host_async() is None
    np.testing.assert_array_equal(np.asarray(z), X * 3)


def test_array_namespace_is_irax_numpy_as_jax():
    x = jnp.asarray(X)
    assert x.__array_namespace__() is jnp is x.__array_namespace__(api_version="2024.12")
    assert jnp.__array_api_version__ == jjnp.__array_api_version__ == "2024.12"
    with pytest.raises(ValueError) as want:
        jjnp.zeros(1).__array_namespace__(api_version="2023.12")
    with pytest.raises(ValueError, match=f"^{re.escape(str(want.value))}$"):
        x.__array_namespace__(api_version="2023.12")
    assert irax.jit(lambda t: jnp.float32(t.__array_namespace__() is jnp))(x) == 1


@pytest.mark.parametrize("mode", [False, True], ids=["x32", "x64"])
def test_namespace_info_matches_jax(mode):
    with x64_mode(mode):
        info, want = jnp.__array_namespace_info__(), jjnp.__array_namespace_info__()
        assert info.capabilities() == want.capabilities()
        assert info.default_device() is None
        assert info.devices()[0] is None and irax.devices()[0] in info.devices()
        assert info.default_dtypes() == want.default_dtypes()
        for kind in (None, "integral", ("bool", "real floating"), "complex floating"):
            assert info.dtypes(kind=kind) == want.dtypes(kind=kind)


# Bugs the Array API conformance suite found (benchmarks/array_api_conformance.py), against JAX.
EMPTY = np.zeros((2, 0), np.uint8)
PAIR = np.array([2.0, 3.0], np.float32)


@pytest.mark.parametrize("call", [
    lambda np_: np_.cumulative_sum(np.arange(3, dtype=np.int8)),  # widened to int32, as sum is
    lambda np_: np_.cumulative_sum(np.arange(3, dtype=np.uint8), include_initial=True),
    lambda np_: np_.cumulative_prod(np.arange(1, 4, dtype=np.uint8)),  # not widened
    lambda np_: np_.cumulative_sum(EMPTY, axis=0, include_initial=True),  # a scan of nothing
    lambda np_: np_.cumsum(EMPTY, axis=0),
    lambda np_: np_.unique_values(PAIR[:1]),  # compares x[1:] with x[:-1]: empty pieces
    lambda np_: (irax.jit if np_ is jnp else jax.jit)(lambda a: np_.concatenate([a[:1], a[2:]]))(PAIR),
], ids=["cumulative_sum-int8", "cumulative_sum-uint8-initial", "cumulative_prod-uint8", "cumulative_sum-empty",
        "cumsum-empty", "unique-of-one", "concatenate-empty-last"])
def test_array_api_findings_match_jax(call):
    got, want = call(jnp), call(jjnp)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)
