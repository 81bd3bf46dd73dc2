"""Ahead of time: jit(f).lower(x) stage by stage, and .compile() (irax/frontend/lowering.py)."""
import subprocess

import numpy as np
import pytest
from iree.compiler.tools import binaries

import irax
import irax.numpy as jnp
from irax.backends import compiler
from irax.plugins import registry
from irax.transforms import pipeline

X = np.arange(3, dtype=np.float32)


def scaled_sin_sum(x, n):
    return jnp.sum(jnp.sin(x) * n)


def test_compiled_runs_like_jit_without_the_static_arguments():
    lowered = irax.jit(scaled_sin_sum, static_argnums=1).lower(X, 3)
    compiled = lowered.compile()
    np.testing.assert_allclose(compiled(X), np.sum(np.sin(X) * 3), rtol=1e-6)
    assert float(compiled(X)) == float(irax.jit(scaled_sin_sum, static_argnums=1)(X, 3))
    with pytest.raises(TypeError, match=r"compiled for arguments .*float32\[3\].* called with .*float32\[4\]"):
        compiled(np.zeros(4, np.float32))


def test_compiled_shows_what_iree_made_and_how():
    compiled = irax.jit(jnp.sin).lower(X).compile()
    assert compiled.vmfb[:2] == b"PK" and b"module.fb" in compiled.vmfb[:64]  # a zip around the VM flatbuffer
    assert "flow.dispatch" in compiled.as_text("flow") and "vm.func" in compiled.as_text()
    command = compiled.compile_command_line()
    assert command[:2] == ["iree-compile", f"--iree-hal-target-backends={compiled.backend.target_backend}"]
    with pytest.raises(ValueError, match="IREE stages are input, flow, stream, hal, vm"):
        compiled.as_text("optimized")


def test_the_command_line_makes_the_same_program(tmp_path):
    lowered = irax.jit(jnp.cos).lower(X)
    compiled = lowered.compile()
    (tmp_path / compiler.SOURCE_NAME).write_text(lowered.as_text("optimized"))
    command = [binaries.find_tool("iree-compile"), *compiled.compile_command_line()[1:]]
    subprocess.run([*command, compiler.SOURCE_NAME, "-o", "out.vmfb"], cwd=tmp_path, check=True)
    assert (tmp_path / "out.vmfb").read_bytes() == compiled.vmfb


def test_compiled_gradient_and_donation():
    g = irax.grad(lambda x: jnp.sum(jnp.tanh(x)))
    np.testing.assert_allclose(g.lower(X).compile()(X), 1 - np.tanh(X) ** 2, rtol=1e-6)
    x = jnp.asarray(X)
    compiled = irax.jit(lambda x: x.at[0].set(7.0), donate_argnums=0).lower(x).compile()
    np.testing.assert_array_equal(compiled(x), [7, 1, 2])
    assert x.is_deleted()


def test_one_snapshot_per_pass_and_every_stage():
    lowered = irax.grad(lambda x: jnp.sum(x**2)).lower(X)
    assert [name for name, _ in lowered.passes] == pipeline.pass_names()
    assert lowered.as_text("optimized") == lowered.passes[-1][1]
    names = [name for name, _ in lowered.snapshots()]
    assert names == ["traced", *pipeline.pass_names(), "input", "flow", "stream", "hal", "vm"]
    assert lowered.as_text("all").count("// ----- ") == len(names)
    with pytest.raises(ValueError, match="stages are traced, after_ad, optimized, input"):
        lowered.as_text("nonsense")


@pytest.mark.skipif("vulkan" not in registry.backends(), reason="no vulkan backend registered")
def test_compiling_for_a_backend_needs_no_device():
    lowered = irax.jit(jnp.sin).lower(X)
    assert "spirv" in lowered.as_text("hal", backend="vulkan")
    compiled = lowered.compile("vulkan")
    assert compiled.vmfb[:2] == b"PK"
    if not registry.backends()["vulkan"].available():
        with pytest.raises(RuntimeError, match="compiled for backend 'vulkan', which has no device here"):
            compiled(X)
    with pytest.raises(ValueError, match="unknown backend 'tpu'; registered backends: "):
        lowered.compile("tpu")
