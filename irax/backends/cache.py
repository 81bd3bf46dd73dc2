"""The compile cache: every IREE compile goes through `cached_compile`.

A compile costs ~0.3-0.5 s, and eager mode compiles one small module per
(operation, shapes, dtypes), so without a cache every new op would stall.
Two levels:

  memory  an `LRU` of config.irax_cache_size programs.
  disk    one file per program in config.irax_cache_dir (~/.cache/irax), so
          the next process starts warm. IRAX_DISABLE_CACHE=1 turns it off.

The key is a sha256 of everything that decides the output: the MLIR text,
target backend, flags, the IREE compiler's version and CACHE_FORMAT; for a
text that a backend's prepare step rewrites before IREE gets it, the text
before that step and what names the step (its code's hash and settings,
iree_backend.py): the step then runs at a miss only. Such a miss looks up
the prepared text under its own key before it compiles, and its entry is a
link (LINK + that key): an edit of a prepare step makes new keys for every
program, but a program the edited step prepares as before is found again,
at the cost of the step, not of a compile. A disk program
entry is MAGIC + sha256(payload) + payload, so a truncated or corrupt file
is noticed, deleted (with a warning) and recompiled instead of handed to the
runtime; so is a payload IREE's VM cannot load (written whole by a buggy writer).
Writes go to a temp file that is then renamed over the entry (atomic on
POSIX and Windows), so concurrent processes never see half a file.

IRAX_LOG_COMPILES=1 prints a line to stderr for every real compile.
"""
import collections
import functools
import hashlib
import json
import os
import platform
import sys
import tempfile
import threading
import time
import warnings
import weakref
from typing import Sequence

from irax.backends import compiler, runtime
from irax.config import config

CACHE_FORMAT = 2  # bump when the entry layout, the key recipe or what a compile makes changes
MAGIC = b"IRAXVMFB"
LINK = b"IRAXLINK"  # an entry naming the key of the entry that holds its program
_SUFFIX = ".irax"
_HEADER_SIZE = len(MAGIC) + 32



_caches = weakref.WeakSet()  # every LRU, for clear_memory_caches


def clear_memory_caches() -> None:
    """Empty every in-memory cache of programs (jax.clear_caches): the next
    call of each function traces and loads again; the disk cache stays."""
    for cache in list(_caches):
        cache.clear()


class LRU:
    """A dict that keeps the config.irax_cache_size entries used last: the
    one cache policy of every in-memory cache of programs (compiled here;
    loaded, in the frontend's eager kernels and staged programs). The limit
    is read at each insert and each hit of another entry than the last, so
    an update of the setting reaches every cache at its next such use.

    A hit of the entry used last (a loop calling one function on arguments
    of one signature, or one op) hashes its key once: the lookup, ~0.1 us.
    A hit of another hashes it twice, the lookup and the move to the end of
    the order (OrderedDict.move_to_end, which finds its node by the key), a
    Python __hash__ per aval each time in a key of avals. (Hashing once for
    every hit needs the order kept beside the dict, by stamps: exact LRU then
    costs a scan at each eviction, ~180 us at 4096 entries, or evicts only
    nearly the entry used last.)"""

    def __init__(self):
        self._entries = collections.OrderedDict()  # key -> [value], an entry known by its identity
        # The entry at the end of the order, whose hit has nothing to move. (Threads
        # racing may leave it stale: an eviction order off by a hit, never a wrong value.)
        self._last = None
        _caches.add(self)

    def get(self, key):
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry is not self._last:  # (a hit of the entry used last returns here: ~0.06 us)
            try:
                self._entries.move_to_end(key)
            except KeyError:  # another thread dropped it meanwhile: still a hit
                pass
            self._last = entry
            if len(self._entries) > config.irax_cache_size:  # the limit was lowered since the last insert
                self._trim()
        return entry[0]

    def __setitem__(self, key, value):
        new = [value]
        entry = self._entries.setdefault(key, new)
        if entry is new:
            self._last = new
        else:  # a key put again keeps its place in the order, as in a dict
            entry[0] = value
        self._trim()

    def _trim(self):
        while len(self._entries) > config.irax_cache_size:
            self._entries.popitem(last=False)

    def __len__(self):
        return len(self._entries)

    def clear(self):
        self._entries.clear()
        self._last = None


_memory = LRU()  # cache key -> vmfb
# Misses of different keys compile at once, each in its own thread (IREE's
# compiler sessions are independent and release the GIL); a second miss of
# a key being compiled waits for that compile and then hits memory.
_compiling: dict[str, threading.Lock] = {}  # key -> its lock, while a miss of it is in hand
_compiling_lock = threading.Lock()
_stats = {"compiles": 0, "memory_hits": 0, "disk_hits": 0}
_counting = threading.local()  # .stats: the dict whose "compiles" this thread's compiles count in
_warned_dirs: set[str] = set()


def cached_compile(mlir_text: str, target_backend: str, flags: Sequence[str] = (), key: str | None = None,
                   prepare=None) -> bytes:
    """compiler.compile_module, remembered in memory and on disk: under
    `key` if given (a `named_key`, or a `text_key` that names `prepare`),
    else under the key of the text itself. `prepare` (text -> text), if
    given, makes the text compiled from `mlir_text`, at a miss only."""
    flags = tuple(flags)
    key = key or _key(mlir_text, target_backend, flags)
    if (vmfb := _memory.get(key)) is not None:
        return _hit("memory_hits", vmfb)
    with _compiling_lock:
        lock = _compiling.setdefault(key, threading.Lock())
    with lock:
        try:
            if (vmfb := _memory.get(key)) is not None:
                return _hit("memory_hits", vmfb)
            use_disk = not config.irax_disable_cache
            if use_disk and (vmfb := _read(key)) is not None:
                _stats["disk_hits"] += 1
            elif prepare is not None:
                prepared = prepare(mlir_text)
                prepared_key = _key(prepared, target_backend, flags)
                vmfb = cached_compile(prepared, target_backend, flags, prepared_key)
                if use_disk:
                    _write(key, LINK + prepared_key.encode())
            else:
                vmfb = _compile(mlir_text, target_backend, flags, key)
                if use_disk:
                    _write(key, MAGIC + hashlib.sha256(vmfb).digest() + vmfb)
            _memory[key] = vmfb
            return vmfb
        finally:
            with _compiling_lock:  # later misses of the key hit memory, or (after an error) compile again
                if _compiling.get(key) is lock:
                    del _compiling[key]


def named_key(name: str, target_backend: str, flags: Sequence[str] = ()) -> str:
    """The key of a program known by `name` rather than by its MLIR text: a
    name that fixes the text (what makes it, and the version of that), so
    that a process finds the program with `find` without building the text
    (the eager kernel library, frontend/kernel_library.py)."""
    return _key("name: " + name, target_backend, tuple(flags))


def find(key: str) -> bytes | None:
    """The program stored under `key`, from memory or disk; None where there
    is none. Never compiles."""
    if (vmfb := _memory.get(key)) is not None:
        return _hit("memory_hits", vmfb)
    if config.irax_disable_cache or (vmfb := _read(key)) is None:
        return None
    _stats["disk_hits"] += 1
    _memory[key] = vmfb
    return vmfb


def text_key(mlir_text: str, target_backend: str, flags: Sequence[str] = (), prepared_by=None) -> str:
    """The key `cached_compile` keeps the program of `mlir_text` under (for
    `find`); `prepared_by` (JSON data), where given, names the prepare step
    that rewrites the text before its compile."""
    return _key(mlir_text, target_backend, tuple(flags), prepared_by)


def count_compiles_in(stats: dict) -> None:
    """Count this thread's compiles in `stats["compiles"]` rather than in
    stats() (tiered jit's background thread: tiered.stats), so that
    stats()["compiles"] counts those a caller waited for."""
    _counting.stats = stats


def stats() -> dict:
    """Counters since the process started, e.g. to check a warm process compiles nothing."""
    return dict(_stats)


def info() -> dict:
    """Where the disk cache is and how big it is (for `irax cache info`)."""
    paths = _entries()
    return {"dir": config.irax_cache_dir, "entries": len(paths), "bytes": sum(os.path.getsize(p) for p in paths)}


def clear() -> int:
    """Forget everything, in memory and on disk; returns how many disk entries were removed."""
    with _compiling_lock:
        _memory.clear()
        paths = _entries()
        for path in paths:
            _remove(path)
        return len(paths)


def _hit(counter: str, vmfb: bytes) -> bytes:
    _stats[counter] += 1  # only approximate if threads race here; it's just a statistic
    return vmfb


def _key(mlir_text: str, target_backend: str, flags: tuple, prepared_by=None) -> str:
    host = _host_cpu() if any(f.endswith("=host") for f in flags) else ""
    recipe = [CACHE_FORMAT, compiler.iree_version(), compiler.compile_command_line(target_backend, flags), host, mlir_text]
    if prepared_by is not None:  # (a longer recipe: never the key of a text compiled as it is)
        recipe.append(prepared_by)
    return hashlib.sha256(json.dumps(recipe).encode()).hexdigest()


@functools.cache
def _host_cpu() -> str:
    """What `--iree-llvmcpu-target-cpu=host` resolves to, roughly: a cache
    shared between machines (a home directory on a network drive) must not
    hand one CPU's instructions to another."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith(("model name", "flags", "Features", "CPU part"))]
        return platform.machine() + "".join(sorted(set(lines)))
    except OSError:
        return platform.machine() + platform.processor()


def _compile(mlir_text: str, target_backend: str, flags: tuple, key: str) -> bytes:
    start = time.perf_counter()
    vmfb = compiler.compile_module(mlir_text, target_backend, flags)
    getattr(_counting, "stats", _stats)["compiles"] += 1
    if config.irax_log_compiles:
        what = next((line.strip() for line in mlir_text.splitlines() if "func.func" in line), "")
        print(f"irax: compiled {key[:12]} for {target_backend} in {time.perf_counter() - start:.3f} s: {what[:160]}",
              file=sys.stderr)
    return vmfb


def _path(key: str) -> str:
    return os.path.join(config.irax_cache_dir, key + _SUFFIX)


def _entries() -> list[str]:
    directory = config.irax_cache_dir
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    return [os.path.join(directory, n) for n in names if n.endswith(_SUFFIX)]


def _read(key: str) -> bytes | None:
    """The cached program, or None if it is missing or damaged: a damaged
    entry is deleted with a warning, so that the program is compiled again
    and the entry rewritten, instead of failing every process that loads it."""
    path = _path(key)
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError:
        return None
    if data.startswith(LINK) and len(target := data[len(LINK):]) == 64 and target.isalnum():
        return _read(target.decode())
    payload = data[_HEADER_SIZE:]
    if data[:len(MAGIC)] != MAGIC or data[len(MAGIC):_HEADER_SIZE] != hashlib.sha256(payload).digest():
        damage = "its checksum does not match: a truncated or damaged file"
    else:
        try:
            runtime.check_program(payload)
            return payload
        except runtime.IREE_ERRORS as e:  # written whole, but not a program (a buggy writer)
            damage = f"IREE cannot load the program in it: {e}"
    _remove(path)
    warnings.warn(f"irax: deleted the damaged compile cache entry {path} ({damage}); compiling the program again. "
                  f"If this recurs, check the disk under {config.irax_cache_dir!r}, or set IRAX_DISABLE_CACHE=1 "
                  "to run without a disk cache.", RuntimeWarning, stacklevel=3)
    return None


def _write(key: str, entry: bytes) -> None:
    """Store atomically; if the directory is unusable, warn once and carry on without it."""
    directory = config.irax_cache_dir
    tmp = None
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{key[:16]}-", suffix=_SUFFIX + ".tmp")
        with os.fdopen(fd, "wb") as f:
            f.write(entry)
        os.replace(tmp, _path(key))
    except OSError as e:
        if tmp is not None:
            _remove(tmp)
        if directory not in _warned_dirs:
            _warned_dirs.add(directory)
            warnings.warn(f"irax: cannot write the compile cache in {directory!r} ({e}); "
                          "continuing without a disk cache. Set IRAX_CACHE_DIR to a writable "
                          "directory, or IRAX_DISABLE_CACHE=1 to silence this.", RuntimeWarning, stacklevel=3)


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except OSError:
        pass
