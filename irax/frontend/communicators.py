"""How the devices of a mapped axis exchange a collective's operands
(frontend/collectives.py's host functions call a Communicator): the
protocol, and `ThreadCommunicator`, for the devices of one process, one
thread each. irax/frontend/processes.py joins it with irax.distributed's
MpiCommunicator across processes.
"""
import functools
import threading
from typing import Protocol

import numpy as np


class CollectiveError(RuntimeError):
    """A collective could not finish: another device of its axis failed."""


class Communicator(Protocol):
    """What a collective asks of the `size` devices (ranks 0 .. size-1) of
    one mapped axis. Every rank calls the same methods in the same order
    (each runs the same program), each from its own thread (or process),
    and a call returns once every rank has made it. Arrays are NumPy arrays
    of one shape and dtype on every rank. irax.distributed.MpiCommunicator
    implements it across processes (MPI on the arrays' buffers)."""
    size: int

    def all_reduce(self, rank: int, x: np.ndarray, op: str) -> np.ndarray:
        """The elementwise "sum", "max" or "min" of every rank's x."""

    def all_gather(self, rank: int, x: np.ndarray) -> np.ndarray:
        """Every rank's x, stacked in rank order: shape (size, *x.shape)."""

    def permute(self, rank: int, x: np.ndarray, perm: tuple) -> np.ndarray:
        """The x of the rank that `perm` ((source, destination) pairs) says
        sends to this one; zeros if none does."""

    def leave(self, rank: int) -> None:
        """Rank `rank`'s program has ended: it makes no more calls (if
        others wait for it, they raise CollectiveError)."""

    def abort(self) -> None:
        """A rank failed: the calls that others wait in, and later ones, raise CollectiveError."""


REDUCE = {"sum": np.add, "max": np.maximum, "min": np.minimum}


class ThreadCommunicator:
    """The devices of one process, one thread each. A rank's call puts its
    array in its slot and waits; the last rank to arrive computes every
    rank's result from the slots (NumPy) and wakes the others. A rank cannot
    overwrite a result before the others have read it: the next collective
    completes only once every rank, having read its result, has arrived.

    A rank whose program ended (`leave`) while others wait at a collective,
    or that fails (`abort`), makes them raise CollectiveError rather than
    wait forever: with collectives that differ between devices (one under a
    `cond` whose branch differs), or a device that failed."""

    def __init__(self, size: int):
        self.size = size
        self._condition = threading.Condition()
        self._slots = [None] * size
        self._combine = None  # what the collective being gathered computes from the slots
        self._arrived = 0
        self._generation = 0  # how many collectives have completed
        self._results = None
        self._left = set()  # ranks whose program has ended
        self._broken = None  # the CollectiveError every waiting and later call raises

    def _exchange(self, rank, x, combine):
        """`combine(every rank's x)[rank]`, once every rank has called."""
        with self._condition:
            if self._broken is None and self._left:
                self._break(rank, min(self._left))
            if self._broken is not None:
                raise self._broken
            self._slots[rank] = x
            self._combine = combine
            self._arrived += 1
            if self._arrived == self.size:
                try:
                    self._results = self._combine(self._slots)
                except Exception as error:  # every rank raises it
                    self._results = [error] * self.size
                self._slots, self._arrived = [None] * self.size, 0
                self._generation += 1
                self._condition.notify_all()
            else:
                generation = self._generation
                while self._generation == generation and self._broken is None:
                    self._condition.wait()
                if self._generation == generation:
                    raise self._broken
            result = self._results[rank]
        if isinstance(result, Exception):
            raise result
        return result

    def _break(self, rank, left):
        self._broken = CollectiveError(
            f"device {rank} of a pmap waits at a collective that device {left} never reaches: its program ended. "
            "Every device must make the same collectives in the same order (not, e.g., a collective inside a "
            "lax.cond whose branch differs between devices)")

    def all_reduce(self, rank, x, op):
        return self._exchange(rank, x, lambda xs: [functools.reduce(REDUCE[op], xs)] * self.size)

    def all_gather(self, rank, x):
        return self._exchange(rank, x, lambda xs: [np.stack(xs)] * self.size)

    def permute(self, rank, x, perm):
        def combine(xs):
            received = [np.zeros_like(xs[0])] * self.size
            for source, destination in perm:
                received[destination] = xs[source]
            return received
        return self._exchange(rank, x, combine)

    def leave(self, rank):
        with self._condition:
            self._left.add(rank)
            if self._arrived and self._broken is None:
                self._break(next(r for r, x in enumerate(self._slots) if x is not None), rank)
                self._condition.notify_all()

    def abort(self):
        with self._condition:
            if self._broken is None:
                self._broken = CollectiveError("a collective was abandoned: another device of its pmap failed")
            self._condition.notify_all()
