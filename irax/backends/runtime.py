"""IREE runtime glue: devices, buffers, loaded programs, invocation.

This is the hot path of eager mode, so it uses IREE's lowest-level Python
entry point: `VmContext.invoke(function, args, results)` with plain
`VmVariantList`s. (The friendlier `FunctionInvoker` reflects over the
function's ABI on every call and costs several times more.)

Calls are asynchronous: a program's `@main` takes a wait fence and a signal
fence besides its inputs (compiler.ABI_FLAGS), queues its work and returns
its result buffers at once. Each device has one timeline semaphore: call n
waits for value n-1, and the device moves the timeline to n once the call
is done (Device._join). One in-order queue, like a CUDA stream, so a call
always sees its inputs written, and a donated buffer is never overwritten
while an earlier call still reads it. An Array keeps its call's n and waits
for it (`Device.wait`) before its data is read.

A device may have an *inline* twin: a synchronous driver over the same
memory (`local-sync` for the CPU's `local-task`). Waking a thread pool costs
tens of microseconds, more than a small op takes on the calling thread, so
calls whose inputs total at most IRAX_INLINE_BYTES (default 1 MiB) run
inline, as XLA's CPU runtime does with small ops. They wait for the queued
calls before them to be done, and are finished when they return: so they
take no step of the timeline, and their fences are empty ones.
"""
import collections
import contextlib
import copy
import dataclasses
import functools
import os
import threading
import time
import weakref

import numpy as np
import iree.runtime as rt

from irax.backends.lifecycle import calling_back, live_devices
from irax.config import config

# The Python types of IREE's errors, by status code (its bindings'
# status_utils.cc): INVALID_ARGUMENT and FAILED_PRECONDITION ValueError,
# OUT_OF_RANGE IndexError, UNIMPLEMENTED NotImplementedError (a RuntimeError),
# every other code RuntimeError.
IREE_ERRORS = (RuntimeError, ValueError, IndexError)

# How many calls a device's queue may hold. A queued call holds its results'
# memory from the start, so a loop like `x = f(x)` on big arrays would
# otherwise allocate for every call it queues ahead of the device.
QUEUE_DEPTH = 2

# The fences an inline call waits on and signals (Device._before_inline):
# empty, so both do nothing; one for every call, since nothing changes it.
NO_FENCE = rt.HalFence(1)
NOT_WAITING = contextlib.nullcontext()  # a Device's while_waiting where nothing is done around a wait

# How long an empty command may take before its device counts as lost
# (Device._is_lost, asked only after a failure).
LOST_AFTER_S = 5

# Drivers whose waits poll the timeline (Device._poll): the CPU's, whose
# worker threads share the cores with the waiting thread. The others wait in
# IREE, which also moves their queues on (docs/architecture.md, "Calls are
# asynchronous", has the measurements). A polling wait yields the core between
# looks for YIELD_S, then sleeps (poll_until's schedule).
_POLLED = {"local-task", "local-sync"}
YIELD_S = 10e-3

# A buffer's IREE element type, by NumPy dtype name (for `put`; a plugin's
# devices use it too). MLIR integers are signless, and IREE's ABI checks
# buffer element types against the signless spelling, so signed and unsigned
# share one kind.
ELEMENT_TYPES = {
    "bool": rt.HalElementType.BOOL_8,
    "int8": rt.HalElementType.INT_8,
    "int16": rt.HalElementType.INT_16,
    "int32": rt.HalElementType.INT_32,
    "int64": rt.HalElementType.INT_64,
    "uint8": rt.HalElementType.INT_8,
    "uint16": rt.HalElementType.INT_16,
    "uint32": rt.HalElementType.INT_32,
    "uint64": rt.HalElementType.INT_64,
    "float16": rt.HalElementType.FLOAT_16,
    "bfloat16": rt.HalElementType.BFLOAT_16,
    "float32": rt.HalElementType.FLOAT_32,
    "float64": rt.HalElementType.FLOAT_64,
    "complex64": rt.HalElementType.COMPLEX_64,
    "complex128": rt.HalElementType.COMPLEX_128,
    # 8- and 4-bit floats travel as their bit patterns (irax/ir/float8.py)
    **dict.fromkeys(("float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz", "float8_e4m3b11fnuz",
                     "float8_e3m4", "float8_e4m3", "float8_e8m0fnu", "float4_e2m1fn"), rt.HalElementType.INT_8),
}

# Where device memory is host memory (IREE's CPU drivers), buffers are mapped
# to read them: no copy. GPU memory is left unmappable (asking for mapping
# could force slower host-visible memory) and is read through a staging copy.
_USAGE = {"local-task": rt.BufferUsage.DEFAULT | rt.BufferUsage.MAPPING,
          "local-sync": rt.BufferUsage.DEFAULT | rt.BufferUsage.MAPPING}
_MAPPABLE = int(rt.BufferUsage.MAPPING_SCOPED)
ALIGNMENT = 64  # bytes: what IREE's CPU code assumes of a buffer's address (IREE_HAL_HEAP_BUFFER_ALIGNMENT)

# The VM module that a program's Python callbacks (irax.debug.print,
# irax.pure_callback) are imported from: the frontend declares each one as a
# body-less `@irax_host.<name>`, and a program that calls some gets a module
# of that name made for it (Program, host_module). Others pay nothing.
HOST_MODULE = "irax_host"


class DeviceError(RuntimeError):
    """A computation failed while running on a device, or the runtime refused
    its arguments (a donated buffer also read by the call). JAX's
    JaxRuntimeError (XlaRuntimeError), also a RuntimeError."""


class Device:
    """One IREE HAL device plus the VM instance programs for it are loaded into.

    `platform` is the irax backend name ("cpu", "vulkan", ...); `id` counts
    devices of that platform from 0. What irax uses of it is the
    `irax.plugins.Device` protocol, and of its programs `irax.plugins.Program`.
    """

    process_index = 0  # the process it belongs to (jax's Device.process_index): set by irax.distributed.initialize
    # Entered around each wait of this process for the device's work that
    # IREE does (a backend may set its own: vulkan.PollingThreads).
    while_waiting = NOT_WAITING

    def __init__(self, platform: str, id: int, driver: str, hal_device, backend, inline_hal_device=None):
        self.platform = platform
        self.id = id
        self.driver = driver
        self.hal_device = hal_device
        self.backend = backend
        self._usage = _USAGE.get(driver, rt.BufferUsage.DEFAULT)
        self.instance = rt.VmInstance()
        self._hal_module = rt.create_hal_module(self.instance, hal_device)
        self._inline_hal_module = inline_hal_device and rt.create_hal_module(self.instance, inline_hal_device)
        self._timeline = hal_device.create_semaphore(0)
        self._queued = 0  # the timeline value the last queued call signals
        self._finished = 0  # a timeline value known to be reached
        self.lost = []  # (first, last, error): calls that failed on the device
        self._inputs = collections.deque()  # (call, its input buffers, its own semaphore) until the call is done
        self._forked = False  # in a child process forked from this one: see lifecycle.py
        self.lost_for_good = None  # why the device itself is gone (a driver fault); its backend makes a new one
        self._spare = collections.defaultdict(list)  # size -> memory `empty` handed out that is free again
        live_devices.add(self)

    @property
    def _runs_after_fork(self) -> bool:
        """Whether a forked child can run this device's work: on its inline
        twin, on the calling thread (see lifecycle.py)."""
        return self._inline_hal_module is not None

    def _check_usable(self):
        """Refuse work on a lost device, and in a forked child work that would wait forever."""
        if self.lost_for_good:
            raise DeviceError(
                f"{self}: the device itself is lost ({self.lost_for_good}), and with it the arrays on it; "
                f"irax.devices({self.platform!r}) has a new device in its place: compute or put the arrays there")
        if self._forked and not self._runs_after_fork:
            raise DeviceError(
                f"{self} cannot run anything in this process: it was forked (os.fork()) after irax started its "
                "runtime, and IREE's device runs on threads that a forked child does not have, so the work would "
                "never finish. Start child processes that use irax with multiprocessing's 'spawn' or 'forkserver' "
                "method (multiprocessing.set_start_method('spawn')), or fork before irax first runs anything.")

    def _next_call(self):
        """(n, wait fence, signal fence, its semaphore) for the next queued
        call, after the last one queued: it first waits for the queue to be
        shorter than QUEUE_DEPTH, and signals a fence of its own, for `_join`
        (and, after a failure, for `_first_not_done`)."""
        if self._forked or self.lost_for_good:
            self._check_usable()
        _check_not_in_callback()
        if self._queued + 1 - QUEUE_DEPTH > self._finished:
            self._reached(self._queued + 1 - QUEUE_DEPTH)
        self._queued += 1
        n = self._queued
        signaled = self.hal_device.create_semaphore(n - 1)
        return n, rt.HalFence.create_at(self._timeline, n - 1), rt.HalFence.create_at(signaled, n), signaled

    def _before_inline(self):
        """Let an inline call run: once the queued calls are done. It is done
        when it returns, so it takes no step of the timeline, and its fences
        are empty (NO_FENCE): waiting on one, or signalling it, does nothing."""
        _check_not_in_callback()
        if self._queued > self._finished:
            self.drain()

    def drain(self):
        """Wait until every queued call is done (a failure is kept in self.lost, not raised)."""
        self._reached(self._queued)

    def wait(self, call: int, block=True) -> bool:
        """Whether queued call number `call` is done, blocking until it is if
        `block`. Raises DeviceError if it failed."""
        if not self._reached(call, block):
            return False
        self.check(call)
        return True

    def check(self, call: int):
        """Raise the DeviceError of a call that failed on the device."""
        for first, last, error in self.lost:
            if first <= call <= last:
                raise error

    def _reached(self, call: int, block=True) -> bool:
        """Wait for the timeline to reach `call` (or only look, if not
        `block`); whether it has. A call that fails on the
        device fails the timeline, and with it every call queued after it:
        those are recorded as lost and the device starts a new timeline,
        so that the calls queued from now on run."""
        if call <= self._finished:
            return True
        try:
            if not self._poll(call, block):
                return False
        except IREE_ERRORS as failure:  # IREE: "semaphore failure", typed by its status code
            self.lost.append((self._first_not_done(), self._queued, DeviceError(
                f"A computation failed on {self}: {failure}. Its results, and those of the calls queued "
                "after it, are lost" + (self._lost_device(failure) or "; computations started from now on run normally."))))
            self._timeline = self.hal_device.create_semaphore(self._queued)
            call = self._queued
        self._finished = max(self._finished, call)
        while self._inputs and self._inputs[0][0] <= self._finished:
            self._inputs.popleft()
        return True

    def _first_not_done(self) -> int:
        """After the timeline failed: the first queued call that did not
        finish, by the calls' own semaphores. It is the one that failed, as
        each call waits for the one before it; the calls before it are done,
        though nobody had waited for them yet."""
        first = self._finished + 1
        for call, _, signaled in self._inputs:
            if call >= first:
                try:
                    if signaled.query() < call:
                        return call
                except IREE_ERRORS:  # (a failed semaphore raises)
                    return call
                first = call + 1
        return first

    def _join(self, call: int, fence: rt.HalFence):
        """Queue the timeline's step to `call` after `fence` (the call's own)
        and the timeline's step before (an empty command buffer: a barrier)."""
        wait = rt.HalFence(2)
        wait.insert(self._timeline, call - 1)
        wait.extend(fence)
        barrier = rt.HalCommandBuffer(self.hal_device)
        barrier.end()
        self.hal_device.queue_execute(barrier, wait, rt.HalFence.create_at(self._timeline, call))

    def _poll(self, call: int, block: bool) -> bool:
        """Whether the timeline has reached `call`, waiting until it has if
        `block`. On the CPU, IREE's own blocking wait takes CPU time from the
        device's worker threads; a thread that yields its core between looks
        gives it to them."""
        if self.driver not in _POLLED:
            if block and self._timeline.query() < call:
                with self.while_waiting:
                    return self._timeline.wait(call, timeout=None)
            return self._timeline.wait(call, timeout=0)
        # (query raises if the timeline failed; the first look is made here,
        # where a call already done costs no closure and no clock)
        return self._timeline.query() >= call or poll_until(lambda: self._timeline.query() >= call,
                                                            None if block else 0)

    def _lost_device(self, failure) -> str:
        """What is left after `failure` if the device itself is lost
        (lavapipe loses one when IREE signals a semaphore out of order:
        docs/architecture.md): nothing on it. It stays lost, and its backend
        puts a new device in its place (`device_lost`)."""
        if self.lost_for_good is None:
            if "DEVICE_LOST" not in str(failure) and not self._is_lost():
                return ""
            self.lost_for_good = str(failure).splitlines()[0][:200]
            replace = getattr(self.backend, "device_lost", None)  # (IreeBackend's; a plugin's backend may lack it)
            if replace is not None:
                replace(self)
        return (f"; the device itself is lost (a driver error), and the arrays on it with it: irax.devices("
                f"{self.platform!r}) has a new device in its place from now on")

    def _is_lost(self) -> bool:
        """Whether the device no longer runs anything: an empty command on
        its queue does not finish. (Its failures do not always say so: IREE
        3.13 reports a lost Vulkan device's failed semaphores as DATA_LOSS,
        which a call's own failure may also be.)"""
        try:
            probe = self.hal_device.create_semaphore(0)
            empty = rt.HalCommandBuffer(self.hal_device)
            empty.end()
            self.hal_device.queue_execute(empty, NO_FENCE, rt.HalFence.create_at(probe, 1))
            return not probe.wait(1, timeout=LOST_AFTER_S * 10**9)  # (nanoseconds)
        except IREE_ERRORS:
            return True

    def __repr__(self):
        return f"{self.platform.capitalize()}Device(id={self.id})"

    def put(self, array: np.ndarray) -> rt.HalBufferView:
        """Copy a host array into a new device buffer."""
        self._check_usable()
        return self.hal_device.allocator.allocate_buffer_copy(
            memory_type=rt.MemoryType.DEVICE_LOCAL,
            allowed_usage=self._usage,
            device=self.hal_device,
            buffer=np.array(array, order="C", copy=not array.flags.c_contiguous),
            element_type=ELEMENT_TYPES[array.dtype.name],
        )

    def fetch(self, buffer: rt.HalBufferView, dtype: np.dtype, shape) -> np.ndarray:
        """A host copy of a device buffer's contents."""
        return self.fetch_after(0, buffer, dtype, shape)

    def fetch_after(self, call: int, buffer: rt.HalBufferView, dtype: np.dtype, shape) -> np.ndarray:
        """`fetch` of a buffer that queued call number `call` writes (0: one
        written already), raising the call's DeviceError if it failed. Where
        the read is a copy (device memory: Vulkan) the copy is queued after
        the call, so that one wait covers both: on lavapipe each wait for
        the device costs ~0.1 ms idle, and milliseconds on a busy machine."""
        if call and self._reached(call, block=False):
            self.check(call)
            call = 0
        if 0 in shape or (buffer.get_buffer().allowed_usage() & _MAPPABLE) == _MAPPABLE:  # a map, after the call
            if call:
                self.wait(call)
            return np.array(self._mapped(buffer, dtype, shape), copy=True)
        staging = self._host_copy(buffer.get_buffer(), call)
        return np.array(staging.map().asarray(tuple(shape), np.dtype(dtype)), copy=True)

    def host_view(self, buffer: rt.HalBufferView, dtype: np.dtype, shape) -> np.ndarray | None:
        """A read-only NumPy view of a buffer in host memory (IREE's CPU
        drivers), without a copy; None for one in device memory. The view
        holds the mapping, which holds the buffer. (Optional in the plugin
        Device protocol: irax's DLPack export uses it to share memory.)"""
        view = self._mapped(buffer, dtype, shape)
        if view is not None:
            view.flags.writeable = False
        return view

    def empty(self, dtype: np.dtype, shape) -> tuple[rt.HalBufferView, np.ndarray] | None:
        """A new buffer of `dtype[shape]`, uninitialized, and a writable NumPy
        array that is its memory, to fill in place; None where device memory
        is not host memory (or for no elements). Where a result arrives from
        outside (MPI writes a collective's result straight into it) this
        saves the copy `put` makes. (Optional in the plugin Device protocol.)

        The memory is NumPy's, imported through DLPack: the allocator
        Python uses hands back memory freed before, where a buffer of the
        device's own allocator is fresh pages that the kernel must fault in
        and zero (~3 ms more for 16 MB, measured). DLPack, not
        `import_host_allocation`, whose buffer keeps the array alive only
        while its Python wrapper lives, not while IREE holds the buffer.
        IREE's CPU code assumes ALIGNMENT-byte aligned buffers, so the
        memory is cut from a larger array; it travels as bytes (DLPack has
        no bfloat16) and the view gets the element type. Once IREE and the
        view let go of it, the memory is kept for the next buffer of its
        size (`_spare`, SPARES of a size at most): NumPy's large arrays are
        fresh pages, which the kernel faults in and zeroes at the first
        write (a data-parallel step's 2.7 MB of gradient totals: +0.7-1 ms
        in MPI's all-reduce, 1.7 ms against 0.7 into memory written before)."""
        dtype = np.dtype(dtype)
        if (int(self._usage) & _MAPPABLE) != _MAPPABLE or 0 in shape:
            return None
        self._check_usable()
        size = dtype.itemsize * int(np.prod(shape))
        spare = self._spare[size]
        raw = spare.pop() if spare else np.empty(size + ALIGNMENT, np.uint8)
        start = -raw.ctypes.data % ALIGNMENT
        memory = raw[start:start + size]
        buffer = self.hal_device.from_dlpack_capsule(memory.__dlpack__()).get_buffer()  # (holds `memory`)
        weakref.finalize(memory, _keep_spare, spare, raw)
        return rt.HalBufferView(buffer, tuple(shape), ELEMENT_TYPES[dtype.name]), memory.view(dtype).reshape(shape)

    def _mapped(self, buffer: rt.HalBufferView, dtype: np.dtype, shape) -> np.ndarray | None:
        if 0 in shape:
            return np.zeros(shape, dtype)
        if (buffer.get_buffer().allowed_usage() & _MAPPABLE) != _MAPPABLE:
            return None
        return buffer.map().asarray(tuple(shape), np.dtype(dtype))

    def _host_copy(self, source: rt.HalBuffer, call: int) -> rt.HalBuffer:
        """A mappable host-memory copy of a device-only buffer, once queued
        call number `call` is done (0: at once). (IREE's own
        DeviceArray.to_host imports a NumPy array instead, which Vulkan refuses
        unless it is 4096-byte aligned.)"""
        self._check_usable()
        staging = self.hal_device.allocator.allocate_buffer(
            memory_type=int(rt.MemoryType.HOST_LOCAL | rt.MemoryType.DEVICE_VISIBLE),
            allowed_usage=int(rt.BufferUsage.TRANSFER_TARGET | rt.BufferUsage.MAPPING_SCOPED),
            allocation_size=source.byte_length())
        done = self.hal_device.create_semaphore(0)
        after = rt.HalFence.create_at(self._timeline, call) if call else rt.HalFence.create_at(done, 0)
        with self.while_waiting:  # (from before the copy is queued: the polling threads then queue it)
            self.hal_device.queue_copy(source, staging, after, rt.HalFence.create_at(done, 1))
            try:
                rt.HalFence.create_at(done, 1).wait()
            except IREE_ERRORS:
                self.wait(call)  # the call's DeviceError, where the call failed
                raise
        self.wait(call)  # (done: this notes it)
        return staging

    def load(self, vmfb: bytes, host_functions=None) -> "Program":
        """`vmfb` loaded here; `host_functions` ({name: HostFunction}) are
        the Python callbacks it imports from HOST_MODULE, if any."""
        self._check_usable()
        return Program(self, vmfb, host_functions)


def poll_until(ready, timeout: float | None = None, check=None, *,
               spin_s: float = 0.0, pause=os.sched_yield, pause_s: float = YIELD_S) -> bool:
    """Whether `ready()` turned true within `timeout` seconds (None: no limit;
    0: one look), calling `check()` (which may raise) between looks. The
    schedule of the looks: back to back for `spin_s`, then with `pause()`
    between them until `pause_s` has passed, then with a sleep of 1/16 of the
    time waited so far, at most 1 ms. The defaults are the CPU device's wait
    (Device._poll); distributed.py's collectives wait with their own."""
    if ready():
        return True
    start = time.perf_counter()
    while True:
        waited = time.perf_counter() - start
        if timeout is not None and waited >= timeout:
            return False
        if check is not None:
            check()
        if waited >= spin_s:
            if waited < pause_s:
                pause()
            else:
                time.sleep(min(waited / 16, 1e-3))
        if ready():
            return True


def reshaped(view: rt.HalBufferView, shape) -> rt.HalBufferView:
    """The buffer of `view` seen with another `shape` of as many elements:
    buffers are dense and row-major, so this copies nothing (~2 us)."""
    return rt.HalBufferView(view.get_buffer(), shape, view.element_type)


class Reshape:
    """A program that runs nothing: its result is its operand's buffer seen
    at `shape` (a row-major reshape, `reshaped`), ready when its operand is:
    its call number is None, for the caller to take the operand's. (Not the
    last call queued: that may be a failed call's, which would lose a
    result computed since.)"""

    def __init__(self, device: Device, shape):
        self.device, self.shape = device, tuple(shape)

    def __call__(self, buffers, n_results: int):
        return [reshaped(buffers[0], self.shape)], None


def check_program(vmfb: bytes) -> None:
    """Raise IREE's error (one of IREE_ERRORS) if its VM cannot load
    `vmfb`, as Program would: not a well-formed program. No device needed;
    ~20 us for a small program."""
    rt.VmModule.copy_buffer(rt.VmInstance(), vmfb)


class Program:
    """A compiled module loaded on a device; calling it runs `@main`."""

    def __init__(self, device: Device, vmfb: bytes, host_functions=None):
        self.device = device
        _check_not_in_callback()
        # Loading runs the module's initializer, which queues work of its own
        # and waits for it on the host. On Vulkan (lavapipe) doing that while
        # other calls were still queued lost the device now and then
        # (VK_ERROR_DEVICE_LOST in vkSignalSemaphore, under load): drain first.
        device.drain()
        self._module = rt.VmModule.copy_buffer(device.instance, vmfb)
        imported = [host_module(device, host_functions)] if host_functions else []
        if imported:
            calling_back.add(self)
        # (A forked child runs every call inline, so it never makes the queued
        # context, whose initializer could wait on the parent's threads.)
        self._context = None if device._forked else rt.VmContext(
            device.instance, [device._hal_module, *imported, self._module])
        inline = device._inline_hal_module
        self._inline_context = inline and rt.VmContext(device.instance, [inline, *imported, self._module])
        self._main = self._module.lookup_function("main")
        self.inline_call = inline and self._inline_caller()
        # Whether every call runs on the calling thread whatever its inputs'
        # size (executable.small_steps: a loop of small dispatches).
        self.always_inline = False
        # Whether a queued call first waits for the calls queued before it
        # (executable.host_loops: IREE records its loops' work at the call).
        self.host_loops = False
        # About how many bytes a call reads and writes, where its module says
        # (executable.work_bytes); else its inputs' size stands for it.
        self.work = None

    def entry(self, name: str) -> "Program | None":
        """This loaded program, calling its function `name` instead of
        `@main` (the eager kernel library packs many kernels into one
        module, loaded once); None if it has no such function."""
        function = self._module.lookup_function(name)
        if function is None:
            return None
        program = copy.copy(self)
        program._main = function
        program.inline_call = program._inline_context and program._inline_caller()
        return program

    def __call__(self, buffers, n_results: int):
        """Queue a call on `buffers`: (result buffers, the call's number for
        Device.wait, or 0 when it has already finished)."""
        args = rt.VmVariantList(len(buffers) + 2)
        push = args.push_ref
        size = 0
        for b in buffers:  # (a loop: faster in 3.11 than map and attrgetter, whose lookups are not specialized)
            push(b)
            size += b.byte_length
        device = self.device
        limit = config.irax_inline_bytes  # (tests set -1 to queue every call)
        inline = self._inline_context
        work = size if self.work is None else self.work
        if inline is not None and (work <= limit or (self.always_inline and limit >= 0) or device._forked):
            return _results(self.inline_call(args, rt.VmVariantList(n_results)), n_results), 0
        # IREE signals a program's fence at once, from the host, when the
        # program has no device work (its results are constants, empty, or its
        # inputs), without waiting for its wait fence. Were that the timeline,
        # call n would pass calls still running: their results would read as
        # done, and their own signals would fail. So a queued call signals a
        # fence of its own, which the device joins into the timeline after the
        # call before it (Device._join).
        if self.host_loops and device._queued > device._finished:
            device.drain()
        call, wait, signal, signaled = device._next_call()
        push(wait)
        push(signal)
        try:
            with device.while_waiting if self.host_loops else NOT_WAITING:  # (its loops wait inside IREE's call)
                results = self._invoke(self._context, args, n_results)
        except DeviceError:
            try:
                signal.signal()  # nothing of it is queued: let the calls after it run
                device._join(call, signal)
            except IREE_ERRORS:
                pass  # the timeline had failed already: the next wait on it starts a new one
            raise
        device._join(call, signal)
        # The device reads the inputs later: their arrays may be gone by then,
        # so their buffers live on here until the call is done (freeing one
        # earlier lost the Vulkan device, and would let the CPU read freed memory).
        device._inputs.append((call, buffers, signaled))
        return results, call

    def _inline_caller(self):
        """`inline_call(args, results)`: the call on the calling thread (the
        inline twin), `args` holding its input buffers, once the queued calls
        are done, with empty fences; its results in the list `results` (a new
        one, or one an earlier call is done with: IREE empties it first).
        (The inline branch of __call__, and executable.fast_call's call,
        which checked the inputs' size.) A closure over what it looks up,
        made once per program: ~0.1 us less a call than a method's."""
        device, invoke, main, fail = self.device, self._inline_context.invoke, self._main, self._raise

        def inline_call(args: rt.VmVariantList, results: rt.VmVariantList) -> rt.VmVariantList:
            if device._queued > device._finished or _in_callback.depth:  # (Device._before_inline, inlined)
                device._before_inline()
            args.push_ref(NO_FENCE)
            args.push_ref(NO_FENCE)
            try:
                invoke(main, args, results)
            except IREE_ERRORS as error:  # IREE's, typed by its status code
                fail(error)
            return results

        return inline_call

    def _invoke(self, context, args, n_results: int) -> list:
        """Call `@main` in `context` on `args`: its result buffers, or
        DeviceError (from the callback that failed, if one did)."""
        results = rt.VmVariantList(n_results)
        try:
            context.invoke(self._main, args, results)
        except IREE_ERRORS as error:  # IREE's, typed by its status code
            self._raise(error)
        return _results(results, n_results)

    def _raise(self, error):
        raise_call_error(self.device, error, self.device._lost_device(error))


def raise_call_error(device, error, detail: str = ""):
    """Raise the DeviceError of IREE's `error` from a call on `device` (while
    handling it): from the callback's exception if a callback failed
    (host_module), else IREE's message; then `detail` (the device is lost:
    a callback waiting on it can be the first to see that). Any device's
    program raises it so (a plugin's too: irax.plugins.Program)."""
    failed, _in_callback.error = _in_callback.error, None
    if failed is not None:
        raise DeviceError(f"A callback failed in a computation on {device}: {type(failed).__name__}: "
                          f"{failed}{detail}") from failed
    raise DeviceError(f"A computation failed on {device}: {error}{detail}") from None


def _results(results: rt.VmVariantList, n: int) -> list:
    """The `n` result buffer views of a call."""
    if n == 1:  # (most calls: no comprehension to run)
        return [results.get_as_object(0, rt.HalBufferView)]
    return [results.get_as_object(i, rt.HalBufferView) for i in range(n)]


@dataclasses.dataclass(frozen=True)
class HostFunction:
    """A Python function that a program calls while it runs: `fn(*arrays)`
    gets the call's operands as NumPy arrays of `in_dtypes` (a buffer does not
    say whether its integers are signed) and returns `n_results` NumPy arrays
    of the types the program declares (its caller checks them)."""
    fn: object
    in_dtypes: tuple
    n_results: int


class _CallbackState(threading.local):
    depth = 0  # how many host functions this thread is running
    error = None  # the exception the last one raised, for Program.__call__ to raise from


_in_callback = _CallbackState()


def _check_not_in_callback():
    """A host function runs inside its program's call (in VmContext.invoke),
    before that call is done, so a call it made on a device would wait for
    it: refuse, rather than hang."""
    if _in_callback.depth:  # (a class default: a missing attribute would cost ~1 us per call)
        raise DeviceError("irax cannot run a computation inside a callback (irax.debug.callback, "
                          "irax.pure_callback, irax.debug.print): the program that called it is still running, "
                          "and the computation would wait for it forever. Compute with NumPy on the arrays the "
                          "callback receives.")


def host_module(device, host_functions: dict) -> rt.VmModule:
    """The VM module HOST_MODULE exporting `host_functions` ({name:
    HostFunction}) for one program on `device`: any irax.plugins.Device
    (it uses the device's `fetch` and `put`), whose `load` puts it in the
    program's VM context before the program's module.

    IREE calls an imported function that takes or returns tensors with
    buffer views, plus (under irax's async-external ABI) a wait fence that
    is signalled once its operands are computed (null where it takes none)
    and a signal fence to signal once its results are. An import not marked
    `nosideeffects` (none of irax's is) makes the program wait for that
    signal on the host before it goes on (IREE's WrapEntryPoints): so the
    callback runs on the thread that called the program, inside
    VmContext.invoke, after the ops its operands come from and before the
    ops that read its results; on a GPU, that is a device-to-host sync."""
    waiting = getattr(device, "while_waiting", NOT_WAITING)  # (irax's devices have one)

    def call(host_function, _state, *refs):
        buffers, (wait, signal) = refs[:-2], (r.deref(rt.HalFence, True) for r in refs[-2:])
        if wait is not None:
            with waiting:
                wait.wait()
        _in_callback.depth += 1
        try:
            views = [r.deref(rt.HalBufferView) for r in buffers]
            arrays = [device.fetch(v, dtype, v.shape) for v, dtype in zip(views, host_function.in_dtypes)]
            results = [device.put(r).ref for r in host_function.fn(*arrays)]
        except BaseException as error:  # IREE makes it a status: Program.__call__ raises it from there
            # (any exception: a debugger's `q`, or its end of input without a terminal, is a SystemExit)
            _in_callback.error = error
            raise
        finally:
            _in_callback.depth -= 1
        if signal is not None:
            signal.signal()
        return results[0] if len(results) == 1 else tuple(results)

    interface = rt.PyModuleInterface(HOST_MODULE, lambda _interface: None)
    for name, host_function in host_functions.items():
        # IREE's calling convention string: "0", argument kinds, "_", result
        # kinds ("v": none); "r" is a reference (buffer view or fence).
        signature = "0" + "r" * (len(host_function.in_dtypes) + 2) + "_" + ("r" * host_function.n_results or "v")
        interface.export(name, signature, functools.partial(call, host_function))
    return interface.create()


# How many free buffers of one size Device.empty keeps for later.
SPARES = 2


def _keep_spare(spare: list, raw: np.ndarray) -> None:
    if len(spare) < SPARES:
        spare.append(raw)
