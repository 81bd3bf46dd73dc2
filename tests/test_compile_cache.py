"""The compiler wrapper and the compile cache, with a real (tiny) IREE compile.

Each compile costs ~0.3 s, so tests count compiles through cache.stats() and
keep them few. Every test gets its own cache directory and an empty memory
cache, so nothing here touches ~/.cache.
"""
import functools
import hashlib
import json
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pytest

import irax
from irax.backends import cache
from irax.backends.compiler import CompileError, compile_command_line
from irax.config import config

ADD = """
func.func @main(%a: tensor<4xf32>, %b: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %a, %b : tensor<4xf32>
  return %0 : tensor<4xf32>
}
"""
TARGET, FLAGS = "llvm-cpu", ("--iree-llvmcpu-target-cpu=host",)

# A second process: compile ADD with the cache dir from the environment and
# print the counters.
CHILD = f"""
import json
from irax.backends import cache
cache.cached_compile({ADD!r}, {TARGET!r}, {FLAGS!r})
print(json.dumps(cache.stats()))
"""


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    directory = tmp_path / "cache"
    monkeypatch.setattr(config, "irax_cache_dir", str(directory))
    monkeypatch.setattr(config, "irax_disable_cache", False)
    monkeypatch.setattr(config, "irax_log_compiles", False)
    monkeypatch.setattr(cache, "_memory", {})  # as if this were a fresh process
    return directory


def compile_add():
    return cache.cached_compile(ADD, TARGET, FLAGS)


def counting(fn):
    """fn()'s result, and how many compiles / memory hits / disk hits it caused."""
    before = cache.stats()
    result = fn()
    return result, {k: v - before[k] for k, v in cache.stats().items()}


def run_children(cache_dir, n):
    """Start n Python processes at once, all compiling ADD into cache_dir."""
    env = dict(os.environ, IRAX_CACHE_DIR=str(cache_dir), IRAX_DISABLE_CACHE="0",
               PYTHONPATH=os.path.dirname(os.path.dirname(irax.__file__)))
    children = [subprocess.Popen([sys.executable, "-c", CHILD], env=env, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True) for _ in range(n)]
    outputs = [child.communicate(timeout=120) for child in children]
    for child, (out, err) in zip(children, outputs):
        assert child.returncode == 0, err
    return [json.loads(out) for out, _ in outputs]


def test_compiled_program_runs_and_second_call_hits_memory(cache_dir):
    vmfb, counts = counting(compile_add)
    assert counts == {"compiles": 1, "memory_hits": 0, "disk_hits": 0}
    assert counting(compile_add) == (vmfb, {"compiles": 0, "memory_hits": 1, "disk_hits": 0})
    device = irax.devices("cpu")[0]
    a, b = np.arange(4, dtype=np.float32), np.full(4, 0.5, np.float32)
    (out,), ready = device.load(vmfb)([device.put(a), device.put(b)], 1)
    device.wait(ready)
    np.testing.assert_array_equal(device.fetch(out, a.dtype, a.shape), a + b)
    assert cache.info()["entries"] == 1


def test_second_process_compiles_nothing(cache_dir):
    compile_add()
    [child_stats] = run_children(cache_dir, 1)
    assert child_stats == {"compiles": 0, "memory_hits": 0, "disk_hits": 1}


def test_warm_hit_runs_no_prepare_step(monkeypatch):
    """The CPU's programs are kept under the text before its prepare step,
    which runs at a miss only, on what IREE compiles; a hit, in memory or on
    disk (a new process), prepares nothing."""
    from irax.backends import cpu
    x = np.ones((64, 64), np.float32)
    text = irax.jit(lambda a, b: a @ b).lower(x, x).as_text("optimized")
    prepared, compiled = [], []
    prepare, compile_ = cpu.backend._prepare, cache._compile

    @functools.wraps(prepare)  # (its module: what names the prepare step in the key)
    def counted_prepare(mlir_text):
        prepared.append(mlir_text)
        return prepare(mlir_text)

    monkeypatch.setattr(cpu.backend, "_prepare", counted_prepare)
    monkeypatch.setattr(cache, "_compile", lambda mlir_text, *rest: compiled.append(mlir_text) or compile_(
        mlir_text, *rest))
    vmfb, counts = counting(lambda: cpu.backend.compile(text))
    assert counts["compiles"] == 1 and prepared == [text] and compiled == [prepare(text)]
    assert counting(lambda: cpu.backend.compile(text)) == (vmfb, {"compiles": 0, "memory_hits": 1, "disk_hits": 0})
    monkeypatch.setattr(cache, "_memory", {})  # a new process
    assert counting(lambda: cpu.backend.compile(text)) == (vmfb, {"compiles": 0, "memory_hits": 0, "disk_hits": 1})
    assert prepared == [text]


def test_an_edited_prepare_step_that_prepares_the_same_text_compiles_nothing(cache_dir):
    """An edit of a prepare step names new keys for every program (its
    version is in them), but where the edited step makes the text it made
    before, the program compiled for that text is found again."""
    def prepare(text):
        return text.replace("%a, %b", "%b, %a")

    def compile_prepared(version, prepare=prepare):
        key = cache.text_key(ADD, TARGET, FLAGS, prepared_by=version)
        return cache.cached_compile(ADD, TARGET, FLAGS, key, prepare)

    vmfb, counts = counting(lambda: compile_prepared("v1"))
    assert counts["compiles"] == 1
    cache._memory.clear()  # a new process, with the edited step
    assert counting(lambda: compile_prepared("v2")) == (vmfb, {"compiles": 0, "memory_hits": 0, "disk_hits": 1})
    cache._memory.clear()
    assert counting(lambda: compile_prepared("v2")) == (vmfb, {"compiles": 0, "memory_hits": 0, "disk_hits": 1})
    assert cache.info()["entries"] == 3  # the program, and a link from each version's key
    assert counting(lambda: compile_prepared("v3", lambda text: text.replace("addf", "mulf")))[1]["compiles"] == 1


def test_concurrent_processes_leave_one_valid_entry(cache_dir):
    assert all(s["compiles"] + s["disk_hits"] == 1 for s in run_children(cache_dir, 2))
    assert os.listdir(cache_dir) == [e for e in os.listdir(cache_dir) if e.endswith(".irax")]  # no temp files
    assert cache.info()["entries"] == 1
    assert counting(compile_add)[1] == {"compiles": 0, "memory_hits": 0, "disk_hits": 1}


def test_threads_share_one_compile():
    results = []

    def four_threads():
        threads = [threading.Thread(target=lambda: results.append(compile_add())) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert counting(four_threads)[1]["compiles"] == 1
    assert len(results) == 4 and len(set(results)) == 1


def test_threads_compile_different_programs_at_once(monkeypatch):
    """Eight threads, four programs: the four compiles run at the same time
    (each waits at a barrier inside the compiler until all four are there,
    which would time out were compiles one at a time), each program is
    compiled once, and each runs right."""
    ops = {"addf": np.add, "subf": np.subtract, "mulf": np.multiply, "maximumf": np.maximum}
    programs = {op: ADD.replace("arith.addf", f"arith.{op}") for op in ops}
    all_compiling = threading.Barrier(len(programs), timeout=30)
    compile_module = cache.compiler.compile_module

    def compile_when_all_are_compiling(*args):
        all_compiling.wait()
        return compile_module(*args)

    monkeypatch.setattr(cache.compiler, "compile_module", compile_when_all_are_compiling)
    results, errors = {}, []

    def compile_one(op):
        try:
            results.setdefault(op, set()).add(cache.cached_compile(programs[op], TARGET, FLAGS))
        except Exception as e:  # reported below, not lost in the thread
            errors.append(e)

    def eight_threads():
        threads = [threading.Thread(target=compile_one, args=(op,)) for op in list(ops) * 2]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    assert counting(eight_threads)[1]["compiles"] == len(programs) and not errors
    device = irax.devices("cpu")[0]
    a, b = np.arange(4, dtype=np.float32), np.full(4, 1.5, np.float32)
    for op, vmfbs in results.items():
        (out,), ready = device.load(vmfbs.pop())([device.put(a), device.put(b)], 1)
        device.wait(ready)
        np.testing.assert_array_equal(device.fetch(out, a.dtype, a.shape), ops[op](a, b))
        assert not vmfbs  # both threads got the one program
    assert cache.info()["entries"] == len(programs)


@pytest.mark.parametrize("damage", [
    lambda data: data[: len(data) // 2],                   # truncated write
    lambda data: data[:-1] + bytes([data[-1] ^ 1]),        # one flipped bit
    lambda data: b"",                                      # empty file
], ids=["truncated", "bit-flip", "empty"])
def test_corrupt_entry_is_recompiled(cache_dir, damage):
    good = compile_add()
    [entry] = cache_dir.iterdir()
    entry.write_bytes(damage(entry.read_bytes()))
    cache._memory.clear()
    with pytest.warns(RuntimeWarning, match="checksum does not match"):
        assert counting(compile_add) == (good, {"compiles": 1, "memory_hits": 0, "disk_hits": 0})
    cache._memory.clear()
    assert counting(compile_add) == (good, {"compiles": 0, "memory_hits": 0, "disk_hits": 1})  # entry rewritten


def test_entry_iree_cannot_load_is_replaced(cache_dir):
    """A well-formed entry (magic, checksum) around a payload that is not a
    program, as a buggy writer would leave it, would fail every process that
    loads it ("FlatBuffer length prefix out of bounds"): it is deleted with
    a warning naming it, compiled again and rewritten."""
    good = compile_add()
    [entry] = cache_dir.iterdir()
    garbage = bytes(range(256)) * (len(good) // 256)
    entry.write_bytes(cache.MAGIC + hashlib.sha256(garbage).digest() + garbage)
    cache._memory.clear()
    with pytest.warns(RuntimeWarning, match=f"{entry.name} .*IREE cannot load the program.*IRAX_DISABLE_CACHE"):
        vmfb, counts = counting(compile_add)
    assert (vmfb, counts) == (good, {"compiles": 1, "memory_hits": 0, "disk_hits": 0})
    assert entry.read_bytes() == cache.MAGIC + hashlib.sha256(good).digest() + good
    device = irax.devices("cpu")[0]
    a = np.arange(4, dtype=np.float32)
    (out,), ready = device.load(vmfb)([device.put(a), device.put(a)], 1)
    device.wait(ready)
    np.testing.assert_array_equal(device.fetch(out, a.dtype, a.shape), 2 * a)


def test_disable_cache_writes_nothing(cache_dir, monkeypatch):
    monkeypatch.setattr(config, "irax_disable_cache", True)
    compile_add()
    assert counting(compile_add)[1]["memory_hits"] == 1  # memory cache still on
    assert not cache_dir.exists()


def test_unwritable_cache_dir_warns_once(tmp_path, monkeypatch):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")
    monkeypatch.setattr(config, "irax_cache_dir", str(not_a_dir))
    with pytest.warns(RuntimeWarning, match="cannot write the compile cache"):
        compile_add()
    cache._memory.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a second warning would fail the test
        assert counting(compile_add)[1]["compiles"] == 1


def test_log_compiles(monkeypatch, capsys):
    monkeypatch.setattr(config, "irax_log_compiles", True)
    compile_add()
    compile_add()
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "llvm-cpu" in lines[0] and "func.func @main" in lines[0]


def test_clear_and_info(cache_dir):
    compile_add()
    info = cache.info()
    assert info["dir"] == str(cache_dir) and info["entries"] == 1 and info["bytes"] > 1000
    assert cache.clear() == 1
    assert cache.info()["entries"] == 0
    assert counting(compile_add)[1]["compiles"] == 1


def test_bad_module_raises_compile_error_quietly(capfd):
    bad = ADD.replace("%a, %b : tensor<4xf32>", "%a, %c : tensor<4xf32>")
    with pytest.raises(CompileError) as error:
        cache.cached_compile(bad, TARGET, FLAGS)
    message = str(error.value)
    assert "irax failed to compile" in message and "'llvm-cpu'" in message
    assert "use of undeclared SSA value name" in message  # IREE's own diagnostic
    assert "bug in irax" in message
    assert "as_text('optimized')" in message and "'-NAME'" in message  # how to get the module, find the pass
    assert capfd.readouterr().err == ""  # the diagnostics went into the exception, not to stderr
    assert cache.info()["entries"] == 0


def test_compile_command_line():
    assert compile_command_line("vulkan-spirv", ["--x"]) == [
        "iree-compile", "--iree-hal-target-backends=vulkan-spirv", "--iree-execution-model=async-external",
        "--iree-opt-const-expr-hoisting=false", "--iree-stream-resource-alias-mutable-bindings=true", "--x"]
