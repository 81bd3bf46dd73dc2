"""irax.jit: one program per argument signature, static arguments, pytrees,
closures, composition with grad, and the lowered IR."""
import os
import signal
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax.backends import runtime
from helpers import device_or_skip

jax = pytest.importorskip("jax")

rng = np.random.default_rng(0)
X = rng.normal(size=(3, 4)).astype(np.float32)


def counting(fn):
    calls = []

    def wrapped(*args, **kwargs):
        calls.append(1)
        return fn(*args, **kwargs)

    wrapped.calls = calls
    return wrapped


def test_traced_once_per_signature():
    f = counting(lambda x, y: jnp.tanh(x) * y + 1)
    jf = irax.jit(f)
    for _ in range(3):
        out = jf(X, 2.0)
    np.testing.assert_allclose(out, np.tanh(X) * 2 + 1, rtol=1e-5)
    assert len(f.calls) == 1
    jf(X[:2], 2.0)  # a new shape: traced again
    assert len(f.calls) == 2
    jf(X, 3.0)  # a new value of a traced scalar: same program
    assert len(f.calls) == 2


def test_static_arguments_shape_the_program():
    @irax.jit
    def power(x, n):
        return x ** n if n > 1 else x

    jp = irax.jit(lambda x, n: x ** n if n > 1 else x, static_argnums=1)
    np.testing.assert_allclose(jp(X, 3), X**3, rtol=1e-5)
    np.testing.assert_allclose(jp(X, 1), X)
    with pytest.raises(irax.errors.ConcretizationTypeError, match="static"):
        power(X, 3)
    jk = irax.jit(lambda x, *, mode: x * 2 if mode == "double" else x, static_argnames="mode")
    np.testing.assert_allclose(jk(X, mode="double"), X * 2)
    with pytest.raises(ValueError, match="Non-hashable static arguments"):
        jp(X, [1, 2])


def test_pytrees_kwargs_and_python_scalars():
    @irax.jit
    def f(params, x, scale=1.0):
        return {"out": x @ params["w"] * scale, "norm": jnp.sum(params["w"] ** 2)}

    params = {"w": jnp.asarray(X.T)}
    out = f(params, X, scale=0.5)
    np.testing.assert_allclose(out["out"], X @ X.T * 0.5, rtol=1e-5)
    np.testing.assert_allclose(out["norm"], np.sum(X**2), rtol=1e-5)
    weak = irax.jit(lambda x: x * 2)(1.5)
    theirs = jax.jit(lambda x: x * 2)(1.5)
    assert (weak.dtype, weak.weak_type) == (theirs.dtype, theirs.weak_type)


def test_closed_over_arrays_are_arguments_not_constants():
    big = jnp.asarray(rng.normal(size=(64, 64)).astype(np.float32))
    f = irax.jit(lambda x: x @ big)
    np.testing.assert_allclose(f(np.eye(64, dtype=np.float32)), np.asarray(big), rtol=1e-6)
    text = f.lower(np.eye(64, dtype=np.float32)).as_text()
    assert "dense<" not in text and text.count("tensor<64x64xf32>") >= 2


def test_numpy_bool_constants():
    """A NumPy bool array in traced code is a dense<> constant of its own
    values (it was bit-packed: [1, 0, 1, 1] read as all true, 12 elements failed)."""
    for mask in (np.array([True, False, True, True]), rng.normal(size=(4, 3)) > 0):
        got = irax.jit(lambda x: jnp.where(mask, x, 0.0))(np.ones(mask.shape, np.float32))
        np.testing.assert_array_equal(got, mask.astype(np.float32))


def test_composes_with_grad():
    loss = lambda w, x: jnp.sum(jnp.tanh(x @ w) ** 2)  # noqa: E731
    jloss = lambda w, x: jax.numpy.sum(jax.numpy.tanh(x @ w) ** 2)  # noqa: E731
    w = rng.normal(size=(4, 2)).astype(np.float32)
    expected = jax.grad(jloss)(w, X)
    np.testing.assert_allclose(irax.jit(irax.grad(loss))(w, X), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(irax.grad(irax.jit(loss))(w, X), expected, rtol=1e-5, atol=1e-6)

    @irax.jit
    def update(w, x, lr=0.1):
        return w - lr * irax.grad(loss)(w, x)

    np.testing.assert_allclose(update(w, X), w - 0.1 * expected, rtol=1e-5, atol=1e-6)


def test_lower_shows_the_program():
    lowered = irax.jit(lambda x: jnp.sin(x) + 1).lower(X)
    assert "func.func @main" in lowered.as_text() and "math.sin" in lowered.as_text("optimized")


def test_errors_leave_the_next_call_working():
    @irax.jit
    def f(x):
        if x.sum() > 0:
            return x
        return -x

    with pytest.raises(irax.errors.ConcretizationTypeError, match="test_jit.py"):
        f(X)
    np.testing.assert_allclose(irax.jit(jnp.cos)(X), np.cos(X), rtol=1e-6)


UPDATES = {
    "set_int": lambda x: x.at[1].set(7.0),
    "set_slice": lambda x: x.at[1:3].set(0.0) * 2,
    "add_array": lambda x: x.at[jnp.array([0, 2, 0])].add(5.0),
    "multiply_array": lambda x: x.at[jnp.array([3])].multiply(2.0),
    "min_slice": lambda x: x.at[::2].min(1.5),
    "max_array": lambda x: x.at[jnp.array([1])].max(10.0),
    "set_then_more": lambda x: (x.at[0].set(1.0) + x, 3.0),
    "set_scalar_array": lambda x: x.at[jnp.array(2)].set(7.0),
    "add_scalar_array": lambda x: x.at[jnp.array(-1)].add(7.0),
}


@pytest.mark.parametrize("name", sorted(UPDATES))
def test_jit_never_writes_into_its_arguments(name):
    host = np.arange(4, dtype=np.float32)
    x = jnp.asarray(host)
    out = irax.jit(UPDATES[name])(x)
    np.testing.assert_array_equal(np.asarray(x), host)  # the caller's array is intact
    expected = UPDATES[name](jnp.asarray(host))  # eager, op by op
    for ours, theirs in zip(irax.tree_util.tree_leaves(out), irax.tree_util.tree_leaves(expected)):
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))


def test_protect_arguments_puts_the_argument_behind_a_barrier():
    text = irax.jit(lambda x: x.at[0].set(1.0)).lower(jnp.zeros(3)).as_text("optimized")
    assert "util.optimization_barrier" in text and "%arg0" in text.split("util.optimization_barrier")[1]
    plain = irax.jit(lambda x: x * 2).lower(jnp.zeros(3)).as_text("optimized")
    assert "util.optimization_barrier" not in plain


def test_donated_arguments_are_updated_in_place_and_deleted():
    step = irax.jit(lambda x, i, v: x.at[i].set(v), donate_argnums=0, static_argnums=1)
    x = jnp.asarray(np.arange(4, dtype=np.float32))
    text = step.lower(x, 1, 9.0).as_text("optimized")
    assert "tensor.insert_slice" in text and "util.optimization_barrier" not in text  # IREE may write in place
    assert "util.optimization_barrier" in irax.jit(step.__wrapped__, static_argnums=1).lower(x, 1, 9.0).as_text("optimized")
    y = step(x, 1, 9.0)
    np.testing.assert_array_equal(y, [0, 9, 2, 3])
    assert x.is_deleted()
    for use in (lambda: np.asarray(x), lambda: x + 1, lambda: step(x, 0, 1.0)):
        with pytest.raises(RuntimeError, match="Array has been deleted"):
            use()
    y = step(y, 2, 5.0)  # a donated result can be donated again
    np.testing.assert_array_equal(y, [0, 9, 5, 3])
    at_traced = irax.jit(lambda x, i: x.at[i].set(9.0), donate_argnums=0)  # i traced: a slice at a run-time offset
    text = at_traced.lower(y, 1).as_text("optimized")
    assert "tensor.insert_slice" in text and "scatter" not in text and "util.optimization_barrier" not in text
    z = at_traced(y, 3)
    np.testing.assert_array_equal(z, [0, 9, 5, 9])
    assert y.is_deleted()
    kept = jnp.asarray(np.ones(3, np.float32))
    irax.jit(lambda a, b: a.at[0].set(b[0]), donate_argnums=1)(kept, jnp.zeros(3))
    np.testing.assert_array_equal(kept, np.ones(3))  # only the donated argument is given up


@pytest.mark.parametrize("donate_view", [False, True], ids=["donate-the-array", "donate-the-view"])
@pytest.mark.parametrize("view", [lambda x: x.reshape(2, 2), lambda x: irax.jit(lambda a: a)(x)],
                         ids=["reshape", "returned-argument"])
def test_donating_an_array_leaves_its_views_alone(view, donate_view):
    """A reshape (or an argument a program returns) shares its device buffer
    with the array it came from; donating one must not change the other (it
    did: the call wrote into the shared buffer). As JAX's views have buffers
    of their own, the donated one is copied before the call writes into it."""
    x = jnp.asarray(np.arange(4, dtype=np.float32))
    y = view(x)
    donated, kept = (y, x) if donate_view else (x, y)
    out = irax.jit(lambda a: a.reshape(4).at[0].set(7.0), donate_argnums=0)(donated)
    np.testing.assert_array_equal(out, [7, 1, 2, 3])
    np.testing.assert_array_equal(np.asarray(kept).reshape(4), np.arange(4))
    assert donated.is_deleted() and not kept.is_deleted()


def _donating(donate_argnums):
    return irax.jit(lambda a, b: a.at[0].set(100.0) + b, donate_argnums=donate_argnums)


@pytest.mark.parametrize("call, problem", [
    (lambda x: _donating(0)(x, x), "Attempt to use a buffer that was previously donated in the same call"),
    (lambda x: _donating(1)(x, x), "Attempt to donate a buffer which is also used by the same call"),
    (lambda x: _donating((0, 1))(x, x), "Attempt to use a buffer that was previously donated in the same call"),
    (lambda x: irax.jit(lambda t: t[0].at[0].set(100.0) + t[1], donate_argnums=0)((x, x)), "previously donated"),
    (lambda x: _donating(0)(x, x.reshape(4)), "previously donated"),  # another array on the same buffer
    (lambda x: irax.jit(lambda a: a.at[0].set(100.0) + x, donate_argnums=0)(x), "closes over"),
], ids=["donated-then-read", "read-then-donated", "donated-twice", "in-a-pytree", "reshaped", "closed-over"])
def test_a_donated_buffer_read_again_in_the_call_is_refused_like_jax(call, problem):
    """It would be overwritten in place while read (200 instead of 101): JAX's
    error before anything runs, and the array is left as it was."""
    x = jnp.asarray(np.arange(4, dtype=np.float32))
    with pytest.raises(irax.errors.DeviceError, match=f"INVALID_ARGUMENT: .*{problem}.*jnp.copy") as error:
        call(x)
    assert isinstance(error.value, RuntimeError)  # as JAX's JaxRuntimeError
    assert not x.is_deleted()
    np.testing.assert_array_equal(x + 1, np.arange(4) + 1)
    np.testing.assert_array_equal(_donating(0)(x, jnp.copy(x)), [100, 2, 4, 6])  # the hint's way out


def test_the_donation_error_is_jaxs():
    x = jax.numpy.arange(4.0)
    with pytest.raises(jax.errors.JaxRuntimeError, match="Attempt to use a buffer that was previously donated in the same call"):
        jax.jit(lambda a, b: a.at[0].set(100.0) + b, donate_argnums=0)(x, x)


# ---------------------------------------------------------------------------
# Async dispatch (backends/runtime.py): a call returns before the device is
# done. The test holds the device's queue back with a call that never
# finishes until the test says so: everything queued after it must wait.

@pytest.fixture
def queued_not_inline(monkeypatch):
    # no call runs on the calling thread: -1, past the setting's checks (0 still inlines calls without inputs)
    monkeypatch.setitem(vars(irax.config), "irax_inline_bytes", -1)


def test_calls_return_before_the_device_is_done(queued_not_inline, monkeypatch):
    monkeypatch.setattr(runtime, "QUEUE_DEPTH", 3)  # room for the held call and the two below
    device = irax.devices("cpu")[0]
    f = irax.jit(lambda x: x * 2)
    x = jnp.arange(4.0)
    (f(x) + 1).block_until_ready()  # both programs loaded first: a program loads on a drained queue
    device._queued += 1  # a call still running; whatever follows waits for it
    gate = device._queued
    y = f(x)
    z = {"z": y + 1, "n": 1}  # an eager op on a result that is not there yet
    assert not y.is_ready() and not z["z"].is_ready()
    device._timeline.signal(gate)
    assert irax.block_until_ready(z) is z and y.is_ready() and z["z"].is_ready()
    np.testing.assert_array_equal(z["z"], np.arange(4.0) * 2 + 1)


def test_the_queue_holds_at_most_queue_depth_calls(queued_not_inline):
    device = irax.devices("cpu")[0]
    x = jnp.arange(4.0)
    (x * 2).block_until_ready()
    device._queued += runtime.QUEUE_DEPTH  # a full queue of calls still running
    gate = device._queued
    results = []
    caller = threading.Thread(target=lambda: results.append(x * 3))
    caller.start()
    caller.join(timeout=0.5)
    assert caller.is_alive() and not results  # the call waits for a place in the queue
    device._timeline.signal(gate)
    caller.join(timeout=60)
    np.testing.assert_array_equal(results[0], np.arange(4.0) * 3)


def test_the_inputs_of_a_queued_call_live_until_it_is_done(queued_not_inline):
    """An input dropped by the caller must not be freed while the device may still read it."""
    device = irax.devices("cpu")[0]
    f = irax.jit(lambda x: x * 2)
    x = (jnp.arange(4.0) + 1).block_until_ready()
    f(x).block_until_ready()
    device._queued += 1  # a call still running
    gate = device._queued
    y = f(x)
    del x  # the caller's last reference
    assert [call for call, _ in device._inputs] == [gate + 1]
    device._timeline.signal(gate)
    np.testing.assert_array_equal(y, (np.arange(4.0) + 1) * 2)
    f(y).block_until_ready()
    assert not device._inputs


def test_a_program_with_no_device_work_waits_for_the_calls_before_it(queued_not_inline):
    """IREE signals such a program's fence at once (here its result is empty):
    it must still not pass the calls queued before it."""
    device = irax.devices("cpu")[0]
    nothing = irax.jit(lambda x: x[:0])
    x = jnp.arange(4.0)
    nothing(x).block_until_ready()
    device._queued += 1  # a call still running
    gate = device._queued
    z = nothing(x)
    assert not z.is_ready()
    device._timeline.signal(gate)  # failed ("already signaled past") when z's call had skipped it
    assert z.block_until_ready().shape == (0,)
    np.testing.assert_array_equal(x * 2, np.arange(4.0) * 2)


def test_an_inline_call_runs_after_the_queued_calls_before_it():
    device = irax.devices("cpu")[0]
    nothing = irax.jit(lambda x: x[:0])
    x = jnp.arange(4.0)
    nothing(x).block_until_ready()
    device._queued += 1  # a call still running, done in 0.2 s
    gate, errors = device._queued, []

    def finish_it():
        try:
            device._timeline.signal(gate)
        except (RuntimeError, ValueError) as error:  # "already signaled past": the inline call did not wait
            errors.append(error)

    finisher = threading.Timer(0.2, finish_it)
    finisher.start()
    nothing(x)  # inline: waits for the queue
    reached = device._timeline.query()  # when it returned
    finisher.join()
    assert not errors and reached == gate
    assert device._queued == device._timeline.query() == gate  # done when it returns: no step of the timeline
    np.testing.assert_array_equal(x * 2, np.arange(4.0) * 2)


def _a_failed_call(reason):
    """(f, x, y): y = f(x) queued behind a call still running, then the
    timeline failed with `reason`, as IREE fails it when a queued call fails."""
    device = irax.devices("cpu")[0]
    f = irax.jit(lambda x: x * 2)
    x = jnp.arange(4.0)
    f(x).block_until_ready()
    device._queued += 1  # a call still running
    y = f(x)
    device._timeline.fail(reason)
    return f, x, y


def test_a_call_that_fails_on_the_device_loses_only_its_results(queued_not_inline):
    f, x, y = _a_failed_call("out of device memory")
    with pytest.raises(irax.errors.DeviceError, match="out of device memory.*lost"):
        y.block_until_ready()
    with pytest.raises(irax.errors.DeviceError):
        y + 1  # never computes on a lost result
    np.testing.assert_array_equal(f(x), np.arange(4.0) * 2)  # new calls run
    np.testing.assert_array_equal(x + 1, np.arange(4.0) + 1)


@pytest.mark.parametrize("reason", ["out of device memory", "DATA_LOSS"])
def test_a_failure_says_what_it_leaves_of_the_device(queued_not_inline, reason):
    """A failed call loses its results; the next calls run (the device
    itself still runs: Device._is_lost asks it)."""
    y = _a_failed_call(reason)[2]
    with pytest.raises(irax.errors.DeviceError, match="computations started from now on run normally"):
        y.block_until_ready()


# (In a process of its own: the CPU device it loses is replaced, and a test
# process's arrays on the old one would be lost with it.)
LOSES_ITS_DEVICE = """
import numpy as np, pytest, irax, irax.numpy as jnp
from irax.backends import runtime
vars(irax.config)["irax_inline_bytes"] = -1  # every call queued
old = irax.devices("{platform}")[0]
f = irax.jit(lambda v: v * 2)
x = jnp.arange(4.0)
committed = irax.device_put(jnp.arange(3.0), old)
f(x).block_until_ready()
asked = runtime.Device._is_lost
runtime.Device._is_lost = lambda self: {lost}  # IREE's error does not always say (a bare DATA_LOSS)
old._queued += 1  # a call still running, which then fails
y = f(x)
old._timeline.fail("DATA_LOSS; {reason}")
with pytest.raises(irax.errors.DeviceError, match="the device itself is lost.*has a new device in its place"):
    y.block_until_ready()
runtime.Device._is_lost = asked
new = irax.devices("{platform}")[0]
assert new is not old and repr(new) == repr(old) == "{platform_title}Device(id=0)"
np.testing.assert_array_equal(f(jnp.arange(4.0)), [0, 2, 4, 6])  # on the new device, the default one now
assert jnp.ones(2).device is new
with pytest.raises(irax.errors.DeviceError, match="{platform_title}Device.id=0.: the device itself is lost .*put the arrays there"):
    committed + 1  # computes where it is committed
try:  # moved to the default device where the lost one's memory can still be read (the CPU's), else lost
    np.testing.assert_array_equal(x + 1, [1, 2, 3, 4])
except irax.errors.DeviceError as error:
    assert "{platform}" != "cpu" and "the device itself is lost" in str(error)
print("replaced")
"""


@pytest.mark.parametrize("platform, reason, lost", [("cpu", "[vkSignalSemaphore] VK_ERROR_DEVICE_LOST", False),
                                                     ("cpu", "", True), ("vulkan", "", True)])
def test_a_lost_device_is_replaced(platform, reason, lost):
    """A device lost for good (lavapipe, on IREE's out-of-order semaphore
    signal) is said to be lost, whether IREE's error says so or the device
    no longer runs an empty command; a new device takes its place (the
    same id, the default device), and the arrays on the old one raise
    when used."""
    device_or_skip(platform)
    code = LOSES_ITS_DEVICE.format(lost=lost, reason=reason, platform=platform, platform_title=platform.title())
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "IRAX_PLATFORMS": platform})
    assert done.returncode == 0 and "replaced" in done.stdout, done.stderr[-3000:]


ARRAYS_OUTLIVE_THE_DEVICE = """
import numpy as np, irax, irax.numpy as jnp
from irax import lax
rng = np.random.default_rng(0)
W = jnp.asarray(rng.normal(0, 0.1, (128, 128)).astype(np.float32))
xs, h0 = jnp.asarray(rng.normal(size=(200, 8, 128)).astype(np.float32)), jnp.zeros((8, 128))
run = irax.jit(lambda W: lax.scan(lambda h, x: (jnp.tanh(h @ W + x),) * 2, h0, xs)[1].sum())
for _ in range(30):
    total = run(W).block_until_ready()
print("ran")
"""


def test_a_process_whose_arrays_outlive_its_device_exits_cleanly():
    """The interpreter's teardown frees a script's arrays and irax's devices
    in no particular order; an IREE buffer freed after its device crashed
    the process at exit (this script: 3 runs in 8), so devices are kept
    alive to the end."""
    for _ in range(5):
        done = subprocess.run([sys.executable, "-c", ARRAYS_OUTLIVE_THE_DEVICE], capture_output=True, text=True,
                              timeout=300, env={**os.environ, "IRAX_PLATFORMS": "cpu"})
        assert done.returncode == 0 and done.stdout == "ran\n", (done.returncode, done.stderr[-2000:])


@pytest.mark.parametrize("name", ["cpu", "vulkan"])
def test_a_device_that_runs_is_not_lost(name):
    device = device_or_skip(name)
    assert not device._is_lost()
    np.testing.assert_array_equal(irax.device_put(np.arange(3.0), device) * 2, [0, 2, 4])  # and runs the next call


class _OutOfRange:
    """A VmContext whose calls fail as IREE fails one with OUT_OF_RANGE."""

    def __init__(self, *args):
        pass

    def invoke(self, *args):
        raise IndexError("Error invoking function: OUT_OF_RANGE; indirect buffer reference slot 0 is out range")


@pytest.mark.parametrize("queue", ["inline", "queued"])
def test_an_iree_error_of_any_type_fails_only_its_call(monkeypatch, queue):
    """IREE types its errors by status code: OUT_OF_RANGE is an IndexError
    (seen from a program IREE 3.13 miscompiled), which escaped as itself and
    left the device's timeline waiting for the failed call: the next call hung."""
    monkeypatch.setitem(vars(irax.config), "irax_inline_bytes", 1 << 20 if queue == "inline" else -1)
    with monkeypatch.context() as patch:
        patch.setattr(runtime.rt, "VmContext", _OutOfRange)
        failing = irax.jit(lambda x: x * 3)
        for _ in range(2):
            with pytest.raises(irax.errors.DeviceError, match="OUT_OF_RANGE"):
                failing(X).block_until_ready()
    np.testing.assert_array_equal(irax.jit(lambda x: x * 4)(X), X * 4)


def test_a_failure_of_the_calls_own_fence_reaches_the_timeline(queued_not_inline, monkeypatch):
    """A queued call signals a fence of its own, joined into the timeline by a barrier."""
    device = irax.devices("cpu")[0]
    f = irax.jit(lambda x: x * 2)
    x = jnp.arange(4.0)
    f(x).block_until_ready()
    fences, join = [], device._join
    monkeypatch.setattr(device, "_join", lambda call, fence: (fences.append(fence), join(call, fence)))
    device._queued += 1  # a call still running
    gate = device._queued
    y = f(x)
    fences[0].fail("the kernel failed")
    device._timeline.signal(gate)
    with pytest.raises(irax.errors.DeviceError, match="the kernel failed"):
        y.block_until_ready()
    np.testing.assert_array_equal(f(x), np.arange(4.0) * 2)


def test_a_program_loads_once_the_queue_is_drained():
    """Loading runs the module's initializer (its own queued work and host
    waits), which lost the Vulkan device when calls were still queued."""
    device = irax.devices("cpu")[0]
    vmfb = device.backend.compile(str(irax.jit(jnp.sin).lower(X).as_text("optimized")))
    device._queued += 1  # a call still running
    gate, loaded = device._queued, []
    loader = threading.Thread(target=lambda: loaded.append(device.load(vmfb)))
    loader.start()
    loader.join(timeout=0.3)
    assert loader.is_alive() and not loaded
    device._timeline.signal(gate)
    loader.join(timeout=60)
    assert loaded and device._finished >= gate


def test_a_call_the_device_rejects_does_not_hold_up_the_next(queued_not_inline):
    device = irax.devices("cpu")[0]
    program = device.load(device.backend.compile(str(irax.jit(jnp.sin).lower(X).as_text("optimized"))))
    with pytest.raises(irax.errors.DeviceError, match="expected 3 arguments"):
        program([], 1)  # not queued: no buffers
    np.testing.assert_allclose(jnp.cos(X), np.cos(X), rtol=1e-6)  # queued after it, runs


def _wait_for_child(pid, timeout_s=60):
    """The exit code of forked child `pid`, which is killed if it runs past `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    pytest.fail("the forked child hung")


def test_a_forked_child_runs_its_calls_on_the_calling_thread(queued_not_inline):
    """os.fork() leaves the child without the device's threads, so its first
    queued call waited forever. The child now runs every call on its CPU
    device's inline twin, even a call queued before the fork is done there;
    a device without a twin (Vulkan) refuses work in the child, which the
    parent is warned of at fork, as JAX warns."""
    try:
        vulkan = irax.devices("vulkan")[0]
    except RuntimeError:
        vulkan = None
    f = irax.jit(lambda x: jnp.tanh(x) * 2)
    x = jnp.arange(4.0)
    in_flight = f(x)  # queued (no call runs inline here) and not waited for
    with warnings.catch_warnings(record=True) as warned:
        warnings.simplefilter("always")
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        code = 3
        try:
            cpu_works = (np.allclose(in_flight, np.tanh(np.arange(4)) * 2)
                         and np.allclose(f(x + 1), np.tanh(np.arange(4) + 1) * 2))
            code = 0 if cpu_works else 1
            if vulkan is not None:
                try:
                    irax.device_put(np.ones(2, np.float32), vulkan)
                    code = 2
                except irax.errors.DeviceError as error:
                    code = code if "forked (os.fork())" in str(error) else 2
        finally:
            os._exit(code)
    assert _wait_for_child(pid) == 0  # 1: wrong values, 2: Vulkan did not refuse, 3: an error
    fork_warnings = [str(w.message) for w in warned if "and irax is multithreaded" in str(w.message)]  # (not JAX's)
    assert len(fork_warnings) == (vulkan is not None)
    assert all(w.startswith("os.fork() was called. os.fork() is incompatible with multithreaded code")
               and "VulkanDevice(id=0)" in w for w in fork_warnings)
    np.testing.assert_allclose(f(x), np.tanh(np.arange(4)) * 2, rtol=1e-6)  # the parent carries on


# ---------------------------------------------------------------------------
# IRAX_LOG_COMPILES says why a function is compiled again.

def test_log_compiles_gives_the_reason(monkeypatch, capsys):
    monkeypatch.setattr(irax.config, "irax_log_compiles", True)

    def scale(x, n, bias=0.0):
        return x * n + bias

    f = irax.jit(scale, static_argnums=1)
    f(X, 2)
    f(X, 2)  # cached: no line
    f(X[:2], 2)
    f(X[:2], 3)
    f(X[:2], 3, bias=1.0)
    f(X[:2].astype(np.int32), 3, bias=1.0)
    lines = [line for line in capsys.readouterr().err.splitlines() if "compiling" in line]
    assert lines == [
        "irax: compiling jit(scale) for CpuDevice(id=0): first call",
        "irax: compiling jit(scale) for CpuDevice(id=0): new argument types args[0]: float32[2,4] (was float32[3,4])",
        "irax: compiling jit(scale) for CpuDevice(id=0): static arguments (args[1]=3) (was (args[1]=2))",
        "irax: compiling jit(scale) for CpuDevice(id=0): new argument structure PyTreeDef(((*,), {'bias': *})) "
        "(was PyTreeDef(((*,), {})))",
        "irax: compiling jit(scale) for CpuDevice(id=0): new argument types args[0]: int32[2,4] (was float32[2,4])",
    ]


def test_arrays_are_freed_as_soon_as_they_are_dropped():
    """Without waiting for the garbage collector: a reference cycle anywhere
    on the call path (a recursive closure holding the flattened arguments
    was one) kept every big argument alive until gc ran."""
    import gc
    import weakref

    calls = {"jit": irax.jit(lambda x: x + 1), "eager": lambda x: x + 1, "grad": irax.grad(lambda x: jnp.sum(x * x)),
             "jit of grad": irax.jit(irax.grad(lambda x: jnp.sum(jnp.sin(x)))),
             "fori_loop": lambda x: irax.lax.fori_loop(0, 2, lambda i, c: c * 2, x)}
    for name, call in calls.items():
        call(jnp.ones(3))  # traced and compiled
        gc.disable()
        try:
            x = jnp.ones(3)
            y = call(x)
            dropped = weakref.ref(x), weakref.ref(y)
            del x, y
            assert [r() for r in dropped] == [None, None], name
        finally:
            gc.enable()


def test_numpy_data_met_while_tracing_is_an_argument():
    """No dense data in a program (array.constant): IREE's load-time work on
    it lost lavapipe's device (docs/architecture.md); a splat stays a constant."""
    data = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    x = X[:2, :3]
    f = irax.jit(lambda x: x * data + np.full((2, 3), 2.0, np.float32))
    text = f.lower(x).as_text("optimized")
    assert "dense<[" not in text and "dense<2.0" in text
    assert text.count("tensor<2x3xf32>, %arg1: tensor<2x3xf32>") == 1
    np.testing.assert_allclose(np.asarray(f(x)), x * data + 2, rtol=1e-6)


# ---------------------------------------------------------------------------
# Warm calls (jit.py's warm path, executable.run): a call whose arguments are
# all Arrays skips the staging machinery, and must still check what it checks.

def test_a_warm_call_tells_signatures_apart_as_the_first_did():
    f = counting(lambda x: irax.tree_util.tree_map(lambda v: v * 2, x))
    jf = irax.jit(f)
    strong, weak = jnp.ones(()), jnp.asarray(1.0)
    for x in (strong, strong, weak, weak, jnp.ones(3), (strong, weak), [strong, weak], (strong, weak)):
        out = jf(x)
    assert len(f.calls) == 5  # float32[], ~float32[] (weak), float32[3], a tuple, a list
    assert [y.weak_type for y in out] == [False, True]
    jf(X)
    irax.config.update("irax_passes", "default,cse")
    try:
        jf(X)  # another pipeline: another program
    finally:
        irax.config.update("irax_passes", "default")
    irax.clear_caches()
    jf(X)
    assert len(f.calls) == 8


def test_a_warm_call_refuses_a_deleted_array_and_donates():
    step = irax.jit(lambda x: x + 1, donate_argnums=0)
    x = jnp.zeros(4)
    for i in range(1, 4):
        old, x = x, step(x)
        assert old.is_deleted()
        np.testing.assert_array_equal(x, np.full(4, i))
    with pytest.raises(RuntimeError, match=r"Array has been deleted with shape=float32\[4\]"):
        step(old)
    with pytest.raises(irax.errors.DeviceError, match="previously donated"):
        irax.jit(lambda a, b: a.at[0].set(1.0) + b, donate_argnums=0)(x, x)


@pytest.mark.parametrize("program", [
    lambda a, b: (a * 1.0, b + 1), lambda a, b: (jnp.where(True, a, b), b),
    lambda a, b: (irax.lax.cond(True, lambda t: t, lambda t: t * 2, a), b),
], ids=["times-one", "where-true", "cond"])
def test_a_result_iree_folds_to_an_argument_is_its_view(program):
    """IREE returns the argument itself for `a * 1.0` and the like, so the
    results that may be views are all those computed from an argument of
    their size (staging._aliases), not only reshapes: donating the argument
    later must leave the view alone."""
    x = jnp.asarray(np.arange(4, dtype=np.float32))
    f = irax.jit(program)
    for _ in range(2):  # the first call and a warm one
        view, _ = f(x, jnp.ones(4))
        out = irax.jit(lambda a: a.at[0].set(7.0), donate_argnums=0)(x)
        np.testing.assert_array_equal(view, np.arange(4))
        np.testing.assert_array_equal(out, [7, 1, 2, 3])
        x = jnp.asarray(np.arange(4, dtype=np.float32))


def test_only_results_computed_from_an_argument_of_their_size_are_compared():
    from irax.frontend import staging
    x = jnp.ones(4)
    irax.jit(lambda a, b, c: (a + b, a.reshape(2, 2), jnp.sum(a), c * 2.0, jnp.zeros(4)))(x, x, jnp.ones(3))
    assert list(staging._staged._entries.values())[-1][0].aliases == ((0, 1), (0,), (), (2,), ())


def test_numpy_on_a_tracer_raises_tracer_array_conversion_error_as_jax():
    """thinking_in_jax.md's np.sin inside jit: JAX's TracerArrayConversionError, by its words."""
    for lib in (irax, jax):
        for f in (lambda x: np.sin(x), lambda x: np.asarray(x)):
            with pytest.raises(lib.errors.TracerArrayConversionError,
                               match=r"The numpy.ndarray conversion method __array__\(\) was called on traced array "
                                     r"with shape float32\[3\]"):
                lib.jit(f)(lib.numpy.ones(3))


def test_a_leaked_tracer_has_the_attributes_of_jax_s():
    """A tracer kept past its trace (jit-compilation.md's global_list): its
    shape and dtype read, `hasattr`/`getattr(t, name, default)` of what it
    lacks are False/the default, as on JAX's; computing with it is the error."""
    for lib in (irax, jax):
        leaked = []
        lib.jit(lambda x: leaked.append(x) or x + 1)(1.0)
        t = leaked[0]
        assert t.shape == () and t.dtype == np.float32
        assert not hasattr(t, "_fields") and getattr(t, "foo", None) is None
        with pytest.raises(lib.errors.UnexpectedTracerError):
            t + 1


def test_bool_of_a_tracer_raises_tracer_bool_conversion_error_as_jax():
    """JAX's subclass of ConcretizationTypeError, which code catches by name."""
    for lib in (irax, jax):
        with pytest.raises(lib.errors.TracerBoolConversionError) as error:
            lib.jit(lambda x: 1 if x > 0 else 2)(1.0)
        assert isinstance(error.value, lib.errors.ConcretizationTypeError)
