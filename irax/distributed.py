"""Several processes, over MPI (jax.distributed, and jax.experimental.multihost_utils's collectives):

    mpiexec -n 2 python train.py             # pip install 'irax[mpi]' (mpi4py and the mpich wheel)

    irax.distributed.initialize()            # process count and index from MPI
    irax.process_index(), irax.process_count()
    grads = irax.distributed.all_reduce(grads, op="mean")   # a pytree, averaged over the processes

Importing this module loads MPI (mpi4py, which initializes it); `import irax`
alone does not. After `initialize()`, a pmap's collectives span the devices
of every process (irax/frontend/processes.py), and the host-level
collectives below combine pytrees of arrays across processes: `all_reduce`
(sum, mean, max, min), `process_allgather` and `sync_global_devices` (JAX's
names, from multihost_utils).

How a collective runs (`MpiCommunicator`): the processes first exchange a
header (which collective, dtype, shape: a few hundred bytes, point to point)
so that processes making different collectives, or the same on different
shapes, raise an error naming them rather than corrupt memory or hang; then
the arrays' own buffers go to MPI's collective (Iallreduce, Iallgather;
Isend/Irecv for a permutation), contiguous NumPy arrays, never pickled.
Every request is non-blocking and polled against a deadline
(IRAX_DISTRIBUTED_TIMEOUT seconds), so a process that died or hangs makes
the others raise CollectiveError naming it instead of waiting forever; a process that
fails tells the others (`abort`, also on an uncaught exception), which then
raise at once.
"""
import functools
import hashlib
import sys
import threading
import time
from typing import Any

import numpy as np
from mpi4py import MPI
from mpi4py.util import dtlib

from irax import tree_util
from irax.backends import runtime
from irax.config import config
from irax.frontend import dtypes, processes
from irax.frontend.array import Array, device_put_numpy
from irax.frontend.core import ShapedArray
from irax.frontend.communicators import CollectiveError
from irax.frontend.pmap import _host
from irax.plugins import registry

__all__ = ["CollectiveError", "MpiCommunicator", "all_reduce", "initialize", "is_initialized", "process_allgather",
           "shutdown", "sync_global_devices"]

_OPS = {"sum": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}
_HEADER_TAG, _DATA_TAG, _ABORT_TAG = 7101, 7102, 7103
_HEADER_BYTES = 256  # a header, or the reason a process aborted


class MpiCommunicator:
    """The processes of an MPI communicator (default: every process), one
    rank each: the Communicator of collectives.py, made of MPI collectives
    on the arrays' buffers. Calls from several threads of a process are made
    one at a time (a pmap's devices meet first; see processes.py)."""

    def __init__(self, comm=None):
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        self._calls = 0  # collectives made so far: the header says which one this is
        self._lock = threading.Lock()
        self._broken = None  # the CollectiveError every later call raises

    # -- the Communicator protocol (`rank` is this process's: MPI knows it)

    def all_reduce(self, rank, x, op, out=None):
        """(`out`: where to write the result, of reduction(x.dtype, op)'s
        result dtype: a device buffer's memory, say; default a new array.)"""
        return self.all_reduce_each([x], op, [out])[0]

    def all_reduce_each(self, xs, op, outs, named=None):
        """all_reduce of each array of `xs` (into the one of `outs` where
        that is not None) as one collective: one exchange of headers, which
        name the dtypes and shapes of `named` (default: xs; the leaves that
        xs packs), and MPI moves the arrays together."""
        xs = [np.asarray(x, order="C") for x in xs]  # (ascontiguousarray makes a 0-d array 1-d)
        sends, receiveds, results = [], [], []
        for x, out in zip(xs, outs):
            carried, result = reduction(x.dtype, op)
            sends.append(x if carried == x.dtype else x.astype(carried))
            receiveds.append(out if out is not None and out.dtype == carried else np.empty(x.shape, carried))
            results.append(result)
        self._collective(f"all_reduce {op}", xs if named is None else named, lambda: [self.comm.Iallreduce(send, received, op=_OPS[op])
                                                          for send, received in zip(sends, receiveds)])
        totals = []
        for received, result, out in zip(receiveds, results, outs):
            if out is None:
                totals.append(received if received.dtype == result else received.astype(result))
            else:
                if received is not out:
                    out[...] = received  # (rounded once, to nearest even)
                totals.append(out)
        return totals

    def all_gather(self, rank, x):
        x = np.asarray(x, order="C")
        result = np.empty((self.size, *x.shape), x.dtype)
        self._collective("all_gather", [x], lambda: [self.comm.Iallgather(_bits(x), _bits(result))])
        return result

    def permute(self, rank, x, perm):
        x = np.asarray(x, order="C")
        result = np.zeros_like(x)
        send, receive = _bits(x), _bits(result)

        def requests():
            sends = [self.comm.Isend(send, dest=d, tag=_DATA_TAG) for s, d in perm if s == self.rank]
            return sends + [self.comm.Irecv(receive, source=s, tag=_DATA_TAG) for s, d in perm if d == self.rank]
        self._collective(f"permute {list(perm)}", [x], requests)
        return result

    def barrier(self, name: str) -> None:
        """Return once every process has called barrier(name), of the same name."""
        self._collective(f"barrier {name!r}", [], lambda: [self.comm.Ibarrier()])

    def leave(self, rank):
        """(An MPI process that ends makes no more calls; the others' deadline covers it.)"""

    def abort(self, reason: str = "it failed"):
        """Tell the other processes this one failed: they raise at their
        current or next collective instead of waiting for it."""
        if self._broken is None:
            self._broken = CollectiveError(f"process {self.rank} aborted the collectives: {reason}")
        message = _encode(reason)
        sends = [self.comm.Isend(message, dest=r, tag=_ABORT_TAG) for r in range(self.size) if r != self.rank]
        _poll(sends, 1.0)  # (small messages leave at once; a dead peer must not hold us)

    def _check_aborts(self, mine):
        """CollectiveError if another process has aborted (its message waits)."""
        status = MPI.Status()
        if self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=_ABORT_TAG, status=status):
            reason = np.zeros(_HEADER_BYTES, np.uint8)
            self.comm.Recv(reason, source=status.Get_source(), tag=_ABORT_TAG)
            raise CollectiveError(f"process {self.rank} stopped at collective {mine}: another process failed "
                                  f"(process {status.Get_source()}: {_decode(reason)})")

    # -- how a collective runs

    def _collective(self, what, xs, requests):
        """Check that every process makes the same collective `what` on
        arrays of the same dtypes and shapes (those of `xs`), then run MPI's
        `requests()` to completion."""
        with self._lock:
            if self._broken is not None:
                raise self._broken
            self._calls += 1
            mine = " ".join(filter(None, (f"#{self._calls}", what, _describe(xs))))
            try:
                self._agree(mine)
                pending = requests()
                if not _poll(pending, config.irax_distributed_timeout,
                             lambda: self._check_aborts(mine), _MOVING):
                    raise CollectiveError(f"process {self.rank} timed out after {config.irax_distributed_timeout:g} s"
                                          f" moving the data of collective {mine} (IRAX_DISTRIBUTED_TIMEOUT)")
            except CollectiveError as error:
                self._broken = error
                raise

    def _agree(self, mine):
        """Exchange headers with every other process: CollectiveError naming
        the processes that differ, that abort, or that do not arrive in time."""
        others = [r for r in range(self.size) if r != self.rank]
        received = {r: np.zeros(_HEADER_BYTES, np.uint8) for r in others}
        header = _encode(mine)
        requests = [self.comm.Irecv(received[r], source=r, tag=_HEADER_TAG) for r in others]
        sends = [self.comm.Isend(header, dest=r, tag=_HEADER_TAG) for r in others]
        timeout = config.irax_distributed_timeout
        if not _poll(requests, timeout, lambda: self._check_aborts(mine)):
            missing = [r for r, request in zip(others, requests) if not request.Test()]
            raise CollectiveError(f"process {self.rank} waited {timeout:g} s at collective {mine} for process(es) "
                                  f"{missing}, which did not reach it (they died, hang, or make other collectives; "
                                  "IRAX_DISTRIBUTED_TIMEOUT sets the wait)")
        _poll(sends, timeout)
        headers = {r: _decode(received[r]) for r in others}
        headers[self.rank] = mine
        if len(set(headers.values())) > 1:
            listing = "; ".join(f"process {r}: {h}" for r, h in sorted(headers.items()))
            raise CollectiveError(f"the processes make different collectives, or the same on different dtypes or "
                                  f"shapes ({listing}): every process must make the same ones, in the same order")


# ---------------------------------------------------------------------------
# The dtypes MPI lacks: bfloat16, the float8 and float4 types (and float16
# where the MPI library has no MPIX_C_FLOAT16). MPI moves their bits (as
# unsigned integers of their size) and reduces them in float32, which holds
# each of their values exactly: a sum is then rounded once, to nearest even,
# when it is converted back: for 2 processes exactly what adding the two in
# the dtype gives, and closer for more processes than adding in the dtype
# step by step. (A user-defined MPI op on the bits would reduce in the dtype
# itself, but MPI calls it on every chunk of the message through Python, a
# decode and encode each time: slower and far more code, for twice the bytes
# on the wire that float32 costs a bfloat16.) Booleans: MPI has no sum, max or
# min of C_BOOL; max and min are those of their 0/1 bytes, and a sum counts
# them in int32, as lax.psum of booleans does.

@functools.cache
def _mpi_has(dtype: np.dtype) -> bool:
    try:
        dtlib.from_numpy_dtype(dtype)
        return True
    except ValueError:
        return False


def _bits(x: np.ndarray) -> np.ndarray:
    """`x` as MPI moves it unchanged: itself, or its bit pattern (an unsigned integer view) for a dtype MPI lacks."""
    return x if _mpi_has(x.dtype) else x.view(f"u{x.dtype.itemsize}")


def reduction(dtype: np.dtype, op: str) -> tuple[np.dtype, np.dtype]:
    """(the dtype MPI reduces `dtype` in with `op`, the result's dtype)."""
    if dtype == np.bool_:
        return (np.dtype(np.int32),) * 2 if op == "sum" else (np.dtype(np.uint8), dtype)
    return (dtype if _mpi_has(dtype) else np.dtype(np.float32)), dtype


def _describe(xs) -> str:
    """The dtypes and shapes of arrays `xs`, for a header: in words while
    they fit in one, else their count and a digest."""
    return _describe_kinds(tuple((x.dtype, x.shape) for x in xs))


@functools.lru_cache(maxsize=256)
def _describe_kinds(kinds) -> str:
    """(_describe, once per list of (dtype, shape): a training loop's every
    step names the same leaves, and naming a dtype takes NumPy ~3 us)"""
    words = " ".join(f"{dtype}{list(shape)}" for dtype, shape in kinds)
    if len(words) <= _HEADER_BYTES // 2:
        return words
    return f"{len(kinds)} arrays, digest {hashlib.sha1(words.encode()).hexdigest()[:16]}"


def _encode(text):
    return np.frombuffer(text.encode()[:_HEADER_BYTES].ljust(_HEADER_BYTES, b"\0"), np.uint8).copy()


def _decode(buffer):
    return buffer.tobytes().rstrip(b"\0").decode(errors="replace")


# How a collective waits: runtime.poll_until, on a schedule of its own.
# MPI moves a non-blocking collective's data only inside MPI calls, so the
# first 200 µs test without pause, as MPI's own blocking wait does: a message
# between processes that are both there takes a few µs (a barrier of two
# processes: ~16 µs on 2 shared cores). Longer, the wait is for a process
# still computing, which needs the core this one would spin on (two processes
# of two threads on two cores), so the tests are spaced by time.sleep(0)
# (~55 µs with Linux's timer slack), a real sleep, where the CPU device's wait
# yields (sched_yield returns at once unless a thread waits for this core: the
# device's workers are threads that finish in µs, the peer here a process that
# may compute for seconds); after half a second by a millisecond.
# Once the headers are exchanged, every process is at the collective, and
# the data moves in steps that each need both processes in an MPI call
# (MPICH copies a large message through shared memory in cells of 64 KB):
# that wait spins for up to a second (a pause per step made the all-reduce
# of a 2.7 MB gradient in 6 leaves 1.4-1.9 ms, spinning 1.0-1.2; MPI's
# blocking calls 0.7). On a loaded machine, tests spaced by sched_yield in
# either wait (which hands the core to other work, else returns at once)
# were no faster: in the data-parallel example (2 processes, alternating
# the schedules step by step, means of 100 steps each, load 5.5) the
# all-reduce took 4.7-6.6 ms spinning, 5.5-8.7 yielding.
_ARRIVING = dict(spin_s=200e-6, pause=functools.partial(time.sleep, 0), pause_s=0.5)
_MOVING = dict(spin_s=1.0, pause=functools.partial(time.sleep, 0), pause_s=1.0)


def _poll(requests, timeout, check=None, schedule=_ARRIVING) -> bool:
    """Wait up to `timeout` seconds for MPI `requests`, calling `check()`
    (which may raise) between tests, on `schedule` (poll_until's): whether
    all completed."""
    # (the first test made here, where requests done at once, as small sends
    # are, cost no call; then a partial, not a lambda: no Python frame a test)
    return MPI.Request.Testall(requests) or runtime.poll_until(
        functools.partial(MPI.Request.Testall, requests), timeout, check, **schedule)


# ---------------------------------------------------------------------------
# Set up (jax.distributed)

def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, local_device_ids: Any = None, **kwargs) -> None:
    """Join the processes of the computation (jax.distributed.initialize):
    their count and this one's index come from MPI (the launcher, mpiexec or
    srun, started them); `num_processes` / `process_id`, when given, must
    agree with it. `coordinator_address`, `local_device_ids` and JAX's other
    arguments are accepted for JAX's sake: MPI's launcher does the
    rendezvous, and every local device takes part. After it, irax.process_index() and
    process_count() are MPI's, irax.devices() and device_count() count the
    devices of every process (local_devices(): this one's), and pmap's
    collectives span the processes."""
    if processes.world is not None:
        raise RuntimeError("distributed.initialize should only be called once.")
    world = MpiCommunicator()
    for name, given, actual in (("num_processes", num_processes, world.size), ("process_id", process_id, world.rank)):
        if given is not None and given != actual:
            raise ValueError(f"{name}={given} differs from MPI's {actual}: irax's processes are MPI's "
                             "(launch them with mpiexec or srun)")
    # (how many devices each process has, per backend: for irax.devices() and device_count(), which are global)
    processes.join(world, world.comm.allgather({name: registry.device_count(name)
                                                for name in registry.available_backends()}))
    _abort_on_uncaught_exception(world)


def shutdown() -> None:
    """Leave the processes (jax.distributed.shutdown): back to one process."""
    processes.leave()


def is_initialized() -> bool:
    """Whether initialize() was called (jax.distributed.is_initialized)."""
    return processes.world is not None


def _abort_on_uncaught_exception(world):
    """A process that dies of an exception tells the others, which then raise
    at once instead of waiting IRAX_DISTRIBUTED_TIMEOUT seconds for it."""
    previous = sys.excepthook

    def hook(kind, error, traceback):
        if processes.world is world:  # (not after shutdown)
            world.abort(f"{kind.__name__}: {error}")
        previous(kind, error, traceback)
    sys.excepthook = hook


def _world():
    if processes.world is None:
        raise RuntimeError("irax.distributed.initialize() must be called before a collective across processes")
    return processes.world


# ---------------------------------------------------------------------------
# Collectives on pytrees across processes, outside pmap

def _values(x):
    return _host(x) if isinstance(x, Array) else np.asarray(x)


# Leaves below this size travel together, one MPI call per dtype: a call
# costs two round trips between the processes (header, data), more than
# copying small leaves into one buffer; a large leaf goes from its own buffer.
_PACK_BYTES = 1 << 20


def _result_dtype(dtype: np.dtype, op: str) -> np.dtype:
    """The dtype of all_reduce's result for a leaf of `dtype`."""
    total = reduction(dtype, "sum" if op == "mean" else op)[1]
    return total if op != "mean" or dtypes.is_inexact(total) else np.dtype(np.float32)


class _Leaf:
    """One leaf's all-reduce: its values, and where its total goes. A large
    irax Array on a device whose memory is host memory (the CPU's) gets a
    new buffer there first, which MPI writes the total into (`out`): no
    upload of the total afterwards, which cost as much as a third of the
    all-reduce. Other leaves' totals are NumPy arrays, uploaded if the leaf
    was an Array."""

    def __init__(self, leaf, op):
        self.leaf, self.values = leaf, _values(leaf)
        self.dtype = _result_dtype(self.values.dtype, op)
        self.out = self.buffer = None
        empty = getattr(leaf.device, "empty", None) if isinstance(leaf, Array) else None
        in_place = reduction(self.values.dtype, "sum" if op == "mean" else op)[1] == self.dtype
        if empty is not None and in_place and self.values.nbytes >= _PACK_BYTES:
            self.buffer, self.out = empty(self.dtype, self.values.shape) or (None, None)

    def finish(self, total):
        """The leaf's result from its `total` (written into `out` if it has one)."""
        if not isinstance(self.leaf, Array):
            return total
        if self.buffer is None:
            return device_put_numpy(total, self.leaf.device, self.leaf.weak_type)
        return Array(self.buffer, ShapedArray(total.shape, total.dtype, self.leaf.weak_type), self.leaf.device)


def _reduce_leaves(world, leaves, op):
    """world.all_reduce of each _Leaf's values (into its `out`) in one
    collective, the small ones packed per dtype."""
    large = [i for i, leaf in enumerate(leaves) if leaf.values.nbytes >= _PACK_BYTES]
    small = {}
    for i, leaf in enumerate(leaves):
        if leaf.values.nbytes < _PACK_BYTES:
            small.setdefault(leaf.values.dtype, []).append(i)
    packed = [np.concatenate([leaves[i].values.ravel() for i in indices]) for indices in small.values()]
    totals = world.all_reduce_each([leaves[i].values for i in large] + packed, op,
                                   [leaves[i].out for i in large] + [None] * len(packed),
                                   named=[leaf.values for leaf in leaves])
    results = [None] * len(leaves)
    for i, total in zip(large, totals):
        results[i] = total
    for indices, total in zip(small.values(), totals[len(large):]):  # (dtypes in the order of the leaves: the same on every process)
        parts = np.split(total, np.cumsum([leaves[i].values.size for i in indices])[:-1])
        for i, part in zip(indices, parts):
            results[i] = part.reshape(leaves[i].values.shape)
    return results


# The dtypes whose mean over a power-of-two count of processes is a product
# (below): float32 and float64 hold 1 / count exactly up to 2**126 processes.
_MEAN_BY_PRODUCT = {np.dtype(np.float32), np.dtype(np.float64)}


def _divide(total: np.ndarray, count: int, dtype: np.dtype) -> np.ndarray:
    """total / count in `dtype` (in place where `total` is of it), as
    pmean's division. By a power of two, a float32 or float64 total is
    multiplied by the reciprocal instead: that is exact, so the product is
    the same exact quotient, rounded the same way, in about half the time
    of a division (measured on the 2.7 MB gradient of an MNIST-sized MLP)."""
    if total.dtype == dtype and dtype in _MEAN_BY_PRODUCT and count & (count - 1) == 0:
        return np.multiply(total, 1 / count, out=total)
    return np.true_divide(total, count, dtype=dtype, out=total if total.dtype == dtype else None)


def all_reduce(tree: Any, op: str = "sum") -> Any:
    """Each leaf's elementwise "sum", "mean", "max" or "min" over the
    processes, on every process (as lax.psum / pmean / pmax / pmin do over a
    pmap's devices): MPI all-reduces on the leaves' own buffers (leaves under
    1 MiB packed per dtype into one). Arrays stay irax Arrays on their
    device; "mean" of integers gives floats, as pmean's; a "sum" of booleans
    counts them (int32), as psum's."""
    if op not in ("sum", "mean", "max", "min"):
        raise ValueError(f"all_reduce op must be 'sum', 'mean', 'max' or 'min', got {op!r}")
    world = _world()
    leaves, treedef = tree_util.tree_flatten(tree)
    if world.size == 1 and all(isinstance(leaf, Array) and _result_dtype(leaf.dtype, op) == leaf.dtype
                               for leaf in leaves):
        return tree  # (one process: each leaf is its own total)
    leaves = [_Leaf(leaf, op) for leaf in leaves]
    totals = _reduce_leaves(world, leaves, "sum" if op == "mean" else op)
    if op == "mean":  # (in place where MPI wrote into a leaf's buffer)
        totals = [_divide(t, world.size, leaf.dtype) for t, leaf in zip(totals, leaves)]
    return tree_util.tree_unflatten(treedef, [leaf.finish(t) for leaf, t in zip(leaves, totals)])


def process_allgather(in_tree: Any, tiled: bool = False) -> Any:
    """Every process's leaves, stacked on a new axis 0 in process order
    (tiled: concatenated along axis 0), as NumPy arrays on every process
    (jax.experimental.multihost_utils.process_allgather)."""
    world = _world()

    def one(leaf):
        gathered = world.all_gather(world.rank, _values(leaf))
        return gathered.reshape((-1, *gathered.shape[2:])) if tiled and gathered.ndim > 1 else gathered
    return tree_util.tree_map(one, in_tree)


def sync_global_devices(name: str) -> None:
    """Wait until every process reaches the barrier `name` (of the same
    name on every process: else CollectiveError), as multihost_utils's."""
    _world().barrier(name)
