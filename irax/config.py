"""Settings: every knob irax has, declared once below (the `Config` class body).

    irax.config.update("irax_enable_x64", True)   # or IRAX_ENABLE_X64=1
    irax.config.irax_enable_x64                   # what it is now

Each setting is also an environment variable, its name in capitals:

    IRAX_ENABLE_X64     64-bit mode: int64/float64 stay 64-bit instead of
                        being narrowed to int32/float32 (JAX's jax_enable_x64).
    IRAX_CACHE_DIR      where compiled programs are kept on disk
                        (default: ~/.cache/irax, or $XDG_CACHE_HOME/irax).
    IRAX_DISABLE_CACHE  1: never read or write the disk cache.
    IRAX_CACHE_SIZE     how many entries each in-memory cache of compiled or
                        loaded programs keeps, the least recently used
                        dropped first (default 4096; backends/cache.py).
    IRAX_LOG_COMPILES   1: print one line to stderr for every trace of a jitted
                        (or grad) function, saying what changed since its
                        last compile, and one for every IREE compile.
    IRAX_DISABLE_JIT    1: jitted functions run as plain Python, op by op
                        (JAX's jax_disable_jit; irax.disable_jit() for a block).
    IRAX_INLINE_BYTES   calls whose inputs total at most this many bytes run on
                        the calling thread (default 1048576; see backends/runtime.py).
    IRAX_PLATFORMS      which backends to use, in order (e.g. "vulkan,cpu";
                        default: all, by priority). Changing it after arrays
                        exist moves the default device for new arrays only.
    IRAX_PASSES         the pass pipeline, by pass name (default "default";
                        e.g. "default,count-ops" or "default,-cse"; see
                        transforms/pipeline.py).
    IRAX_CPU_DEVICES    how many devices the CPU backend is split into (default
                        1), for irax.pmap on one machine (JAX's
                        --xla_force_host_platform_device_count); they share
                        one pool of worker threads. Read when the CPU backend
                        first makes its devices: set it before irax runs.
    IRAX_CPU_WORKERS    how many worker threads the CPU backend runs (default
                        0: IREE's choice, one per core). Read when the CPU
                        backend first makes its devices, as IRAX_CPU_DEVICES.
    IRAX_CPU_KERNELS    0: the CPU runs the factorizations' loops (cholesky,
                        lu, triangular solves) as the portable host loops
                        every backend has, not as its native kernels
                        (backends/cpu_kernels.py; default 1).
    IRAX_DISTRIBUTED_TIMEOUT  seconds a process waits at a collective for
                        the other processes (irax.distributed) before it
                        raises, rather than hang on one that died (default 300).
    IRAX_KERNEL_LIBRARY which eager kernels come from the prebuilt library
                        (frontend/kernel_library.py; `irax cache warm` builds
                        it): "all" (default), "none", or primitive names
                        ("add,sin,reduce_sum").
    IRAX_KERNEL_LIBRARY_BACKGROUND  1: a process builds the library kernels
                        of each op it uses in a background thread (default 0).
    IRAX_TIERED_JIT     1 (default): a program met for the first time on
                        the CPU (a jitted or other staged function, an eager
                        op's kernel) runs at once, evaluated op by op with
                        NumPy, while IREE compiles it in a background thread;
                        later calls run the compiled program once it is ready
                        (frontend/tiered.py). 0: the first call waits for the
                        compile, and every call gives the same bits.
    IRAX_DEBUG_NANS     1: a computation whose result holds a NaN raises
                        FloatingPointError, naming the op (eager) or the
                        staged function (jit: run it under irax.disable_jit()
                        to find the op); each call then waits for its results
                        (JAX's jax_debug_nans; `with irax.debug_nans(True):`).
    IRAX_DEBUG_INFS     1: the same for an inf (jax_debug_infs).
    IRAX_NO_TRACING     1: a call that would trace a function raises
                        RuntimeError naming it; kept programs run
                        (jax_no_tracing; `with irax.no_tracing(True):`).
    IRAX_NO_EXECUTION   1: a computation raises RuntimeError before it runs;
                        tracing and lowering do not (jax_no_execution).
    IRAX_THREEFRY_PARTITIONABLE  1 (default): random bits as JAX's default,
                        partitionable threefry scheme; 0: as its earlier one
                        (jax_threefry_partitionable; random/keys.py).
    IRAX_DEFAULT_PRNG_IMPL  the PRNG implementation of raw keys and of keys
                        made without impl=: threefry2x32 (default), rbg,
                        unsafe_rbg, philox4x32, philox2x32 or threefry4x32
                        (jax_default_prng_impl; random/prng.py).
    IRAX_LEGACY_PRNG_KEY  allow (default), warn or error where a raw uint32
                        key reaches a jax.random function (jax_legacy_prng_key).
    IRAX_NUMPY_DTYPE_PROMOTION  standard (default) or strict: implicit
                        promotion between different dtypes raises
                        TypePromotionError (jax_numpy_dtype_promotion).
    IRAX_NUMPY_RANK_PROMOTION  allow (default), warn or raise where jnp
                        broadcasts operands of different ranks.
    IRAX_EAGER_CONSTANT_FOLDING  1: ops on concrete arrays run at trace
                        time (irax.ensure_compile_time_eval()).
    IRAX_DEFAULT_MATMUL_PRECISION  JAX's precision names; recorded (irax's
                        matmuls are exact in their dtype, as JAX's on CPU).
    IRAX_TRANSFER_GUARD  allow, log, disallow, log_explicit or
                        disallow_explicit, every direction; recorded (irax
                        guards no transfers), as are the directions':
    IRAX_TRANSFER_GUARD_HOST_TO_DEVICE  the same, host to device,
    IRAX_TRANSFER_GUARD_DEVICE_TO_DEVICE  device to device,
    IRAX_TRANSFER_GUARD_DEVICE_TO_HOST  device to host.
    IRAX_CHECK_TRACER_LEAKS  1/0, recorded: irax always reports a leaked tracer.
    IRAX_DEBUG_KEY_REUSE  1/0, recorded.
    IRAX_ENABLE_CHECKS  1/0, recorded.
    IRAX_EXPLAIN_CACHE_MISSES  1/0, recorded (IRAX_LOG_COMPILES says why a
                        function is traced again).
    IRAX_REMAT3         1/0, recorded (jax_remat3: JAX 0.10's new remat,
                        which its remat tutorial turns on).
    IRAX_CUDA_TARGET    the GPU the cuda backend compiles for (default sm_80).
    IRAX_ROCM_TARGET    the GPU the rocm backend compiles for (default gfx942).

A variable is read when its setting is first used, not at `import irax`, and
`config.update` (or assigning `config.<name>`) overrides it from then on; the
code that uses a setting asks `config.<name>` each time, so an update is seen
by the next operation, compile or device lookup. Values are checked the same
way from either place: a switch is 1/0, true/false, yes/no or on/off (JAX's
spellings, any case), and anything a setting does not accept, such as a
byte count that is not a number, is a ValueError naming the variable (or the
option) and what it accepts, rather than silently meaning "off". Backend and
pass names are checked against the registry where they are used.
"""
import contextlib
import os
import re
from typing import Any, Callable, Iterator, NamedTuple

_TRUTH = {"y": True, "yes": True, "t": True, "true": True, "on": True, "1": True,
          "n": False, "no": False, "f": False, "false": False, "off": False, "0": False}
# IREE 3.13 crashes the whole process (SIGSEGV) on a CUDA target name it does
# not know, such as `hopper` or a typo, so only these reach it: a compute
# capability sm_NN or one of the names it knows.
CUDA_NAMED_TARGETS = ("pascal", "volta", "turing", "ampere", "ada", "a100", "rtx3090", "rtx4090")


def _matching(pattern: str, convert=str) -> Callable[[str], Any]:
    def parse(text):
        if not re.fullmatch(pattern, text):
            raise ValueError(text)
        return convert(text)
    return parse


def _names(text: str) -> str:
    """One spelling per list ("a, b," is "a,b"): programs are cached under it."""
    return ",".join(n.strip() for n in text.split(",") if n.strip())


def _directory(text: str) -> str:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return text or os.path.join(base, "irax")


class Kind(NamedTuple):
    """What a setting's values are: `parse` turns text into the value or raises
    KeyError/ValueError; `noun` and `accepts` word the error, or `jax_error`
    (given the value) words it as JAX does for `config.update` and the context
    managers, for the settings that only JAX's names reach."""
    parse: Callable[[str], Any]
    accepts: str
    noun: str = "value"
    jax_error: Callable[[Any], str] | None = None


def _choice(*values: str, optional: bool = False, enum_name: str | None = None) -> Kind:
    """One of `values` (or, if `optional`, None: "" or "None"). JAX words a bad
    one as its enum_state does, or as Python's Enum where it is one (`enum_name`)."""
    allowed = (("", "None") if optional else ()) + values

    def parse(text):
        if text not in allowed:
            raise ValueError(text)
        return text if text in values else None

    if enum_name:
        def jax_error(given):
            return f"{given!r} is not a valid {enum_name}"
    else:
        def jax_error(given):
            return (f"new enum value must be {'None or ' if optional else ''}in {list(values)}, "
                    f"got {given} of type {type(given)}.")
    return Kind(parse, ("None or " if optional else "") + "one of " + ", ".join(values), jax_error=jax_error)


SWITCH = Kind(lambda text: _TRUTH[text.lower()], "1/0, true/false, yes/no or on/off (any case)",
              "truth value")  # JAX's rule and wording (jax/_src/config.py bool_env)
BYTES = Kind(_matching(r"\d+", int), "a number of bytes, a non-negative integer such as 1048576")
COUNT = Kind(_matching(r"[1-9]\d*", int), "a number of entries, a positive integer such as 4096")
DEVICES = Kind(_matching(r"[1-9]\d*", int), "a number of devices, a positive integer such as 4")
WORKERS = Kind(_matching(r"\d+", int), "a number of worker threads, a non-negative integer (0: one per core)")
SECONDS = Kind(_matching(r"\d+(\.\d*)?", float), "a number of seconds, such as 300 or 0.5")
NAMES = Kind(_names, "names separated by commas")
DIRECTORY = Kind(_directory, "a directory")
CUDA_TARGET = Kind(_matching("sm_\\d+|" + "|".join(CUDA_NAMED_TARGETS)),
                   f"a compute capability such as sm_80 or sm_89, or one of {', '.join(CUDA_NAMED_TARGETS)}")
# JAX's choices (jax/_src/config.py), with its words for a bad one.
DTYPE_PROMOTION = _choice("standard", "strict", enum_name="NumpyDtypePromotion")
PRNG_IMPL = _choice("threefry2x32", "threefry4x32", "rbg", "unsafe_rbg", "philox2x32", "philox4x32")
LEGACY_KEYS = _choice("allow", "warn", "error")
RANK_PROMOTION = _choice("allow", "warn", "raise")
PRECISION = _choice("default", "high", "highest", "bfloat16", "tensorfloat32", "float32", "ANY_F8_ANY_F8_F32",
                    "ANY_F8_ANY_F8_F32_FAST_ACCUM", "ANY_F8_ANY_F8_ANY", "ANY_F8_ANY_F8_ANY_FAST_ACCUM", "F16_F16_F16",
                    "F16_F16_F32", "BF16_BF16_BF16", "BF16_BF16_F32", "BF16_BF16_F32_X3", "BF16_BF16_F32_X6",
                    "BF16_BF16_F32_X9", "TF32_TF32_F32", "TF32_TF32_F32_X3", "F32_F32_F32", "F64_F64_F64",
                    optional=True)
TRANSFER_GUARD = _choice("allow", "log", "disallow", "log_explicit", "disallow_explicit", optional=True)
ROCM_TARGET = Kind(_matching(r"gfx[0-9a-f]+|(mi|rx|w)\d+[a-z]*"),
                   "an AMD GPU architecture such as gfx942 or gfx1100, or a product such as mi300x or rx7900xtx")


def _text(value) -> str:
    """A value given to `update` as the variable would spell it, so both are checked alike."""
    if isinstance(value, (list, tuple)):
        return ",".join(value)
    return str(value)


class Setting:
    """One setting. Read from the environment on first use, then kept in the
    Config instance's __dict__, where it shadows this (non-data) descriptor:
    some settings are read several times per eager op, so a read after the
    first must cost no more than a plain attribute."""

    def __init__(self, kind: Kind, default: str, doc: str):
        self.kind, self.default, self.__doc__ = kind, default, doc

    def __set_name__(self, owner, name):
        self.name, self.variable = name, name.upper()

    def __get__(self, config, owner=None):
        if config is None:
            return self
        text = os.environ.get(self.variable, self.default)
        value = config.__dict__[self.name] = self.parse(text, text, f"environment {self.variable!r}")
        return value

    def parse(self, text: str, given, where: str, jax_words: bool = False):
        try:
            return self.kind.parse(text)
        except (KeyError, ValueError):
            if jax_words and self.kind.jax_error:
                raise ValueError(self.kind.jax_error(given)) from None
            raise ValueError(f"invalid {self.kind.noun} {given!r} for {where}: expected {self.kind.accepts}") from None


class Config:
    irax_enable_x64 = Setting(SWITCH, "0", "64-bit mode (jax_enable_x64)")
    irax_cache_dir = Setting(DIRECTORY, "", "where compiled programs are kept on disk")
    irax_disable_cache = Setting(SWITCH, "0", "never read or write the disk cache")
    irax_cache_size = Setting(COUNT, "4096", "how many programs each in-memory cache keeps")
    irax_log_compiles = Setting(SWITCH, "0", "one line on stderr for every trace and IREE compile")
    irax_disable_jit = Setting(SWITCH, "0", "jitted functions run as plain Python, op by op (jax_disable_jit)")
    irax_inline_bytes = Setting(BYTES, "1048576", "calls that read and write at most this many bytes (their inputs' size, where the program does not say) run on the calling thread")
    irax_platforms = Setting(NAMES, "", "backends to use, in order; empty: all, by priority")
    irax_passes = Setting(NAMES, "default", "the pass pipeline, by pass name")
    irax_cpu_devices = Setting(DEVICES, "1", "how many devices the CPU backend is split into")
    irax_cpu_workers = Setting(WORKERS, "0", "how many worker threads the CPU backend runs (0: one per core)")
    irax_cpu_kernels = Setting(SWITCH, "1", "the CPU runs the factorizations' loops as native kernels")
    irax_distributed_timeout = Setting(SECONDS, "300", "seconds to wait at a collective for the other processes")
    irax_kernel_library = Setting(NAMES, "all", "the prebuilt eager kernels to use: all, none or primitive names")
    irax_kernel_library_background = Setting(SWITCH, "0", "build the library kernels of the ops used, in the background")
    irax_tiered_jit = Setting(SWITCH, "1", "first calls of programs run at once while they compile")
    irax_debug_nans = Setting(SWITCH, "0", "raise FloatingPointError where a result holds a NaN (jax_debug_nans)")
    irax_debug_infs = Setting(SWITCH, "0", "raise FloatingPointError where a result holds an inf (jax_debug_infs)")
    irax_no_tracing = Setting(SWITCH, "0", "raise RuntimeError where a function would be traced (jax_no_tracing)")
    irax_no_execution = Setting(SWITCH, "0", "raise RuntimeError where a computation would run (jax_no_execution)")
    irax_threefry_partitionable = Setting(SWITCH, "1", "random bits by JAX's partitionable threefry scheme "
                                          "(jax_threefry_partitionable; 0: its earlier one)")
    irax_default_prng_impl = Setting(PRNG_IMPL, "threefry2x32", "the PRNG implementation of raw keys and of keys "
                                     "made without impl= (jax_default_prng_impl)")
    irax_legacy_prng_key = Setting(LEGACY_KEYS, "allow", "what a raw uint32 key passed to irax.random does: "
                                   "allow, warn or error (jax_legacy_prng_key)")
    irax_numpy_dtype_promotion = Setting(DTYPE_PROMOTION, "standard",
                                         "strict: no implicit promotion between different dtypes")
    irax_numpy_rank_promotion = Setting(RANK_PROMOTION, "allow", "jnp's broadcasting of operands of different ranks: "
                                        "allow, warn or raise")
    irax_eager_constant_folding = Setting(SWITCH, "0", "ops on concrete arrays run at trace time "
                                          "(irax.ensure_compile_time_eval)")
    # Accepted and recorded, as JAX on CPU: irax's matmuls are exact in their
    # dtype on every backend, it keeps no cross-trace state to check, no keys
    # are tracked for reuse, and transfers are never guarded.
    irax_default_matmul_precision = Setting(PRECISION, "", "matmul precision (recorded; irax's matmuls are exact)")
    irax_transfer_guard = Setting(TRANSFER_GUARD, "", "transfer guard, every direction (recorded)")
    irax_transfer_guard_host_to_device = Setting(TRANSFER_GUARD, "", "host to device transfer guard (recorded)")
    irax_transfer_guard_device_to_device = Setting(TRANSFER_GUARD, "", "device to device transfer guard (recorded)")
    irax_transfer_guard_device_to_host = Setting(TRANSFER_GUARD, "", "device to host transfer guard (recorded)")
    irax_check_tracer_leaks = Setting(SWITCH, "0", "check for leaked tracers (recorded: irax always does)")
    irax_debug_key_reuse = Setting(SWITCH, "0", "check random keys are not reused (recorded)")
    irax_enable_checks = Setting(SWITCH, "0", "internal checks (recorded)")
    irax_explain_cache_misses = Setting(SWITCH, "0", "explain retraces (recorded; see irax_log_compiles)")
    irax_remat3 = Setting(SWITCH, "0", "JAX 0.10's new remat (recorded; irax has one remat)")
    irax_cuda_target = Setting(CUDA_TARGET, "sm_80", "the GPU the cuda backend compiles for")
    irax_rocm_target = Setting(ROCM_TARGET, "gfx942", "the GPU the rocm backend compiles for")

    # How many times a setting was changed (update): what a warm call read of
    # the settings holds while this is the same (executable.fast_call).
    changes = 0

    @classmethod
    def settings(cls) -> dict:
        """Every setting by name."""
        return {name: s for name, s in vars(cls).items() if isinstance(s, Setting)}

    def update(self, name: str, value) -> None:
        """Set a setting (jax.config.update), checked as its variable would be."""
        setting = self.settings().get(JAX_NAMES.get(name, name))
        if setting is None:
            raise AttributeError(f"Unrecognized config option: {name}. Known options: {', '.join(self.settings())}")
        parsed = setting.parse(_text(value), value, f"config option {name!r}", jax_words=True)
        if setting.name in _FIXED and parsed != getattr(self, setting.name):
            raise RuntimeError(f"{name} config should be updated before {_FIXED[setting.name]}, i.e. before any "
                               f"irax operation is executed. You should initialize this config immediately after "
                               f"`import irax`.")
        self.__dict__[setting.name] = parsed
        self.__dict__["changes"] = self.changes + 1

    def fix(self, name: str, what: str) -> None:
        """Make setting `name` fixed from now on: `what` (e.g. "the CPU's
        devices are made") read it, and a later change would not apply.
        update() then refuses a new value, as JAX refuses jax_num_cpu_devices."""
        _FIXED[name] = what

    def __getattr__(self, name):  # reached only for names that are not settings
        if name in JAX_NAMES:
            return getattr(self, JAX_NAMES[name])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    __setattr__ = update  # `config.irax_enable_x64 = True` and monkeypatch.setattr are checked too

    def trace_context(self) -> tuple:
        """The settings that change what a function traces to (JAX's trace
        context): 64-bit mode, the promotion rules, eager constant folding,
        the random bits' scheme and the default PRNG implementation (raw
        keys'). Part of every staged program's key, so a jitted function
        called under another `with irax.enable_x64(...)` traces again.
        Read again only after a setting changed (one compare a call)."""
        made_at, context = self.__dict__.get("_trace_context", (None, None))
        if made_at != self.changes:
            context = (self.irax_enable_x64, self.irax_numpy_dtype_promotion, self.irax_numpy_rank_promotion,
                       self.irax_eager_constant_folding, self.irax_threefry_partitionable,
                       self.irax_default_prng_impl)
            self.__dict__["_trace_context"] = (self.changes, context)
        return context

    @property
    def x64_enabled(self) -> bool:
        return self.irax_enable_x64


_FIXED = {}  # setting -> what read it, after which it may not change (Config.fix)


# JAX's names for the settings that mean the same in irax: code written for
# JAX (jax.config.update("jax_enable_x64", True)) reads and sets them as it is.
JAX_NAMES = {"jax_enable_x64": "irax_enable_x64", "jax_disable_jit": "irax_disable_jit",
             "jax_debug_nans": "irax_debug_nans", "jax_debug_infs": "irax_debug_infs",
             "jax_no_tracing": "irax_no_tracing", "jax_no_execution": "irax_no_execution",
             "jax_threefry_partitionable": "irax_threefry_partitionable",
             "jax_default_prng_impl": "irax_default_prng_impl", "jax_legacy_prng_key": "irax_legacy_prng_key",
             "jax_log_compiles": "irax_log_compiles", "jax_platforms": "irax_platforms",
             "jax_platform_name": "irax_platforms", "jax_compilation_cache_dir": "irax_cache_dir",
             "jax_num_cpu_devices": "irax_cpu_devices",
             **{f"jax_{name}": f"irax_{name}" for name in (
                 "numpy_dtype_promotion", "numpy_rank_promotion", "default_matmul_precision", "transfer_guard",
                 "transfer_guard_host_to_device", "transfer_guard_device_to_device", "transfer_guard_device_to_host",
                 "check_tracer_leaks", "debug_key_reuse", "enable_checks", "explain_cache_misses", "remat3")}}


class Override:
    """A setting as JAX's top-level context managers have it:
    `with irax.debug_nans(True):` sets it for the block (then restores it),
    and `.value` is what it is now."""

    def __init__(self, name: str):
        self.name = name

    @property
    def value(self):
        return getattr(config, self.name)

    @contextlib.contextmanager
    def __call__(self, new_val=True):
        old = self.value
        config.update(self.name, new_val)
        try:
            yield
        finally:
            config.update(self.name, old)

config = Config()

TRANSFER_GUARDS = ("irax_transfer_guard_host_to_device", "irax_transfer_guard_device_to_device",
                   "irax_transfer_guard_device_to_host", "irax_transfer_guard")


@contextlib.contextmanager
def transfer_guard(new_val: str) -> Iterator[None]:
    """jax.transfer_guard: the transfer guard of every direction set to
    `new_val` ("allow", "log", "disallow", ...) for the block. Recorded
    (`config.jax_transfer_guard`); irax guards no transfers."""
    with contextlib.ExitStack() as stack:
        for name in TRANSFER_GUARDS:
            stack.enter_context(Override(name)(new_val))
        yield


@contextlib.contextmanager
def ensure_compile_time_eval() -> Iterator[None]:
    """jax.ensure_compile_time_eval: inside the block, an op whose operands
    are all concrete arrays runs at once, even while a function is traced
    (jit, grad), so its result is concrete: Python may branch on it. Ops on
    traced values are staged as ever."""
    with Override("irax_eager_constant_folding")(True):
        yield


def checking_leaks() -> contextlib.AbstractContextManager:
    """jax.checking_leaks: `check_tracer_leaks(True)` for a block."""
    return Override("irax_check_tracer_leaks")(True)
