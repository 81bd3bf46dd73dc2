"""Tiered jit: a staged program's first call runs at once while IREE compiles it.

A jitted function's first call costs a trace, the pass pipeline and an IREE
compile; the compile is most of it (~0.2 s for the smallest module, 1-3 s
for a training step on this 2-core machine, where JAX's whole first call is
~0.3-0.4 s). With IRAX_TIERED_JIT=1 (the default) a program met for the
first time (staging.run_staged: jit, eager grad, eager control flow; and
eager.py's kernels, each serving every shape of its rank) runs in two tiers:

  tier 1  the module the passes made, `differentiate` included, evaluated
          op by op with NumPy (ir/evaluate.py) on host copies of the
          operands, its results put on the device: no compile at all. The
          module's text is meanwhile compiled by a background thread (one
          per core beside the calling thread's, when several compiles wait).
  tier 2  the compiled program. The first call that finds its compile done
          loads it and puts it in the Executable's place (`made.program`),
          where jit's warm path and the staged-program cache find it: from
          then on a call is exactly an untiered one.

What is the same on both: the trace happens once, before either tier, so
Python side effects and trace errors (ConcretizationTypeError, shape
errors) happen once, as in JAX; donation (executable.run deletes donated
operands after either program); results are irax Arrays on the call's
device. What differs: tier 1 runs on the calling thread, after the
device's queued work (it sees buffers, not the arrays that know their
calls), and its results are ready when the call returns, where tier 2
queues the work; its floats may differ from IREE's in the last bits. A
program whose evaluation fails at run time, or whose compile failed, takes
tier 2's path: the call waits for the compile, and a compile error is raised
there, as untiered. So does an evaluation still in a loop when the compile
is done (a loop of many steps in Python can take far longer than its
compile: evaluate.Abandoned).

No tier 1 (the compile is done on the calling thread, as before) when the
compile cache already has the program, on a device that is not the host's
CPU (a GPU's program evaluated on the host would copy every operand there
and could take longer than its compile), for a backend that is not an IREE
one, for a program with Python callbacks, for a call traced for itself
alone (key None), when the module holds an op the evaluator does not
know, or when NumPy would take longer than the compile (EVALUATED_AT_MOST
element operations; a generic over a size not static gives up after a step
of its body once the compile is done). The background threads count their compiles in `tiered.stats`, not in
cache.stats(), which counts those a caller waited for; at exit the compiles not begun are dropped and the one
running is waited for (an interpreter torn down under a running compile
leaves IREE objects its bindings list as leaked); the disk cache's writes
are atomic, so a compile cut short leaves nothing half written.
"""
import atexit
import concurrent.futures
import functools
import math
import os
import queue
import threading

import numpy as np
import threadpoolctl

from irax.backends import cache
from irax.config import config
from irax.frontend import executable
from irax.ir import evaluate, mlir, types


HOST_PLATFORMS = ("cpu",)  # where tier 1 runs: devices whose processor is the host's


def build(device, traced, lifted, aliases, tier: bool) -> executable.Executable:
    """The Executable of `traced` (after the passes) on `device`: its program
    compiled and loaded now, or, with `tier` and where tier 1 applies, a
    FirstTier standing in for it until its background compile is done."""
    made = executable.Executable(None, traced.out_avals, lifted, traced.out_tree, aliases)
    compiling = tier and not traced.trace.host_functions and start(device, traced.module)
    made.program = compiling.program_for(made) if compiling else executable.load(
        device, device.backend.compile(str(traced.module)), traced.trace.host_functions, traced.module)
    return made


def kernel(kernels, key, device, made, build):
    """The program of the Executable `made` from `kernels` (an LRU of
    programs, by `key`; `build()` makes the module on a miss), shared by
    every Executable of that key (an eager kernel serves every shape of its
    rank): loaded, or while it compiles in the background, `made`'s
    FirstTier of it; compiled now where tier 1 does not apply."""
    program = kernels.get(key)
    if program is None:
        module = build()
        program = kernels[key] = start(device, module) or executable.load(
            device, device.backend.compile(str(module)), None, module)
    if isinstance(program, Compiling):
        if program.loaded is None:
            return program.program_for(made)
        program = kernels[key] = program.loaded
    return program


def start(device, module) -> "Compiling | None":
    """The background compile of `module` (after the passes) for `device`,
    its NumPy evaluation standing in meanwhile; None where the compile is
    done at once instead (see the module docstring)."""
    backend = device.backend
    if not _applies(device):
        return None
    with module.context:
        if _element_ops(module) > EVALUATED_AT_MOST:
            return None
    compile_arguments = _compile_arguments(backend, str(module))
    if cache.find(compile_arguments[3]) is not None:
        return None
    try:
        with module.context:
            run = evaluate.prepare(module)
            main = next(op for op in module.body.operations
                        if op.operation.name == "func.func" and op.attributes["sym_name"].value == "main")
            dtypes = [mlir.aval_parts(a.type)[1] for a in main.regions[0].blocks[0].arguments]
    except Exception:  # Unsupported, or a module the evaluator misreads: never the call's error
        return None
    return Compiling(device, run, dtypes, compile_arguments, executable.call_traits(module))


def _applies(device) -> bool:
    """Whether programs for `device` compile in the background (the module docstring)."""
    return (config.irax_tiered_jit and device.platform in HOST_PLATFORMS
            and hasattr(device.backend, "target_backend"))


def background(device, build) -> "Compiling | None":
    """The compile of `build()`'s module (after the passes) for `device` in
    the background, with no tier 1 beside it: the caller runs another
    program meanwhile (eager.py's exact-shape kernel of a hot signature)
    and takes `load()` once `compiled.done()`. None where programs for
    `device` do not compile in the background."""
    if not _applies(device):
        return None
    module = build()
    return Compiling(device, None, None, _compile_arguments(device.backend, str(module)),
                     executable.call_traits(module))


# Tier 1 is for programs NumPy runs faster than IREE compiles them (~0.3 s
# and up): a generic's body runs op by op on whole arrays, ~1 ns an element
# per op. `jit(lambda k: random.normal(k, (10**7,)))`, a body of hundreds of
# ops on 1e7 elements, took 27 s evaluated, where its compile takes 0.5.
EVALUATED_AT_MOST = 1 << 27


def _element_ops(module) -> float:
    """About how many element operations evaluating `module` takes: for each
    linalg.generic, the elements of its biggest operand or result times the
    ops of its body (a loop's steps counted once; 0 for a size not static,
    the evaluation then gives up once the compile is done)."""
    total = 0.0
    for op in mlir.ops_where(module.operation, lambda op: op.name == "linalg.generic"):
        sizes = [n for v in [*op.operands, *op.results] if math.isfinite(n := executable.elements(v.type))]
        total += max(sizes, default=0) * len(op.regions[0].blocks[0].operations)
    return total


def _compile_arguments(backend, text) -> tuple:
    """cache.cached_compile's arguments, with the key, for what backend.compile(text) compiles."""
    if hasattr(backend, "compile_arguments"):  # (an IreeBackend: its prepare step runs at a miss only)
        return backend.compile_arguments(text)
    target, flags = backend.target_backend, tuple(backend.compile_flags)
    text = backend.prepare(text) if hasattr(backend, "prepare") else text
    return text, target, flags, cache.text_key(text, target, flags)


class Compiling:
    """A module compiling in the background (`compiled`, a Future of its
    vmfb), and `run`, its NumPy evaluation, for the calls made meanwhile.
    One module may serve several Executables (an eager kernel serves every
    shape of its rank): each gets its own FirstTier (program_for)."""

    def __init__(self, device, run, dtypes, compile_arguments, traits):
        self.device, self.run, self.dtypes, self.traits = device, run, dtypes, traits
        self.compile_arguments, self.compiled = compile_arguments, _submit(*compile_arguments)
        self.forks = _forks  # (a forked child has no background threads: it compiles on the calling thread)
        self.loaded = None  # the compiled program, once a call has loaded it

    def program_for(self, made):
        """`made`'s program: the compiled one if loaded, else a FirstTier."""
        return self.loaded or FirstTier(made, self)

    def evaluating(self) -> bool:
        """Whether calls are still to be evaluated: the compile is under way (in this process's thread)."""
        return self.loaded is None and not self.compiled.done() and self.forks == _forks

    def load(self):
        """The compiled program, loaded once (waiting for its compile)."""
        if self.loaded is None:
            ours = self.compiled.done() or self.forks == _forks
            vmfb = self.compiled.result() if ours else cache.cached_compile(*self.compile_arguments)
            program = executable.load(self.device, vmfb, None, traits=self.traits)
            self.loaded, self.run = program, None  # (run holds the module)
        return self.loaded


class FirstTier:
    """The program of the Executable `made` while its module is `compiling`:
    a call evaluates the module with NumPy, which gives up in a loop once
    the compile is done (evaluate.Abandoned: a long loop evaluated op by op
    can take longer than the compile); the first call after it loads the
    compiled program and puts it in `made`'s place."""

    def __init__(self, made, compiling):
        self.made, self.compiling = made, compiling

    def __call__(self, buffers, n_results: int):
        if self.compiling.evaluating():
            try:
                return self.evaluate(buffers), 0  # (0: the call has finished)
            except Exception:  # NumPy refused an operand (an index out of bounds), or the compile finished
                # in a long loop (evaluate.Abandoned): the program decides
                pass
        return self.swap()(buffers, n_results)

    def evaluate(self, buffers) -> list:
        compiling = self.compiling
        device = compiling.device
        device.drain()  # the operands may still be being computed
        arrays = [device.fetch(b, dtype, b.shape) for b, dtype in zip(buffers, compiling.dtypes)]
        with _blas().limit(limits=BLAS_THREADS):
            outs = compiling.run(arrays, compiling.compiled.done)  # (a long loop gives up once the program is there)
        return [device.put(_as_aval(y, a)) for y, a in zip(outs, self.made.out_avals)]

    def swap(self):
        """The compiled program (waiting for its compile), now `made`'s program."""
        self.made.program = self.compiling.load()
        return self.made.program


# BLAS threads for an evaluation: the compile thread has a core. (On 2 cores
# under load, OpenBLAS's two spinning threads made an attention gradient's
# evaluation 250 ms where one thread took 8.)
BLAS_THREADS = max(1, (os.cpu_count() or 2) - 1)


@functools.cache
def _blas():
    """NumPy's BLAS thread pool, whichever library it is (threadpoolctl finds it, ~5 ms once)."""
    return threadpoolctl.ThreadpoolController().select(user_api="blas")


def _as_aval(y, aval) -> np.ndarray:
    """A result of the evaluator as the array of `aval`: integers it holds
    signed (MLIR's carry no sign) are seen as the aval's unsigned ones, and
    the i8 bit patterns of 8- and 4-bit floats as those floats, not
    converted by value."""
    y = np.asarray(y)
    if y.dtype != aval.dtype:
        same_bits = (y.dtype.kind in "iu" and (types.is_int(aval.dtype) or types.is_bit_float(aval.dtype))
                     and y.dtype.itemsize == aval.dtype.itemsize)
        y = y.view(aval.dtype) if same_bits else y.astype(aval.dtype)
    return np.ascontiguousarray(y).reshape(aval.shape)


# ---------------------------------------------------------------------------
# The background compiles: daemon threads taking them in the order asked, one
# more while more are waiting, up to a core each beside the calling thread's.

# It is given the compile's target and flags, never the backend: that holds its
# devices, which a thread's references would keep alive past the
# interpreter's teardown (IREE's bindings then list them as leaked).
_queue = queue.Queue()  # (Future, cache.cached_compile's arguments)
COMPILE_THREADS = max(1, (os.cpu_count() or 2) - 1)
_threads = []
_thread_lock = threading.Lock()
_exiting = False
stats = {"compiles": 0}  # the background threads' compiles (cache.stats() counts the others)
_forks = 0  # how many times this process is a child forked from one that ran tiered jit's thread


def _submit(*compile_arguments) -> concurrent.futures.Future:
    """A Future of `cache.cached_compile(*compile_arguments)`, run by a background thread."""
    future = concurrent.futures.Future()
    _queue.put((future, compile_arguments))
    with _thread_lock:
        if len(_threads) < min(COMPILE_THREADS, _queue.unfinished_tasks):  # (the compiles asked for and not done)
            thread = threading.Thread(target=_compile_in_background, name="irax-tiered-jit", daemon=True)
            thread.start()
            _threads.append(thread)
    return future


def _compile_in_background():
    cache.count_compiles_in(stats)
    while True:
        future, compile_arguments = _queue.get()
        try:
            if not _exiting and future.set_running_or_notify_cancel():
                try:
                    future.set_result(cache.cached_compile(*compile_arguments))
                except BaseException as error:  # raised by the call that waits for it (FirstTier.swap)
                    future.set_exception(error)
        finally:
            del future, compile_arguments  # (nothing of it stays referenced while the thread waits)
            _queue.task_done()


def wait() -> None:
    """Block until the background compiles asked for so far are done (so
    that the next calls of their programs run compiled)."""
    _queue.join()


def _after_fork_in_child():
    """The parent's thread is not in a forked child: its compiles under way
    will not finish here (FirstTier compiles them on the calling thread),
    and exit must not wait for them."""
    global _queue, _threads, _forks
    _queue, _threads, _forks = queue.Queue(), [], _forks + 1


if hasattr(os, "register_at_fork"):  # Unix only
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _finish():
    global _exiting
    _exiting = True
    _queue.join()
