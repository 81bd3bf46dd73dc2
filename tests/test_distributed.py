"""Several processes over MPI (irax.distributed): each test launches
`mpiexec -n 2` on this file's scenarios (below, run as a script) or on
examples/data_parallel.py. Skipped where mpi4py or mpiexec is absent
(pip install 'irax[mpi]')."""
import gc
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

import irax
import irax.numpy as jnp
from irax import lax
from irax.frontend.array import Array
from irax.frontend.core import ShapedArray

ROOT = Path(__file__).parents[1]
MPIEXEC = shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))

needs_mpi = pytest.mark.skipif(importlib.util.find_spec("mpi4py") is None or MPIEXEC is None,
                               reason="needs mpi4py and mpiexec: pip install 'irax[mpi]'")


def _mpiexec(*args, processes=2, timeout_s="20", env=None):
    """Run `args` (after python) in `processes` processes: (return code, stdout, stderr)."""
    environment = {**os.environ, "IRAX_DISTRIBUTED_TIMEOUT": timeout_s, **(env or {})}
    done = subprocess.run([MPIEXEC, "-n", str(processes), sys.executable, *args], cwd=ROOT, env=environment,
                          capture_output=True, text=True, timeout=300)
    return done.returncode, done.stdout, done.stderr


def _seconds(out) -> int:
    """How long process 0 waited before it failed, as the scenario printed it.
    (Compared with the timeout, not with a second: under load, tracing and
    compiling the program alone can take several.)"""
    return int(re.search(r"seconds: (\d+)", out).group(1))


def test_one_process_needs_no_mpi():
    # `import irax` and pmap load no MPI (importing mpi4py.MPI starts it); one process is index 0 of 1
    code = ("import sys, irax, irax.numpy as jnp; from irax import lax; "
            "assert irax.pmap(lambda x: lax.psum(x, 'i'), 'i')(jnp.ones((1, 2))).shape == (1, 2); "
            "assert (irax.process_index(), irax.process_count()) == (0, 1); assert 'mpi4py.MPI' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def test_one_process_has_every_device():
    assert irax.device_count() == irax.local_device_count() == len(irax.devices())
    assert irax.local_devices(process_index=0) == irax.local_devices() == irax.devices()
    assert all(d.process_index == 0 for d in irax.devices())
    with pytest.raises(ValueError, match="Unknown process_index 1"):
        irax.local_devices(process_index=1)


def test_device_empty_is_device_memory_that_outlives_its_numpy_view():
    # (Device.empty: where all_reduce receives a large leaf's total) filled through the view, read by a program
    # after the view is gone and NumPy has reused freed memory: the buffer holds its memory (DLPack's deleter)
    device = jnp.zeros(()).device
    buffer, view = device.empty(np.float32, (2, 3))
    assert view.ctypes.data % 64 == 0 and view.flags.writeable
    view[...] = np.arange(6.0).reshape(2, 3)
    del view
    gc.collect()
    junk = [np.full(6, -1.0, np.float32) for _ in range(100)]
    x = Array(buffer, ShapedArray((2, 3), np.dtype(np.float32)), device)
    np.testing.assert_array_equal(x + 1, np.arange(1.0, 7.0).reshape(2, 3))
    assert len(junk) == 100


def test_device_empty_reuses_memory_only_once_it_is_free():
    # (its memory is kept for the next buffer of its size: never while a buffer or view still holds it)
    device = jnp.zeros(()).device
    buffer, view = device.empty(np.float32, (3, 5))
    view[...] = 1.0
    address = view.ctypes.data
    del view
    gc.collect()
    other, other_view = device.empty(np.float32, (3, 5))  # the first buffer still holds its memory
    assert other_view.ctypes.data != address
    other_view[...] = 7.0
    x = Array(buffer, ShapedArray((3, 5), np.dtype(np.float32)), device)
    np.testing.assert_array_equal(x * 2, np.full((3, 5), 2.0))
    del buffer, x
    gc.collect()
    again, again_view = device.empty(np.float32, (3, 5))
    assert again_view.ctypes.data == address  # free now: reused
    np.testing.assert_array_equal(Array(other, ShapedArray((3, 5), np.dtype(np.float32)), device), 7.0)


@needs_mpi
def test_collectives_across_two_processes():
    code, out, err = _mpiexec(__file__, "collectives", env={"IRAX_CPU_DEVICES": "2"})
    assert code == 0, out + err
    assert sorted(re.findall(r"ok\d", out)) == ["ok0", "ok1"], out + err  # (mpiexec may interleave their lines)


@needs_mpi
def test_a_long_tree_of_other_shapes_is_told_apart():
    code, out, err = _mpiexec(__file__, "long_tree")
    assert code == 0 and sorted(re.findall(r"ok\d", out)) == ["ok0", "ok1"], out + err


@needs_mpi
def test_a_process_alone_returns_its_own_leaves():
    code, out, err = _mpiexec(__file__, "alone", processes=1)
    assert code == 0 and "alone ok" in out, out + err


@needs_mpi
def test_a_process_that_raises_makes_the_other_fail_at_once():
    code, out, err = _mpiexec(__file__, "raises", timeout_s="60")
    assert "process 0: CollectiveError: process 0 stopped at collective #1 all_reduce sum float32[3]: another " \
           "process failed (process 1: ValueError: rank 1 fails)" in out, out + err
    assert _seconds(out) < 30, out  # not the 60 s timeout


@needs_mpi
def test_a_failing_pmap_device_makes_the_other_process_fail_at_once():
    code, out, err = _mpiexec(__file__, "pmap_raises", timeout_s="60")
    # (the device's host call raised it: DeviceError, as a failing collective in one process)
    assert "CollectiveError: process 0 stopped at collective #1 all_reduce sum float32[3]: another process failed " \
           "(process 1: a device of its pmap failed)" in out, out + err
    assert _seconds(out) < 30, out  # not the 60 s timeout


@needs_mpi
def test_a_process_that_dies_ends_the_run():
    # (mpiexec ends the other processes; without it, they would time out as below)
    start = time.monotonic()
    code, out, err = _mpiexec(__file__, "dies", timeout_s="60")
    assert code != 0 and time.monotonic() - start < 30, out + err


@needs_mpi
def test_a_process_that_does_not_come_makes_the_other_fail_within_the_timeout():
    code, out, err = _mpiexec(__file__, "hangs", timeout_s="2")
    assert ("process 0: CollectiveError: process 0 waited 2 s at collective #1 all_reduce sum float32[3] for "
            "process(es) [1], which did not reach it") in out, out + err


@needs_mpi
def test_data_parallel_example_matches_one_process_on_the_whole_batches(tmp_path):
    steps = ["--steps", "5", "--batch", "32", "--width", "32"]
    code, out, err = _mpiexec("examples/data_parallel.py", *steps, "--save", str(tmp_path / "two.npz"))
    assert code == 0, out + err
    assert "2 process(es)" in out
    done = subprocess.run([sys.executable, "examples/data_parallel.py", *steps, "--save", str(tmp_path / "one.npz")],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    one, two = np.load(tmp_path / "one.npz"), np.load(tmp_path / "two.npz")
    assert len(one.files) == len(two.files) == 6
    for name in one.files:
        np.testing.assert_allclose(two[name], one[name], rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------
# The scenarios, each run in 2 processes by mpiexec.

def _collectives():
    import irax.distributed  # (here, not above: importing it starts MPI, which pytest's process must not)

    assert irax.device_count() == irax.local_device_count() == 2  # (IRAX_CPU_DEVICES=2) one process so far
    with pytest.raises(ValueError, match="num_processes=3 differs from MPI's 2"):
        irax.distributed.initialize(num_processes=3)
    irax.distributed.initialize(process_id=int(os.environ.get("PMI_RANK", os.environ.get("OMPI_COMM_WORLD_RANK"))))
    with pytest.raises(RuntimeError, match="only be called once"):
        irax.distributed.initialize()
    rank, size = irax.process_index(), irax.process_count()
    assert size == 2 and irax.distributed.is_initialized()
    _devices_of_every_process(rank)
    # host-level, on a pytree of irax Arrays and NumPy arrays
    tree = {"a": jnp.full((2, 3), rank + 1.0), "b": np.array([rank, 5 - rank], np.int32)}
    total = irax.distributed.all_reduce(tree)
    assert isinstance(total["a"], irax.Array) and total["a"].dtype == jnp.float32
    np.testing.assert_array_equal(total["a"], np.full((2, 3), 3.0))
    np.testing.assert_array_equal(total["b"], [1, 9])
    mean = irax.distributed.all_reduce(tree, op="mean")
    np.testing.assert_array_equal(mean["b"], [0.5, 4.5])
    assert mean["b"].dtype == np.float32
    np.testing.assert_array_equal(irax.distributed.all_reduce(tree, op="max")["b"], [1, 5])
    np.testing.assert_array_equal(irax.distributed.all_reduce(tree, op="min")["a"], np.ones((2, 3)))
    gathered = irax.distributed.process_allgather(tree)
    np.testing.assert_array_equal(gathered["b"], [[0, 5], [1, 4]])
    np.testing.assert_array_equal(irax.distributed.process_allgather(tree, tiled=True)["b"], [0, 5, 1, 4])
    irax.distributed.sync_global_devices("here")
    _dtypes_mpi_lacks(rank)
    _large_leaves_land_in_device_buffers(rank)
    _mean_is_the_division_by_the_count(rank)
    # pmap over 2 devices in each of 2 processes: an axis of 4
    xs = np.arange(2.0 * 3).reshape(2, 3).astype(np.float32) + 10 * rank

    def f(x):
        return (lax.psum(x, "i"), lax.all_gather(x, "i"), lax.ppermute(x, "i", [(0, 3), (3, 1), (1, 0)]),
                lax.axis_index("i"))
    every = np.concatenate([np.arange(6.0).reshape(2, 3) + 10 * r for r in range(2)]).astype(np.float32)
    total, gathered, permuted, index = irax.pmap(f, axis_name="i")(xs)
    np.testing.assert_array_equal(irax.pmap(f, axis_name="i", devices=irax.devices())(xs)[0], total)  # (its own)
    np.testing.assert_allclose(total, np.broadcast_to(every.sum(0), (2, 3)))
    np.testing.assert_allclose(gathered, np.broadcast_to(every, (2, 4, 3)))
    received = {0: every[1], 1: every[3], 2: np.zeros(3), 3: every[0]}
    np.testing.assert_allclose(permuted, [received[2 * rank], received[2 * rank + 1]])
    np.testing.assert_array_equal(index, [2 * rank, 2 * rank + 1])
    # grad inside pmap: pmean's transpose is one more collective across the processes
    grads = irax.pmap(lambda x: irax.grad(lambda v: lax.pmean((v ** 2).sum(), "i"))(x), "i")(xs)
    np.testing.assert_allclose(grads, 2 * xs)
    # mismatched shapes: both processes raise, naming both
    try:
        irax.distributed.all_reduce(np.zeros(rank + 2, np.float32))
    except irax.distributed.CollectiveError as error:
        assert re.search(r"process 0: #(\d+) all_reduce sum float32\[2\]; process 1: #\1 all_reduce sum float32\[3\]",
                         str(error)), error
    else:
        raise AssertionError("no error for different shapes")
    irax.distributed.shutdown()
    assert (irax.process_index(), irax.process_count(), irax.device_count()) == (0, 1, 2)
    assert [d.process_index for d in irax.devices()] == [0, 0]
    print(f"ok{rank}")


def _devices_of_every_process(rank):
    # as JAX: devices() and device_count() are every process's, local_devices() and local_device_count() this one's
    assert irax.device_count() == 4 and irax.local_device_count() == 2
    every, mine = irax.devices(), irax.local_devices()
    assert [d.process_index for d in every] == [0, 0, 1, 1] and every[2 * rank:2 * rank + 2] == mine
    assert all(d.process_index == rank for d in mine) and jnp.zeros(()).device in mine
    others = irax.local_devices(process_index=1 - rank)
    assert others == every[2 * (1 - rank):2 * (1 - rank) + 2]
    assert repr(others) == f"[CpuDevice(id=0, process_index={1 - rank}), CpuDevice(id=1, process_index={1 - rank})]"
    assert irax.local_devices(process_index=rank) == mine
    with pytest.raises(ValueError, match="Unknown process_index 5"):
        irax.local_devices(process_index=5)


def _dtypes_mpi_lacks(rank):
    # bfloat16, float8 (float16 too where MPI lacks it) travel as their bits and
    # are reduced in float32, rounded once; booleans as bytes (a sum counts them, as psum)
    per_rank = [{"bf16": np.array([1, 1 + 2 ** -8, 3, -2], ml_dtypes.bfloat16) * (r + 1),
                 "f8": np.array([0.5, 0.125 * (r + 1), 448, -1], ml_dtypes.float8_e4m3fn),
                 "f16": np.array([1.5, r], np.float16), "flag": np.array([r == 0, False, True])} for r in range(2)]
    tree = {k: jnp.asarray(v) if k != "flag" else v for k, v in per_rank[rank].items()}
    total = irax.distributed.all_reduce(tree)
    for k in ("bf16", "f8", "f16"):
        assert isinstance(total[k], irax.Array) and total[k].dtype == per_rank[0][k].dtype, (k, total[k])
        expected = (per_rank[0][k].astype(np.float32) + per_rank[1][k].astype(np.float32)).astype(per_rank[0][k].dtype)
        np.testing.assert_array_equal(np.asarray(total[k]).view(np.uint8), expected.view(np.uint8))
    assert total["flag"].dtype == np.int32 and total["flag"].tolist() == [1, 0, 2]
    np.testing.assert_array_equal(irax.distributed.all_reduce(tree, op="max")["bf16"],
                                  np.maximum(per_rank[0]["bf16"], per_rank[1]["bf16"]))
    np.testing.assert_array_equal(irax.distributed.all_reduce(tree, op="min")["flag"], [False, False, True])
    assert irax.distributed.all_reduce(tree, op="mean")["bf16"].dtype == ml_dtypes.bfloat16
    gathered = irax.distributed.process_allgather(tree)
    for k in per_rank[0]:
        np.testing.assert_array_equal(gathered[k].view(np.uint8), np.stack([p[k] for p in per_rank]).view(np.uint8))
    # in a pmap across the processes: psum, all_gather, ppermute of bfloat16
    xs = jnp.asarray(per_rank[rank]["bf16"][None])
    total, gathered, permuted = irax.pmap(
        lambda x: (lax.psum(x, "i"), lax.all_gather(x, "i"), lax.ppermute(x, "i", [(0, 1), (1, 0)])), "i")(xs)
    np.testing.assert_array_equal(total[0], (per_rank[0]["bf16"].astype(np.float32) +
                                             per_rank[1]["bf16"].astype(np.float32)).astype(ml_dtypes.bfloat16))
    np.testing.assert_array_equal(gathered[0], np.stack([p["bf16"] for p in per_rank]))
    np.testing.assert_array_equal(permuted[0], per_rank[1 - rank]["bf16"])


def _large_leaves_land_in_device_buffers(rank):
    # a leaf of 1 MiB or more: MPI writes its total into a new device buffer (Device.empty), mean divides there
    per_rank = [np.arange(2 ** 18, dtype=np.float32) * (r + 1) for r in range(2)]
    big = jnp.asarray(per_rank[rank])
    mean = irax.distributed.all_reduce({"big": big}, op="mean")["big"]
    assert isinstance(mean, irax.Array) and mean.device is big.device and mean.dtype == np.float32
    np.testing.assert_array_equal(mean, per_rank[0] * 1.5)
    np.testing.assert_array_equal(mean * 2, per_rank[0] * 3)  # (a program reads the buffer)
    np.testing.assert_array_equal(big, per_rank[rank])  # (the operand is untouched)
    # bfloat16: reduced in float32, written into its bfloat16 buffer (values exact in bfloat16)
    half = jnp.asarray((np.arange(2 ** 19) % 64 * (rank + 1)).astype(ml_dtypes.bfloat16))
    mean = irax.distributed.all_reduce(half, op="mean")
    assert mean.dtype == ml_dtypes.bfloat16 and mean.device is half.device
    np.testing.assert_array_equal(mean, (np.arange(2 ** 19) % 64 * 1.5).astype(ml_dtypes.bfloat16))
    # a large leaf and small ones of two dtypes: one collective (one exchange of headers)
    world = irax.distributed._world()
    tree = {"big": big, "w": jnp.full((3, 2), rank + 1.0), "n": jnp.array([rank, 1], jnp.int32), "b": jnp.ones(2)}
    calls = world._calls
    total = irax.distributed.all_reduce(tree)
    assert world._calls == calls + 1
    np.testing.assert_array_equal(total["big"], per_rank[0] * 3)
    np.testing.assert_array_equal(total["w"], np.full((3, 2), 3.0))
    np.testing.assert_array_equal(total["n"], [1, 2])
    np.testing.assert_array_equal(total["b"], [2.0, 2.0])


def _mean_is_the_division_by_the_count(rank):
    # op="mean" over a power-of-two count multiplies float32 / float64 totals by the reciprocal (faster than
    # dividing): bit for bit the division, subnormal and odd totals included; other counts and dtypes divide
    from irax.distributed import _divide
    tiny = np.finfo(np.float32).smallest_subnormal
    values = np.array([1, 3 * tiny, tiny, -5 * tiny, 1 + 2 ** -23, 3.4e38, np.inf, 7, 2 ** -126], np.float32)
    per_rank = [values * np.float32(r + 1) for r in range(2)]
    for leaf in (values * np.float32(rank + 1), jnp.asarray(np.resize(per_rank[rank], 2 ** 18))):  # packed, own buffer
        mean = np.asarray(irax.distributed.all_reduce(leaf, op="mean"))
        expected = np.resize((per_rank[0] + per_rank[1]) / np.float32(2), mean.shape)
        np.testing.assert_array_equal(mean.view(np.uint32), expected.view(np.uint32))
    for total, count, dtype in ((values.astype(np.float64), 4, np.float64), (values.copy(), 3, np.float32),
                                (np.array([3, 7], np.int32), 2, np.float32), (values.astype(np.float16), 2, np.float16)):
        expected = np.true_divide(total, count, dtype=dtype)
        result = _divide(total, count, np.dtype(dtype))
        assert result.dtype == dtype
        np.testing.assert_array_equal(result.view(f"u{result.itemsize}"), expected.view(f"u{result.itemsize}"))


def _long_tree():
    # the header names the leaves, not the buffer they are packed into; a tree too long to name is
    # named by a digest, which still tells apart shapes of one size
    import irax.distributed

    irax.distributed.initialize()
    rank = irax.process_index()
    leaves = [jnp.zeros(4) for _ in range(20)] + [jnp.zeros((2, 3) if rank else (3, 2))]
    with pytest.raises(irax.distributed.CollectiveError, match=r"all_reduce sum 21 arrays, digest \w+; process 1"):
        irax.distributed.all_reduce(leaves)
    print(f"ok{rank}")


def _fails(how):
    import irax.distributed

    irax.distributed.initialize()

    def fail_on_1(v):
        if irax.process_index() == 1:
            raise ValueError("rank 1's device fails")
        return v
    failing_pmap = irax.pmap(lambda x: lax.psum(irax.pure_callback(fail_on_1, x, x), "i"), "i")
    if irax.process_index() == 1:
        if how == "pmap_raises":
            failing_pmap(np.ones((1, 3), np.float32))
        if how == "dies":
            os._exit(3)  # no word to the others
        if how == "hangs":
            time.sleep(4)  # longer than IRAX_DISTRIBUTED_TIMEOUT, then ends without the collective
            return
        raise ValueError("rank 1 fails")
    start = time.monotonic()
    try:
        irax.distributed.all_reduce(np.ones(3, np.float32)) if how != "pmap_raises" else failing_pmap(np.ones((1, 3)))
    except Exception as error:
        print(f"process 0: {type(error).__name__}: {error}\nseconds: {time.monotonic() - start:.0f}", flush=True)


def _alone():
    # one process: each leaf is its own total, returned as it is, but for the dtypes a reduction changes
    import irax.distributed

    irax.distributed.initialize()
    tree = {"a": jnp.arange(3.0), "b": [jnp.ones(2, jnp.int32)]}
    assert irax.distributed.all_reduce(tree) is tree
    mean = irax.distributed.all_reduce(tree, op="mean")
    assert mean["b"][0].dtype == np.float32 and mean["a"] is not tree["a"]
    np.testing.assert_array_equal(mean["a"], [0, 1, 2])
    assert irax.distributed.all_reduce(jnp.array([True, True])).dtype == np.int32
    print("alone ok")


if __name__ == "__main__":
    {"collectives": _collectives, "alone": _alone, "long_tree": _long_tree}.get(sys.argv[1], lambda: _fails(sys.argv[1]))()
