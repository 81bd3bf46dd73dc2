"""irax's own MLIR passes, one at a time: the IR each one makes, and the
same values from the program with and without it."""
import numpy as np
import pytest
from iree.compiler import ir
from iree.compiler.passmanager import PassManager

import irax
import irax.numpy as jnp
from irax.frontend import staging
from irax.frontend.core import ShapedArray
from irax.transforms.ad.differentiate import differentiate
from irax.transforms.buffer_reuse import reuse_dead_buffers
from irax.transforms.cleanup import prune_unused_generic_inputs
from irax.transforms.matmul import plain_matmuls

from helpers import run_module

rng = np.random.default_rng(0)
X = rng.normal(size=(4, 3)).astype(np.float32)
W = rng.normal(size=(3, 5)).astype(np.float32)


def traced(fn, *args):
    return staging.trace_arguments(fn, staging.Arguments(args))


def run(traced_fn, *args):
    """Compile and run a traced function's module as it is (no other pass)."""
    return [np.asarray(x) for x in run_module(traced_fn.module, args, traced_fn.out_avals)]


def test_plain_matmuls_turns_transposed_products_into_matmuls():
    """The gradient of a matmul reads its operands transposed (dW = X^T dY):
    the pass writes every 2-D product as linalg.matmul with explicit transposes."""
    grads = irax.grad(lambda x, w: jnp.tanh(x @ w).sum(), argnums=(0, 1))
    before = traced(grads, X, W)
    assert "linalg.matmul" not in str(before.module)
    with before.module.context, ir.Location.unknown():
        differentiate(before.module.operation)  # the gradient, declared when traced, defined
        PassManager.parse("builtin.module(inline,symbol-dce,canonicalize,cse)").run(before.module.operation)
        prune_unused_generic_inputs(before.module.operation)  # autodiff's generics read every primal input
        want = run(before, X, W)
        plain_matmuls(before.module.operation)
    text = str(before.module)
    assert text.count("linalg.matmul") == 3 and "linalg.transpose" in text
    for got, expected in zip(run(before, X, W), want):
        np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_reuse_dead_buffers_writes_into_inputs_read_for_the_last_time():
    """sin(x * 2) + sum(x): the sin writes into the product's buffer, the add
    into the sine's; x itself (an argument) and the product while the sum
    still reads x are never reused."""
    fn = traced(lambda x: jnp.sin(x * 2) + x.T.sum(), X[:3])
    want = run(fn, X[:3])
    with fn.module.context, ir.Location.unknown():
        reuse_dead_buffers(fn.module.operation)
    text = str(fn.module)
    outs = [line.split("outs(")[1].split(" ")[0] for line in text.splitlines() if "linalg.generic" in line]
    results = [line.split(" = ")[0].strip() for line in text.splitlines() if "linalg.generic" in line]
    assert outs[1] == results[0] and outs[-1] == results[1]  # sin writes into x*2, the add into sin
    assert "outs(%arg0" not in text
    np.testing.assert_allclose(run(fn, X[:3])[0], want[0], rtol=1e-6)



# Two generics of two outputs each: (2a, a*a), then (x + y, x - y).
TWO_OUTPUTS = """
#id = affine_map<(d0) -> (d0)>
func.func @main(%a: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %x, %y = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]}
      ins(%a : tensor<4xf32>) outs(%e, %e : tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%v: f32, %o: f32, %p: f32):
    %d = arith.addf %v, %v : f32
    %s = arith.mulf %v, %v : f32
    linalg.yield %d, %s : f32, f32
  } -> (tensor<4xf32>, tensor<4xf32>)
  %sum, %diff = linalg.generic {indexing_maps = [#id, #id, #id, #id], iterator_types = ["parallel"]}
      ins(%x, %y : tensor<4xf32>, tensor<4xf32>) outs(%e, %e : tensor<4xf32>, tensor<4xf32>) {
  ^bb0(%u: f32, %w: f32, %o: f32, %p: f32):
    %s = arith.addf %u, %w : f32
    %d = arith.subf %u, %w : f32
    linalg.yield %s, %d : f32, f32
  } -> (tensor<4xf32>, tensor<4xf32>)
  return %sum, %diff : tensor<4xf32>, tensor<4xf32>
}
"""


def test_reuse_dead_buffers_gives_each_output_its_own_dead_input():
    """A generic of two outputs (argmax's kind) writes each into a different
    dead input; the first, whose input is an argument, into neither."""
    a = rng.normal(size=4).astype(np.float32)
    with ir.Context(), ir.Location.unknown():
        module = ir.Module.parse(TWO_OUTPUTS)
        reuse_dead_buffers(module.operation)
        text = str(module)
    assert "outs(%0, %0 :" in text and "outs(%1#0, %1#1 :" in text, text
    x, y = 2 * a, a * a
    for got, expected in zip(run_module(text, [a], [ShapedArray((4,), np.float32)] * 2), [x + y, x - y]):
        np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-6)


# A reduction whose result an elementwise op reads back beside the
# reduction's own input (m is numpy or irax.numpy).
REDUCED_AND_READ_BACK = {
    "softmax axis 0": lambda m, a: m.exp(a - a.max(0)) / m.exp(a - a.max(0)).sum(0),
    "softmax axis 1": lambda m, a: (m.exp(a - a.max(1, keepdims=True))
                                    / m.exp(a - a.max(1, keepdims=True)).sum(1, keepdims=True)),
    "log-softmax": lambda m, a: (a - a.max(1, keepdims=True)
                                 - m.log(m.exp(a - a.max(1, keepdims=True)).sum(1, keepdims=True))),
    "layer norm": lambda m, a: (a - a.mean(1, keepdims=True)) / a.std(1, keepdims=True),
    "sum broadcast back": lambda m, a: m.sin(a * 2) * (a * 2).sum(1, keepdims=True),
}


def overwritten_while_read(text):
    """How many generics of the module `text` write into an input of theirs
    that another op reads too."""
    with ir.Context():
        module = ir.Module.parse(text)
        body = module.body.operations[0].regions[0].blocks[0]
        return sum(1 for op in body.operations if op.operation.name == "linalg.generic"
                   for out in op.outputs
                   if out in list(op.inputs) and any(use.owner.operation != op.operation for use in out.uses))


@pytest.mark.parametrize("fn", REDUCED_AND_READ_BACK.values(), ids=REDUCED_AND_READ_BACK.keys())
def test_reuse_dead_buffers_leaves_values_other_ops_read(fn):
    """No op writes into a value that another op reads: IREE raised softmax
    over the last axis to linalg.softmax writing into exp's buffer, which
    the sum in the same dispatch still read, and could not compile it."""
    jitted = irax.jit(lambda a: fn(jnp, a))
    assert overwritten_while_read(jitted.lower(X).as_text("optimized")) == 0
    np.testing.assert_allclose(jitted(X), fn(np, X.astype(np.float64)), rtol=1e-5, atol=1e-6)


def test_a_kept_pass_manager_gives_a_fresh_ones_module():
    """pipeline.run keeps its PassManager per thread, context and pipeline
    (building one costs ms a program): a kept one, run on a second module,
    makes what a fresh one makes, and another pipeline gets its own."""
    from irax.transforms import pipeline

    grads = irax.grad(lambda x, w: jnp.tanh(x @ w).sum(), argnums=(0, 1))
    fresh, first, second, other = (traced(grads, X, W) for _ in range(4))
    pipeline.run(fresh.module, after_pass=lambda name, op: None)  # (after_pass: a PassManager of its own)
    for t in (first, second):
        pipeline._made.clear()  # (else second takes a copy of what the pipeline made of first)
        pipeline.run(t.module)
    pipeline.run(other.module, passes="default,-cse")
    assert str(first.module) == str(second.module) == str(fresh.module)
    assert str(other.module) != str(fresh.module)  # not the default pipeline's manager, kept before
    kept = pipeline._kept().managers
    assert {len(steps) for _, steps in kept.values()} >= {len(pipeline.pass_names()), len(pipeline.pass_names()) - 2}


def test_a_module_transformed_again_takes_a_copy_of_what_the_pipeline_made(monkeypatch):
    """pipeline.run keeps what it made of a module (by its text with
    locations, the pipeline and the context) where every pass is irax's: the
    same module traced again (a test's copy on another platform, a cleared
    cache) takes a copy of it, its locations too, instead of running the
    passes again (~10-50 ms a program). Another pipeline runs its passes."""
    from irax.transforms import pipeline

    grads = irax.grad(lambda x, w: jnp.tanh(x @ w).sum(), argnums=(0, 1))
    first, again, other = (traced(grads, X, W) for _ in range(3))
    monkeypatch.setattr(pipeline, "_made", type(pipeline._made)())  # (what other tests made is not this test's)
    pipeline.run(first.module)
    made, real = [], pipeline._pass_manager
    monkeypatch.setattr(pipeline, "_kept", lambda kept=pipeline._Kept(): kept)  # none kept: a run makes one
    monkeypatch.setattr(pipeline, "_pass_manager", lambda *args: made.append(args) or real(*args))
    pipeline.run(again.module)
    assert made == []
    text = lambda t: t.module.operation.get_asm(enable_debug_info=True)  # noqa: E731
    assert text(again) == text(first)
    pipeline.run(other.module, passes="default,-cse")
    assert len(made) == 1
    np.testing.assert_allclose(run(again, X, W)[1], run(first, X, W)[1])
