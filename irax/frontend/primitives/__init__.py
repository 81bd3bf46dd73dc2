"""`Primitive`: one operation of the tracer, and the one way an op is run.

Every operation in `irax.numpy` ends in `primitive.bind(*operands, **params)`,
which emits the primitive's MLIR into the function being traced (core.py),
or, outside a trace, runs it eagerly as a one-op program (eager.py). The
modules of this package define the primitives, by kind.
"""
from irax.config import config
from irax.frontend import eager
from irax.frontend.core import Tracer, current_tape, current_trace, untraced


def _is_tracer(x) -> bool:
    return isinstance(x, Tracer)


class Primitive:
    """One operation: its shape rule, its MLIR emitter, how eager mode compiles it.

    dynamic_shapes: the eager kernel is compiled with every dimension that is
        not 1 made dynamic, so one kernel serves all sizes with the same rank,
        dtypes and broadcast pattern. Only for ops whose output shape follows
        from the operand shapes (elementwise, reductions, contractions).
    static_above: an operand of at least this many elements gets an eager
        kernel compiled for its exact shapes instead (once per shape, cached),
        for ops whose static code is much faster on big arrays (reductions,
        contractions).
    """

    def __init__(self, name, abstract_eval, emit, *, dynamic_shapes=False, multiple_results=False,
                 static_above=None):
        self.name = name
        self.abstract_eval = abstract_eval
        self.emit = emit
        self.dynamic_shapes = dynamic_shapes
        self.multiple_results = multiple_results
        self.static_above = static_above

    def __repr__(self):
        return self.name

    def out_avals(self, avals, params):
        out = self.abstract_eval(*avals, **params)
        return tuple(out) if self.multiple_results else (out,)

    def bind(self, *operands, **params):
        if untraced():  # (most eager ops: one look)
            outs = eager.run(self, operands, params)
            return outs if self.multiple_results else outs[0]
        trace = current_trace()
        if trace is not None and config.irax_eager_constant_folding and not any(map(_is_tracer, operands)):
            trace = None  # irax.ensure_compile_time_eval: concrete operands, a concrete result
        if trace is None:
            outs = eager.run(self, operands, params)
            tape = current_tape()
            if tape is not None:  # grad's fallback for Python control flow on values (tape.py)
                tape.record(self, operands, params, outs)
        else:
            outs = trace.emit(self, operands, params)
        return outs if self.multiple_results else outs[0]
