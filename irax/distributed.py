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
import sys
import threading
import time
from typing import Any

import numpy as np
from mpi4py import MPI

from irax import tree_util
from irax.config import config
from irax.frontend import processes
from irax.frontend.array import Array, device_put_numpy
from irax.frontend.collectives import CollectiveError
from irax.frontend.pmap import _host

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

    def all_reduce(self, rank, x, op):
        x = np.asarray(x, order="C")  # (ascontiguousarray makes a 0-d array 1-d)
        result = np.empty_like(x)
        return self._collective(f"all_reduce {op}", x, lambda: [self.comm.Iallreduce(x, result, op=_OPS[op])],
                                result)

    def all_gather(self, rank, x):
        x = np.asarray(x, order="C")
        result = np.empty((self.size, *x.shape), x.dtype)
        return self._collective("all_gather", x, lambda: [self.comm.Iallgather(x, result)], result)

    def permute(self, rank, x, perm):
        x = np.asarray(x, order="C")
        result = np.zeros_like(x)

        def requests():
            sends = [self.comm.Isend(x, dest=d, tag=_DATA_TAG) for s, d in perm if s == self.rank]
            return sends + [self.comm.Irecv(result, source=s, tag=_DATA_TAG) for s, d in perm if d == self.rank]
        return self._collective(f"permute {list(perm)}", x, requests, result)

    def barrier(self, name: str) -> None:
        """Return once every process has called barrier(name), of the same name."""
        self._collective(f"barrier {name!r}", np.zeros(0, np.uint8), lambda: [self.comm.Ibarrier()], None)

    def leave(self, rank):
        """(An MPI process that ends makes no more calls; the others' deadline covers it.)"""

    def abort(self, reason: str = "it failed"):
        """Tell the other processes this one failed: they raise at their
        current or next collective instead of waiting for it."""
        if self._broken is None:
            self._broken = CollectiveError(f"process {self.rank} aborted the collectives: {reason}")
        message = _encode(reason)
        sends = [self.comm.Isend(message, dest=r, tag=_ABORT_TAG) for r in range(self.size) if r != self.rank]
        _poll(sends, time.monotonic() + 1.0)  # (small messages leave at once; a dead peer must not hold us)

    def _check_aborts(self, mine):
        """CollectiveError if another process has aborted (its message waits)."""
        status = MPI.Status()
        if self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=_ABORT_TAG, status=status):
            reason = np.zeros(_HEADER_BYTES, np.uint8)
            self.comm.Recv(reason, source=status.Get_source(), tag=_ABORT_TAG)
            raise CollectiveError(f"process {self.rank} stopped at collective {mine}: another process failed "
                                  f"(process {status.Get_source()}: {_decode(reason)})")

    # -- how a collective runs

    def _collective(self, what, x, requests, result):
        """Check that every process makes the same collective `what` on the
        same dtype and shape, then run MPI's `requests()` to completion."""
        with self._lock:
            if self._broken is not None:
                raise self._broken
            self._calls += 1
            mine = f"#{self._calls} {what} {x.dtype}{list(x.shape)}"
            try:
                self._agree(mine)
                pending = requests()
                if not _poll(pending, time.monotonic() + config.irax_distributed_timeout,
                             lambda: self._check_aborts(mine)):
                    raise CollectiveError(f"process {self.rank} timed out after {config.irax_distributed_timeout:g} s"
                                          f" moving the data of collective {mine} (IRAX_DISTRIBUTED_TIMEOUT)")
            except CollectiveError as error:
                self._broken = error
                raise
            return result

    def _agree(self, mine):
        """Exchange headers with every other process: CollectiveError naming
        the processes that differ, that abort, or that do not arrive in time."""
        others = [r for r in range(self.size) if r != self.rank]
        received = {r: np.zeros(_HEADER_BYTES, np.uint8) for r in others}
        header = _encode(mine)
        requests = [self.comm.Irecv(received[r], source=r, tag=_HEADER_TAG) for r in others]
        sends = [self.comm.Isend(header, dest=r, tag=_HEADER_TAG) for r in others]
        timeout = config.irax_distributed_timeout
        if not _poll(requests, time.monotonic() + timeout, lambda: self._check_aborts(mine)):
            missing = [r for r, request in zip(others, requests) if not request.Test()]
            raise CollectiveError(f"process {self.rank} waited {timeout:g} s at collective {mine} for process(es) "
                                  f"{missing}, which did not reach it (they died, hang, or make other collectives; "
                                  "IRAX_DISTRIBUTED_TIMEOUT sets the wait)")
        _poll(sends, time.monotonic() + timeout)
        headers = {r: _decode(received[r]) for r in others}
        headers[self.rank] = mine
        if len(set(headers.values())) > 1:
            listing = "; ".join(f"process {r}: {h}" for r, h in sorted(headers.items()))
            raise CollectiveError(f"the processes make different collectives, or the same on different dtypes or "
                                  f"shapes ({listing}): every process must make the same ones, in the same order")


def _encode(text):
    return np.frombuffer(text.encode()[:_HEADER_BYTES].ljust(_HEADER_BYTES, b"\0"), np.uint8).copy()


def _decode(buffer):
    return buffer.tobytes().rstrip(b"\0").decode(errors="replace")


def _poll(requests, deadline, check=lambda: None) -> bool:
    """Wait for MPI `requests` until `deadline` (time.monotonic), calling
    `check()` (which may raise) between tests: whether all completed. MPI moves a non-blocking collective's
    data only inside MPI calls (a large one is many steps), so for the first
    half second this tests as often as MPI's own blocking wait would (only
    yielding the thread); after that the wait is for a slow process, not
    for data, and a test each millisecond leaves the core to others."""
    spin_until = time.monotonic() + 0.5
    while not MPI.Request.Testall(requests):
        now = time.monotonic()
        if now > deadline:
            return False
        check()
        time.sleep(0 if now < spin_until else 1e-3)
    return True


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
    process_count() are MPI's, and pmap's collectives span the processes."""
    if processes.world is not None:
        raise RuntimeError("distributed.initialize should only be called once.")
    world = MpiCommunicator()
    for name, given, actual in (("num_processes", num_processes, world.size), ("process_id", process_id, world.rank)):
        if given is not None and given != actual:
            raise ValueError(f"{name}={given} differs from MPI's {actual}: irax's processes are MPI's "
                             "(launch them with mpiexec or srun)")
    processes.world = world
    _abort_on_uncaught_exception(world)


def shutdown() -> None:
    """Leave the processes (jax.distributed.shutdown): back to one process."""
    processes.world = None


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

def _as_leaf(result, like):
    """`result` as `like` was: an irax Array on its device, else NumPy."""
    if isinstance(like, Array):
        return device_put_numpy(result, like.device, like.weak_type)
    return result


def _values(x):
    return _host(x) if isinstance(x, Array) else np.asarray(x)


# Leaves below this size travel together, one MPI call per dtype: a call
# costs two round trips between the processes (header, data), more than
# copying small leaves into one buffer; a large leaf goes from its own buffer.
_PACK_BYTES = 1 << 20


def _reduce_leaves(world, values, op):
    """world.all_reduce of each NumPy array of `values`, the small ones packed per dtype."""
    results, small = [None] * len(values), {}
    for i, value in enumerate(values):
        if value.nbytes < _PACK_BYTES:
            small.setdefault(value.dtype, []).append(i)
        else:
            results[i] = world.all_reduce(world.rank, value, op)
    for indices in small.values():  # (in the order of the leaves: the same on every process)
        packed = world.all_reduce(world.rank, np.concatenate([values[i].ravel() for i in indices]), op)
        parts = np.split(packed, np.cumsum([values[i].size for i in indices])[:-1])
        for i, part in zip(indices, parts):
            results[i] = part.reshape(values[i].shape)
    return results


def all_reduce(tree: Any, op: str = "sum") -> Any:
    """Each leaf's elementwise "sum", "mean", "max" or "min" over the
    processes, on every process (as lax.psum / pmean / pmax / pmin do over a
    pmap's devices): MPI all-reduces on the leaves' own buffers (leaves under
    1 MiB packed per dtype into one). Arrays stay irax Arrays on their
    device; "mean" of integers gives floats, as pmean's."""
    if op not in ("sum", "mean", "max", "min"):
        raise ValueError(f"all_reduce op must be 'sum', 'mean', 'max' or 'min', got {op!r}")
    world = _world()
    leaves, treedef = tree_util.tree_flatten(tree)
    totals = _reduce_leaves(world, [_values(leaf) for leaf in leaves], "sum" if op == "mean" else op)
    if op == "mean":
        totals = [np.true_divide(t, world.size, dtype=t.dtype if np.issubdtype(t.dtype, np.inexact) else np.float32)
                  for t in totals]
    return tree_util.tree_unflatten(treedef, [_as_leaf(t, leaf) for t, leaf in zip(totals, leaves)])


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
