"""Devices: every built-in backend compiles the programs here whether or not
its device is present, and runs them on each device that is; device_put,
committed arrays, irax.default_device and jit(device=...) as in JAX; and the
core numerical tests on both cpu and vulkan (lavapipe in CI).

Vulkan compiles cost ~0.4 s each (cached on disk afterwards): the tests on
vulkan use few distinct kernels."""
import os
import subprocess
import sys
import threading
import time

import iree.runtime as iree_rt
import numpy as np
import pytest
from iree.compiler import ir

import irax
import irax.numpy as jnp
from irax.backends import cache
from irax.backends import vulkan
from irax.backends.vulkan import POLLING_NICE
from irax.ir import mlir
from irax.frontend.core import ShapedArray
from irax.plugins import registry
from irax.transforms import pipeline

import plugin_fakes
from helpers import device_or_skip, run_module

BUILTIN = ("cpu", "vulkan", "cuda", "rocm")
# What an IREE program for each target carries: its executable format.
FORMATS = {"cpu": b"embedded-elf", "vulkan": b"vulkan-spirv-fb", "cuda": b"cuda-nvptx-fb", "rocm": b"rocm-hsaco-fb"}

rng = np.random.default_rng(0)
X = rng.normal(size=(4, 3)).astype(np.float32)
W = rng.normal(size=(3, 5)).astype(np.float32)


def mlp_loss(w, x):
    return jnp.mean(jnp.tanh(x @ w) ** 2)


def mlp_grad_numpy(w, x):
    h = np.tanh(x @ w)
    return x.T @ (2 * h * (1 - h ** 2)) / h.size


# name -> (irax function, NumPy reference, arguments)
PROGRAMS = {
    "elementwise": (lambda x: jnp.where(x > 0, jnp.exp(-x), x * x) + 1,
                    lambda x: np.where(x > 0, np.exp(-x), x * x) + 1, (X,)),
    "reduce_matmul": (lambda x, w: jnp.max(x @ w, axis=0) + jnp.sum(x),
                      lambda x, w: np.max(x @ w, axis=0) + np.sum(x), (X, W)),
    "grad": (irax.grad(mlp_loss), mlp_grad_numpy, (W, X)),
    "update": (lambda x: x.at[1].set(5.0) * 2, lambda x: np.concatenate([x[:1], np.full((1, 3), 5.0), x[2:]]) * 2,
               (X,)),
}


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize("backend", BUILTIN)
def test_every_builtin_target_compiles_without_its_device(backend, program):
    fn, _, args = PROGRAMS[program]
    text = irax.jit(fn).lower(*args).as_text("optimized")
    vmfb = registry.backends()[backend].compile(text)
    assert FORMATS[backend] in vmfb
    assert all(FORMATS[other] not in vmfb for other in BUILTIN if other != backend)


@pytest.mark.parametrize("program", PROGRAMS)
@pytest.mark.parametrize("backend", BUILTIN)
def test_programs_run_on_each_present_device(backend, program):
    device = device_or_skip(backend)
    fn, reference, args = PROGRAMS[program]
    out = irax.jit(fn, device=backend)(*args)
    assert out.device is device and out.committed
    np.testing.assert_allclose(out, reference(*args), rtol=2e-5, atol=1e-6)


def test_compile_cache_keys_include_the_target():
    text = irax.jit(jnp.sin).lower(X).as_text("optimized")
    keys = {cache._key(text, b.target_backend, b.compile_flags) for b in map(registry.backends().get, BUILTIN)}
    assert len(keys) == len(BUILTIN)
    programs = {registry.backends()[name].compile(text) for name in BUILTIN}
    assert len(programs) == len(BUILTIN)


# ---------------------------------------------------------------------------
# Placement, as in JAX. `other` is a second CPU device that is on every machine.

@pytest.fixture
def other():
    return plugin_fakes.sync.devices()[0]


def test_devices_and_default_backend():
    assert irax.default_backend() == "cpu" or irax.default_backend() in ("cuda", "rocm")
    assert irax.devices() == irax.devices(irax.default_backend())
    assert repr(irax.devices("cpu")) == "[CpuDevice(id=0)]"
    assert jnp.ones(2).device is irax.devices()[0]


def test_counting_devices_makes_none():
    # a backend's devices are made on first use, not when irax asks what is available or how many there are
    # (a Vulkan device starts threads that poll the driver: on lavapipe they slowed MPI's all-reduce 10x)
    code = ("import irax; from irax.plugins import registry\n"
            "names = registry.available_backends(); counts = [irax.device_count(n) for n in names]\n"
            "print(names, counts)\n"
            "print([n for n in names if '_devices' in vars(registry.backends()[n])])\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    available, made = done.stdout.strip().splitlines()
    assert available.startswith("['cpu'") and made == "[]", done.stdout + done.stderr[-2000:]


def test_device_put_like_jax():
    jax = pytest.importorskip("jax")
    cpu = irax.devices("cpu")[0]
    for value in (np.arange(3.0), 2.5, np.array([1, 2], np.uint8), np.int64(7), True):
        ours, theirs = irax.device_put(value), jax.device_put(value)
        assert (ours.dtype, ours.weak_type, ours.committed) == (theirs.dtype, theirs.weak_type, theirs.committed)
        committed = irax.device_put(value, cpu)
        assert committed.committed and committed.device is cpu
        np.testing.assert_array_equal(committed, theirs)
    tree = irax.device_put({"w": W, "b": [1.0, 2.0]}, "cpu")
    assert tree["w"].committed and tree["b"][1].weak_type
    x = jnp.ones(3)
    assert not x.committed and irax.device_put(x) is x
    assert irax.device_put(x, cpu) is x and x.committed  # already there: committed in place, no copy
    assert x.devices() == {cpu}


def test_committed_arrays_decide_where_ops_run(other):
    cpu = irax.devices("cpu")[0]
    a = jnp.arange(3.0)  # uncommitted: follows
    b = irax.device_put(np.ones(3, np.float32), other)
    c = a + b
    assert c.device is other and c.committed and a.device is cpu
    np.testing.assert_array_equal(c, np.arange(3.0) + 1)
    d = jnp.sum(c * 2)  # computed from committed arrays: committed too
    assert d.device is other and d.committed and float(d) == 12.0
    assert not (a * 2).committed
    with pytest.raises(ValueError, match=r"Received incompatible devices for add\. Got argument 0 of shape float32\[3\] "
                                         r"committed to CpuDevice\(id=0\) and argument 1 of shape float32\[3\] "
                                         r"committed to SyncDevice\(id=0\)\. Move them to one device first with "
                                         r"irax\.device_put\(x, device\)\."):
        irax.device_put(a, cpu) + b
    moved = irax.device_put(b, cpu)
    assert moved.device is cpu and b.device is other
    np.testing.assert_array_equal(moved + irax.device_put(a, cpu), np.arange(3.0) + 1)


def test_default_device_context(other):
    cpu = irax.devices("cpu")[0]
    outside = jnp.arange(3.0)
    with irax.default_device(other):
        x = jnp.arange(3.0)
        assert x.device is other and not x.committed
        y = outside * 2  # uncommitted arrays move to the default device
        assert y.device is other
        with irax.default_device("cpu"):
            assert jnp.zeros(2).device is cpu
        z = irax.jit(lambda v: v + 1)(outside)
        assert z.device is other and not z.committed
    assert jnp.zeros(2).device is cpu
    np.testing.assert_array_equal(y, np.arange(3.0) * 2)


def test_jit_device(other):
    closure = jnp.full(3, 10.0)  # lives on the cpu; moved once

    @irax.jit
    def f(v):
        return v * 2 + closure

    on_other = irax.jit(f, device=other)
    out = on_other(irax.device_put(np.arange(3.0, dtype=np.float32), "cpu"))  # even committed arguments move
    assert out.device is other and out.committed
    np.testing.assert_array_equal(out, np.arange(3.0) * 2 + 10)
    assert f(jnp.arange(3.0)).device is irax.devices("cpu")[0]


# ---------------------------------------------------------------------------
# Core numerics on cpu and vulkan.

@pytest.fixture(params=["cpu", "vulkan"])
def device(request):
    return device_or_skip(request.param)


def put(device, *arrays):
    return [irax.device_put(a, device) for a in arrays]


def test_elementwise(device):
    x, y, i = put(device, X, rng.normal(size=(4, 3)).astype(np.float32), np.arange(-6, 6, dtype=np.int32).reshape(4, 3))
    xn, yn, iN = np.asarray(x), np.asarray(y), np.arange(-6, 6, dtype=np.int32).reshape(4, 3)
    for ours, theirs in [(x + y, xn + yn), (x * 2.5, xn * 2.5), (jnp.exp(x), np.exp(xn)),
                         (jnp.where(x > y, x, y), np.maximum(xn, yn)), (i // 4, iN // 4), (i * i - 3, iN * iN - 3)]:
        assert ours.device is device
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int16, np.float16, np.bool_])
def test_narrow_dtypes(device, dtype):
    """8- and 16-bit data in arrays whose byte size is not a multiple of 4 (vulkan.py says why)."""
    a = (np.arange(9) % 4 == 1) if dtype is np.bool_ else np.arange(9).astype(dtype)
    (x,) = put(device, a)
    np.testing.assert_array_equal(x, a)
    np.testing.assert_array_equal(x ^ x if dtype is np.bool_ else x + x, a ^ a if dtype is np.bool_ else a + a)


def test_a_program_called_again_with_other_buffers(device):
    """IREE's recorded command buffers once kept the first call's buffers (vulkan.py)."""
    with irax.default_device(device):
        np.testing.assert_array_equal(jnp.stack([jnp.asarray(1), jnp.asarray(2.0)]), [1, 2])
        np.testing.assert_array_equal(jnp.stack([jnp.asarray(np.float32(7)), jnp.asarray(np.float32(8))]), [7, 8])


def test_reductions(device):
    (x,) = put(device, X)
    np.testing.assert_allclose(jnp.sum(x), X.sum(), rtol=1e-5)
    np.testing.assert_allclose(jnp.sum(x, axis=0), X.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(jnp.max(x, axis=1), X.max(axis=1))
    np.testing.assert_array_equal(jnp.argmax(x, axis=1), X.argmax(axis=1))
    long = rng.normal(size=100_003).astype(np.float32)  # the 64-partial-sums path
    np.testing.assert_allclose(jnp.sum(irax.device_put(long, device)), long.sum(dtype=np.float64), rtol=1e-5)


def test_matmul(device):
    a, b = rng.normal(size=(37, 53)).astype(np.float32), rng.normal(size=(53, 29)).astype(np.float32)
    out = irax.device_put(a, device) @ irax.device_put(b, device)
    assert out.device is device
    np.testing.assert_allclose(out, a @ b, rtol=1e-4, atol=1e-4)


def test_grad_and_jit(device):
    w, x = put(device, W, X)
    g = irax.grad(mlp_loss)(w, x)
    assert g.device is device
    np.testing.assert_allclose(g, mlp_grad_numpy(W, X), rtol=1e-5, atol=1e-6)

    step = irax.jit(lambda w, x: w - 0.5 * irax.grad(mlp_loss)(w, x), donate_argnums=0)
    expected = W
    for _ in range(3):
        w = step(w, x)
        expected = expected - 0.5 * mlp_grad_numpy(expected, X)
    assert w.device is device
    np.testing.assert_allclose(w, expected, rtol=1e-5, atol=1e-6)


def test_matmul_gradients(device):
    """Gradients of matmuls are contractions whose output reads the loops out of
    order: wrong on Vulkan unless normalize-loop-order renumbers them."""
    a, b = rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(4, 5)).astype(np.float32)
    da, db = irax.grad(lambda x, y: jnp.sum((x @ y) ** 2), argnums=(0, 1))(*put(device, a, b))
    np.testing.assert_allclose(da, 2 * (a @ b) @ b.T, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(db, a.T @ (2 * (a @ b)), rtol=1e-5, atol=1e-5)


def test_normalize_loop_order_keeps_the_meaning():
    """out[j, i] = x[i, j] + i: renumbering the loops must renumber linalg.index too."""
    text = """
    func.func @main(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
      %e = tensor.empty() : tensor<3x2xf32>
      %r = linalg.generic {indexing_maps = [affine_map<(d0, d1) -> (d0, d1)>, affine_map<(d0, d1) -> (d1, d0)>],
                           iterator_types = ["parallel", "parallel"]} ins(%x : tensor<2x3xf32>) outs(%e : tensor<3x2xf32>) {
      ^bb0(%a: f32, %o: f32):
        %i = linalg.index 0 : index
        %n = arith.index_cast %i : index to i32
        %f = arith.sitofp %n : i32 to f32
        %s = arith.addf %a, %f : f32
        linalg.yield %s : f32
      } -> tensor<3x2xf32>
      return %r : tensor<3x2xf32>
    }"""
    module = ir.Module.parse(text, mlir.context())
    pipeline.run(module, passes="normalize-loop-order")
    assert "#map = affine_map<(d0, d1) -> (d1, d0)>" in str(module)  # x is read transposed now,
    assert "indexing_maps = [#map, #map1]" in str(module)               # the output in loop order
    assert "linalg.index 1" in str(module)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (out,) = run_module(module, [x], [ShapedArray((3, 2), np.float32)], irax.devices("cpu")[0])
    np.testing.assert_array_equal(out, x.T + np.arange(2))


def _cpu_ticks() -> dict:
    """Thread id -> CPU time used so far, in clock ticks (Linux's /proc)."""
    ticks = {}
    for thread in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{thread}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks[thread] = int(fields[11]) + int(fields[12])  # utime + stime
    return ticks


def test_lavapipe_polling_threads_yield_to_other_work():
    """On lavapipe two of IREE's Vulkan threads poll even when nothing runs
    (vulkan.py): whatever uses the CPU while this process idles must be at
    the low priority vulkan.POLLING_NICE."""
    vulkan = device_or_skip("vulkan")
    if not os.path.isdir("/proc/self/task"):
        pytest.skip("threads are read from Linux's /proc")
    if not iree_rt.get_driver("vulkan").query_available_devices()[0]["name"].startswith("llvmpipe"):
        pytest.skip("not lavapipe")
    for device in (vulkan, irax.devices("cpu")[0]):
        device.drain()  # no work left from earlier tests
    before = _cpu_ticks()
    time.sleep(0.5)
    # Busy: a tenth of the time or more (pytest-xdist's own threads wake up
    # now and then; a poller at normal priority takes all of a core).
    me = str(threading.get_native_id())
    busy = [t for t, ticks in _cpu_ticks().items() if ticks - before.get(t, ticks) >= 5 and t != me]
    assert all(os.getpriority(os.PRIO_PROCESS, int(t)) == POLLING_NICE > 0 for t in busy), busy


def _lavapipe_or_skip():
    vulkan_device = device_or_skip("vulkan")
    if not isinstance(vulkan_device.while_waiting, vulkan.PollingThreads):
        pytest.skip("not lavapipe: no polling threads")
    return vulkan_device


def test_lavapipe_polling_threads_run_at_normal_priority_while_a_thread_waits(monkeypatch):
    """A busy machine starves the polling threads at POLLING_NICE, and they
    move lavapipe's queue on: while a thread of this process waits for the
    device (here two at once), they run at WAITING_NICE, and at POLLING_NICE
    again once no thread waits."""
    device = _lavapipe_or_skip()
    polling = vulkan.PollingThreads(device.while_waiting.threads)

    def nice():
        return {os.getpriority(os.PRIO_PROCESS, int(t)) for t in polling.threads}
    try:
        os.setpriority(os.PRIO_PROCESS, int(polling.threads[0]), vulkan.WAITING_NICE)
    except PermissionError:
        pytest.skip("this process may not raise a thread's priority again")
    os.setpriority(os.PRIO_PROCESS, int(polling.threads[0]), POLLING_NICE)
    assert nice() == {POLLING_NICE}
    with polling:
        assert nice() == {vulkan.WAITING_NICE}
        with polling:
            assert nice() == {vulkan.WAITING_NICE}
        assert nice() == {vulkan.WAITING_NICE}
    assert nice() == {POLLING_NICE}
    # Where the process may not raise them again, they stay low, without an error.
    monkeypatch.setattr(vulkan.os, "setpriority", _refused)
    with polling:
        assert nice() == {POLLING_NICE}
    assert not polling._may_raise


def _refused(*_):
    raise PermissionError(1, "Operation not permitted")


class _CountedWaits:
    def __init__(self):
        self.entered = 0

    def __enter__(self):
        self.entered += 1

    def __exit__(self, *failure):
        pass


def test_reading_a_vulkan_result_waits_once_inside_the_devices_while_waiting(monkeypatch):
    """Reading a result on Vulkan is a copy to host memory, queued after the
    call that computes it: one wait for both (each costs milliseconds on a
    busy machine), inside Device.while_waiting, where lavapipe's polling
    threads are given their normal priority."""
    device = _lavapipe_or_skip()
    waits = _CountedWaits()
    with irax.default_device(device):
        x = jnp.full((512, 512), 0.5)
        np.asarray(jnp.tanh(x))  # (its program loaded: a load waits for the queue to drain)
        y = jnp.tanh(x)  # (still running when read, on lavapipe: ~1 ms)
        monkeypatch.setattr(device, "while_waiting", waits)
        np.testing.assert_allclose(np.asarray(y), np.tanh(0.5), rtol=1e-6)
    assert waits.entered == 1


def test_an_arrays_sharding_is_jaxs_single_device_sharding():
    """x.sharding (JAX's docs print it, docs/thinking_in_jax) had no attribute;
    device_put takes a sharding for its device."""
    jax = pytest.importorskip("jax")
    from irax.sharding import SingleDeviceSharding
    x, theirs = jnp.ones((4, 3)), jax.numpy.ones((4, 3)).sharding
    ours = x.sharding
    assert repr(ours) == repr(theirs) and str(ours) == str(theirs)
    assert (ours.device_set, ours.num_devices, ours.shard_shape((4, 3)), ours.is_fully_replicated) == (
        {x.device}, 1, (4, 3), True)
    assert ours == SingleDeviceSharding(x.device) and hash(ours) == hash(SingleDeviceSharding(x.device))
    assert irax.jit(lambda a: a * 2)(x).sharding == ours
    for device in irax.devices():
        moved = irax.device_put(x, SingleDeviceSharding(device))
        assert moved.device is device and moved.committed and moved.sharding == SingleDeviceSharding(device)
        np.testing.assert_array_equal(np.asarray(moved), np.ones((4, 3)))


def test_device_put_takes_jax_s_donate_may_alias_and_src():
    """device_put refused these keywords (a TypeError for JAX code passing them)."""
    x = jnp.ones(3)
    same = irax.device_put(x, irax.devices()[0], donate=True, src=x.device)
    assert same is x and not x.is_deleted()  # nothing was copied, as in JAX
    copied = irax.device_put(x, may_alias=False)
    assert copied is not x and not x.is_deleted()
    np.testing.assert_array_equal(copied, x)
    import plugin_fakes

    moved = irax.device_put(x, plugin_fakes.sync.devices()[0], donate=True)  # a copy elsewhere: x is donated
    assert x.is_deleted()
    np.testing.assert_array_equal(moved, np.ones(3))
