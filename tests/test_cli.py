"""The `irax` command, run as users run it: the installed script in a subprocess.

Each call costs a Python start and an `import irax` (~1 s), and the ones
that reach IREE a compile or a few, so each test makes few calls and the
examples are tiny.
"""
import os
import re
import shlex
import subprocess
import sys

import numpy as np
import pytest

import irax
from irax.cli import main
from irax.cli.specs import load_function
from irax.transforms import pipeline

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IRAX = os.path.join(os.path.dirname(sys.executable), "irax")
PARAMS = '{"w": "f32[3,2]", "b": "f32[2]"}'
LOSS_ARGS = ["--arg", PARAMS, "--arg", "f32[4,3]", "--arg", "f32[4,2]"]
loss, predict = (load_function(os.path.join(ROOT, f"examples/model.py:{name}")) for name in ("loss", "predict"))


def irax_command(*args, cwd=ROOT, check=True, **env):
    done = subprocess.run([IRAX, *args], cwd=cwd, capture_output=True, text=True, env={**os.environ, **env})
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_every_subcommand_has_help():
    assert "irax run loss.vmfb --input 1,2,3" in irax_command("--help").stdout  # with examples
    for command in ("backends", "passes", "ir", "compile", "run", "cache"):
        with pytest.raises(SystemExit) as exit:
            main([command, "--help"])
        assert exit.value.code == 0
    assert "--stage" in irax_command("ir", "--help").stdout


def test_ir_prints_what_the_library_lowers():
    done = irax_command("ir", "examples/model.py:loss", *LOSS_ARGS, "--stage", "optimized")
    params = {"w": np.zeros((3, 2), np.float32), "b": np.zeros(2, np.float32)}
    args = (params, np.zeros((4, 3), np.float32), np.zeros((4, 2), np.float32))
    assert done.stdout.strip() == irax.jit(loss).lower(*args).as_text("optimized").strip()
    assert "func.func @main" in done.stdout and "linalg.generic" in done.stdout
    # package.module:FUNC, and the gradient's IR from the autodiff pass
    after_ad = irax_command("ir", "examples.model:loss", *LOSS_ARGS, "--grad", "0", "--stage", "after_ad").stdout
    assert re.search(r"func.func private @irax_ad_\d+_vjp\(", after_ad) and "irax.vjp_of" not in after_ad


def test_stage_all_goes_from_tracing_through_each_pass_to_iree():
    text = irax_command("ir", "examples/model.py:predict", "--arg", PARAMS, "--arg", "f32[4,3]",
                        "--stage", "all").stdout
    headers = re.findall(r"^// ----- (\S+) -----$", text, re.M)
    assert headers == ["traced", *pipeline.pass_names(), "input", "flow", "stream", "hal", "vm"]
    sections = dict(zip(headers, re.split(r"^// ----- \S+ -----$", text, flags=re.M)[1:]))
    assert "linalg.generic" in sections["traced"] and "flow.dispatch" in sections["flow"]
    assert "hal.executable" in sections["hal"] and "vm.func" in sections["vm"]


def test_dump_dir_has_one_file_per_pass(tmp_path):
    irax_command("ir", "examples/model.py:loss", *LOSS_ARGS, "--grad", "0", "--stage", "flow",
                 "--print-after-all", "--dump-dir", str(tmp_path))
    files = sorted(f for f in os.listdir(tmp_path) if f.endswith(".mlir"))
    expected = ["traced", *pipeline.pass_names()]
    assert files == [f"{i:02d}-{name}.mlir" for i, name in enumerate(expected)]
    assert "irax.vjp_of" in (tmp_path / files[0]).read_text() and "irax.vjp_of" not in (tmp_path / files[1]).read_text()
    iree_files = [f for _, _, names in os.walk(tmp_path / "iree") for f in names]
    assert len(iree_files) > 10 and all(f.endswith(".mlir") for f in iree_files)


def test_compiled_program_runs_and_matches_the_library(tmp_path):
    out = tmp_path / "predict.vmfb"
    done = irax_command("compile", "examples/model.py:predict", "--arg", PARAMS, "--arg", "f32[2,3]",
                        "-o", str(out), "--print-flags")
    # The printed iree-compile command makes the same program from the MLIR beside it.
    command = shlex.split(done.stdout.strip())
    assert command[-3:] == [str(tmp_path / "predict.mlir"), "-o", str(out)]
    subprocess.run(command[:-1] + [str(tmp_path / "again.vmfb")], check=True)
    assert (tmp_path / "again.vmfb").read_bytes() == out.read_bytes()

    rng = np.random.default_rng(0)
    b, w, x = (rng.normal(size=s).astype(np.float32) for s in ((2,), (3, 2), (2, 3)))  # leaves in key order
    inputs = ["--input=" + ",".join(map(str, b)), "--input=f32[3,2]=" + ",".join(map(str, w.ravel())),
              "--input=" + ",".join(map(str, x.ravel()))]
    done = irax_command("run", str(out), *inputs)
    ours = irax.jit(predict)({"w": w, "b": b}, x)
    np.testing.assert_allclose(ours, np.tanh(x @ w + b), rtol=1e-6)
    assert done.stdout == f"result[0] = {ours!r}\n"
    # ... and so does the iree-run-module command irax prints
    iree_command = shlex.split(done.stderr.split("the same with IREE's tool: ")[1])
    iree = subprocess.run(iree_command, capture_output=True, text=True, check=True).stdout
    assert "2x2xf32=" in iree


def test_the_printed_commands_make_the_same_program_of_a_module_with_a_loop(tmp_path):
    """A module with control flow compiles in three steps (the VM fix of
    backends/vm_branches.py between IREE's two halves), and --print-flags
    prints all three."""
    (tmp_path / "loop.py").write_text("from irax import lax\n"
                                      "def f(x):\n"
                                      "    return lax.fori_loop(0, 3, lambda i, c: c * 2.0 + x, x)\n")
    out = tmp_path / "f.vmfb"
    done = irax_command("compile", f"{tmp_path / 'loop.py'}:f", "--arg", "f32[3]", "-o", str(out), "--print-flags")
    commands = [shlex.split(line) for line in done.stdout.splitlines()]
    assert [c[-1] for c in commands] == [str(tmp_path / "f.vm.mlir")] * 2 + [str(out)]
    commands[-1][-1] = str(tmp_path / "again.vmfb")
    for command in commands:
        subprocess.run(command, check=True, cwd=tmp_path)
    assert (tmp_path / "again.vmfb").read_bytes() == out.read_bytes()


def test_backends_passes_and_cache(tmp_path):
    backends = irax_command("backends").stdout
    assert re.search(r"^cpu \(default\): available, devices: CpuDevice\(id=0\)$", backends, re.M)
    assert "IREE target: llvm-cpu, driver: local-task" in backends and "origin: irax.backends.cpu:backend" in backends
    passes = irax_command("passes").stdout
    assert f"pipeline, in order: {', '.join(pipeline.pass_names())}" in passes
    assert "protect-arguments: Python; origin: irax.transforms.passes:protect" in passes
    cache_dir = str(tmp_path / "cache")
    assert irax_command("cache", "info", IRAX_CACHE_DIR=cache_dir).stdout == f"{cache_dir}: 0 programs, 0.0 MB\n"
    os.makedirs(cache_dir)
    (tmp_path / "cache" / ("0" * 64 + ".irax")).write_bytes(b"x")
    assert irax_command("cache", "clear", IRAX_CACHE_DIR=cache_dir).stdout == f"removed 1 programs from {cache_dir}\n"


BAD = {
    "no file": (["ir", "nosuch.py:f"], "no such file: nosuch.py"),
    "no module": (["ir", "nosuch.module:f"], "no module named 'nosuch'"),
    "no function": (["ir", "examples/model.py:los", "--arg", "f32[3]"],
                    "examples/model.py has no function 'los'; it defines: loss, loss_with_a_bug, predict"),
    "bad spec": (["ir", "examples/model.py:loss", "--arg", "f33[3]"], "unknown dtype 'f33'"),
    "bad json": (["ir", "examples/model.py:loss", "--arg", "{w: f32[3]}"], "write dtype[shape]"),
    "trace error": (["ir", "examples/model.py:predict", "--arg", PARAMS, "--arg", "f32[4,5]"],
                    "tracing examples/model.py:predict failed: TypeError: dot_general requires contracting "
                    "dimensions to have the same shape, got (5,) and (3,). (examples/model.py:10)"),
    "bad stage": (["ir", "examples/model.py:predict", "--stage", "nonsense"], "invalid choice: 'nonsense'"),
    "bad grad": (["ir", "examples/model.py:predict", "--grad", "x"], "--grad takes argument numbers"),
    "unknown target": (["compile", "examples/model.py:predict", "--target", "tpu"], "unknown backend 'tpu'"),
    "missing vmfb": (["run", "nosuch.vmfb"], "cannot run nosuch.vmfb"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_is_one_clear_line(case):
    args, message = BAD[case]
    done = irax_command(*args, check=False)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert message in lines[-1] and "Traceback" not in done.stderr, done.stderr
    assert all(line.startswith(("usage:", " ")) for line in lines[:-1])  # argparse shows the usage first


def test_an_error_in_the_users_module_points_at_its_line(tmp_path):
    (tmp_path / "broken.py").write_text("import numpy\n\ndef f(x):\n    return undefined_name * x\n")
    done = irax_command("ir", "broken.py:f", "--arg", "f32[3]", cwd=tmp_path, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == ("irax ir: error: tracing broken.py:f failed: NameError: name 'undefined_name' "
                                   "is not defined (broken.py:4) (--traceback shows more)")
    done = irax_command("ir", "broken.py:f", "--arg", "f32[3]", "--traceback", cwd=tmp_path, check=False)
    assert "Traceback (most recent call last)" in done.stderr and 'broken.py", line 4' in done.stderr


def test_a_bad_setting_still_lists_what_there_is_then_fails_as_usage():
    """`irax passes` and `irax backends` are where one looks into IRAX_PASSES
    and IRAX_PLATFORMS, so a wrong one lists everything, then exits 2 naming it."""
    passes = irax_command("passes", check=False, IRAX_PASSES="default,-nope")
    assert passes.returncode == 2 and "protect-arguments: Python" in passes.stdout
    assert passes.stderr.strip().startswith("irax passes: error: Unknown pass 'nope'"), passes.stderr
    backends = irax_command("backends", check=False, IRAX_PLATFORMS="tpu")
    assert backends.returncode == 2 and "origin: irax.backends.cpu:backend" in backends.stdout
    assert "IRAX_PLATFORMS names unknown backends ['tpu']" in backends.stderr and "bug" not in backends.stderr


def test_an_unknown_cuda_target_is_refused_before_iree_crashes_on_it():
    """IREE 3.13 segfaults on a CUDA target it does not know ('hopper', a typo):
    the setting refuses it, and `irax backends` lists everything, then says so."""
    done = irax_command("backends", check=False, IRAX_CUDA_TARGET="hopper")
    assert done.returncode == 2 and "origin: irax.backends.cpu:backend" in done.stdout
    assert done.stderr.startswith("irax backends: error: invalid value 'hopper' for environment 'IRAX_CUDA_TARGET': "
                                  "expected a compute capability such as sm_80"), done.stderr
