"""A backend's prepare step as steps on one parse (backends/prepare_steps.py,
the CPU's in backends/cpu_prepare.py), and the version that names it in the
compile cache's key. (That a warm cache hit runs no prepare step:
tests/test_compile_cache.py.)"""
import numpy as np
import pytest
from iree.compiler import ir

import irax
import irax.numpy as jnp
from irax import lax
from irax.backends import cpu, cpu_prepare, cpu_tiles, prepare_steps
from irax.config import config
from irax.ir import iree


def scan_gradient_text():
    """jit(grad) of a scan: loops with internal stacks (to pin) and small products (to preset)."""
    def loss(w, xs):
        h, _ = lax.scan(lambda h, x: (jnp.tanh(h @ w + x), None), jnp.zeros((8, 16), jnp.float32), xs)
        return jnp.sum(h)

    w, xs = np.full((16, 16), 0.1, np.float32), np.ones((20, 8, 16), np.float32)
    return irax.jit(irax.grad(loss)).lower(w, xs).as_text("optimized")


@pytest.fixture
def parses(monkeypatch):
    """The texts ir.Module.parse is called on."""
    texts, parse = [], ir.Module.parse

    def counted(text, *args, **kwargs):
        texts.append(text)
        return parse(text, *args, **kwargs)

    monkeypatch.setattr(ir.Module, "parse", staticmethod(counted))
    return texts


def test_cpu_prepare_parses_the_module_once(parses):
    text = scan_gradient_text()
    assert [step.transform.__name__ for step in cpu_prepare.STEPS if step.may_apply(text)] == [
        "pin_internal_stacks", "_annotated", "_as_folds"]
    parses.clear()
    prepared = cpu_prepare.prepare(text)
    assert parses == [text]  # (before: one parse, in a new context, and one print per step)
    assert iree.INTERNAL_STACKS not in prepared and "flow.tensor.alloca" in prepared
    if cpu_tiles.host_f32_lanes() in cpu_tiles.MATMUL_TILES:  # (other hosts keep IREE's tiles)
        assert "compilation_info" in prepared


def test_a_text_no_step_concerns_is_not_parsed(parses):
    text = ("func.func @main(%a: tensor<4xf32>) -> tensor<4xf32> {\n"
            "  %0 = arith.addf %a, %a : tensor<4xf32>\n  return %0 : tensor<4xf32>\n}\n")
    assert cpu_prepare.prepare(text) is text
    assert parses == []


def test_version_covers_the_code_the_steps_import():
    closure = set(prepare_steps._imported_sources("irax.backends.cpu_prepare"))
    assert {"irax.backends.cpu_tiles", "irax.backends.cpu_scalar_reads", "irax.backends.cpu_fold_fusion",
            "irax.backends.cpu_kernels", "irax.backends.prepare_steps", "irax.ir.mlir", "irax.ir.iree",
            "irax.ir.convolution", "irax.config",
            "irax.ir.linalg"} <= closure  # (cpu_tiles imports constants of it: `from irax.ir.linalg import RESHAPES`)
    assert "irax.backends.runtime" not in closure and "irax.backends.cpu" not in closure


def test_version_follows_an_edit_of_an_imported_helper(monkeypatch):
    before = prepare_steps.version(cpu_prepare.prepare)
    source = prepare_steps._source
    monkeypatch.setattr(prepare_steps, "_source",
                        lambda name: source(name) + (b"# edited\n" if name == "irax.ir.linalg" else b""))
    monkeypatch.setattr(prepare_steps, "_sources_hash", prepare_steps._sources_hash.__wrapped__)
    assert prepare_steps.version(cpu_prepare.prepare) != before


def test_key_names_the_prepare_step_and_its_settings(monkeypatch):
    text = irax.jit(lambda x: x + 1).lower(np.ones(3, np.float32)).as_text("optimized")
    key = cpu.backend.compile_arguments(text)[3]
    assert key != irax.backends.cache.text_key(text, cpu.backend.target_backend, cpu.backend.compile_flags)
    monkeypatch.setattr(config, "irax_cpu_kernels", not config.irax_cpu_kernels)
    assert cpu.backend.compile_arguments(text)[3] != key
