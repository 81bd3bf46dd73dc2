"""irax's own passes, as plugin objects (irax.plugins.Pass).

They are registered in irax's pyproject.toml under `irax.passes`, exactly as
a third party registers theirs, and pipeline.py names them in its default
order. Two kinds, the two bodies the protocol allows:
"""
from irax.plugins import API_VERSION
from irax.transforms.ad.differentiate import differentiate
from irax.transforms.bfloat16_rounding import round_bfloat16
from irax.transforms.buffer_reuse import protect_arguments, reuse_dead_buffers
from irax.transforms.complex_fills import complex_fills_as_parts
from irax.transforms.self_updates import barrier_self_updates
from irax.transforms.shared_generators import copy_shared_generators
from irax.transforms.cleanup import drop_unread_work, prune_unused_generic_inputs
from irax.transforms.elementwise_loops import fuse_elementwise_loops
from irax.transforms.empty_tensors import fold_empty_tensors
from irax.transforms.float64_math import expand_float64_math
from irax.transforms.loop_carries import keep_unread_carries, update_stacks_in_place
from irax.transforms.loop_order import normalize_loop_order
from irax.transforms.matmul import plain_matmuls
from irax.transforms.contraction_operands import materialize_contraction_operands


class MlirPass:
    """An upstream MLIR pass, run by MLIR's pass manager under its own name."""

    api_version = API_VERSION

    def __init__(self, name):
        self.name = self.pipeline = name

    def __repr__(self):
        return f"MlirPass({self.name!r})"


class PythonPass:
    """A Python function on the `builtin.module` operation."""

    api_version = API_VERSION

    def __init__(self, name, run):
        self.name, self.run = name, run

    def __repr__(self):
        return f"PythonPass({self.name!r}, {self.run.__module__}.{self.run.__name__})"


autodiff = PythonPass("differentiate", differentiate)
# inline: calls of derivatives and of custom-derivative functions (frontend/custom_derivatives.py)
inline = MlirPass("inline")
symbol_dce = MlirPass("symbol-dce")
canonicalize = MlirPass("canonicalize")
cse = MlirPass("cse")
empty_tensors = PythonPass("fold-empty-tensors", fold_empty_tensors)
float64_math = PythonPass("expand-float64-math", expand_float64_math)
bfloat16_rounding = PythonPass("round-bfloat16", round_bfloat16)
prune = PythonPass("prune-unused-generic-inputs", prune_unused_generic_inputs)
unread_work = PythonPass("drop-unread-work", drop_unread_work)
loop_order = PythonPass("normalize-loop-order", normalize_loop_order)
reuse = PythonPass("reuse-dead-buffers", reuse_dead_buffers)
matmuls = PythonPass("plain-matmuls", plain_matmuls)
contraction_operands = PythonPass("materialize-contraction-operands", materialize_contraction_operands)
elementwise_loops = PythonPass("fuse-elementwise-loops", fuse_elementwise_loops)
loop_carries = PythonPass("keep-unread-carries", keep_unread_carries)
stacks_in_place = PythonPass("update-stacks-in-place", update_stacks_in_place)
protect = PythonPass("protect-arguments", protect_arguments)
complex_fills = PythonPass("complex-fills-as-parts", complex_fills_as_parts)
shared_generators = PythonPass("copy-shared-generators", copy_shared_generators)
self_updates = PythonPass("barrier-self-updates", barrier_self_updates)
