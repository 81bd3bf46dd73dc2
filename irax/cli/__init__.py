"""The `irax` command: see and reproduce every stage of the compile pipeline.

    irax backends                                   the backends, their devices, IREE targets, flags
    irax passes                                     the registered passes, in pipeline order
    irax ir model.py:loss --arg f32[3] --stage all  the program after tracing, each pass, IREE's phases
    irax compile model.py:loss --arg f32[3] -o loss.vmfb --print-flags
    irax run loss.vmfb --input 1,2,3
    irax cache info | irax cache clear | irax cache warm

`irax COMMAND --help` explains each. The subcommands are in commands.py,
and what the user types (FILE.py:FUNC, f32[2,3], input values) is parsed
in specs.py. A mistake on the command line or in the user's module is one
line on stderr and exit status 2; `--traceback` shows the rest.
"""
import argparse
import os
import sys
import traceback

from irax.cli import commands
from irax.cli.specs import UsageError, describe
from irax.frontend.lowering import STAGES


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--traceback", action="store_true", help="on an error, show the whole Python traceback")

    program = argparse.ArgumentParser(add_help=False)  # what `ir` and `compile` take
    program.add_argument("function", metavar="FILE.py:FUNC",
                         help="the function: FILE.py:FUNC or package.module:FUNC")
    program.add_argument("--arg", action="append", default=[], metavar="SPEC",
                         help="one positional argument, in order: dtype[shape] (f32[2,3], i32[]), a number, "
                              """or JSON of those for a pytree ('{"w": "f32[3,2]", "b": "f32[2]"}')""")
    program.add_argument("--grad", metavar="N", help="lower grad(FUNC, argnums=N) instead (N or N,M,...)")
    program.add_argument("--target", metavar="BACKEND",
                         help="backend to compile for (default: the default one; see `irax backends`)")

    summary, examples = __doc__.split("\n\n")[:2]
    parser = argparse.ArgumentParser(prog="irax", description=summary, epilog=f"{examples}\n\nWalk-through: "
                                     "docs/debugging.md", formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, handler, help, parents=(common,)):
        p = sub.add_parser(name, parents=list(parents), help=help, description=help)
        p.set_defaults(handler=handler)
        return p

    add("backends", commands.show_backends, "list the backends: available?, devices, IREE target, flags, origin")
    add("passes", commands.show_passes, "list the registered passes, the pipeline order and each one's origin")

    ir = add("ir", commands.show_ir, "print the MLIR of FUNC at a stage of the pipeline", (common, program))
    ir.add_argument("--stage", choices=STAGES, default="traced", metavar="STAGE",
                    help="traced: as traced, derivatives declared (default); after_ad: after the differentiate pass; "
                         "optimized: after irax's passes; input, flow, stream, hal, vm: IREE's phases; "
                         "all: every one")
    ir.add_argument("--print-after-all", action="store_true",
                    help="the module after each irax pass (with --dump-dir and an IREE --stage or all, "
                         "after each IREE pass too, in DIR/iree/)")
    ir.add_argument("--dump-dir", metavar="DIR", help="write one .mlir file per stage or pass into DIR")

    compile_ = add("compile", commands.compile_program, "compile FUNC to an IREE program (.vmfb)", (common, program))
    compile_.add_argument("-o", "--output", metavar="FILE.vmfb",
                          help="where to write it (default: FUNC.vmfb); its MLIR goes beside it as FILE.mlir")
    compile_.add_argument("--print-flags", action="store_true",
                          help="print the iree-compile command that makes the same FILE.vmfb from FILE.mlir")

    run = add("run", commands.run_program, "run a compiled program and print its results")
    run.add_argument("vmfb", metavar="FILE.vmfb")
    run.add_argument("--input", action="append", default=[], metavar="VALUE",
                     help="one input, in order: 1,2,3 (typed as the program declares), f32[3]=1,2,3, or @x.npy; "
                          "write --input=-1,2 when it starts with a minus")
    run.add_argument("--target", metavar="BACKEND",
                     help="backend whose device runs it (default: the default one); it must match the compile")

    cache = add("cache", commands.cache_command, "show, clear or warm the compile cache")
    cache.add_argument("action", choices=["info", "clear", "warm"],
                       help="warm: build the eager kernel library (the common eager kernels, so that a new "
                            "process compiles none of them)")
    cache.add_argument("--target", metavar="BACKEND", help="warm: the backend to build it for (default: the default one)")
    cache.add_argument("--ops", metavar="NAMES", help="warm: only these primitives (e.g. add,sin,reduce_sum)")
    cache.add_argument("--workers", type=int, default=0, metavar="N", help="warm: compile in N threads (default: one per core)")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except UsageError as e:
        _report(args, e, f"error: {e}")
        return 2
    except BrokenPipeError:  # `irax ir ... | head`: the reader left; say nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except Exception as e:  # not the user's fault: irax's (or IREE's)
        _report(args, e, f"internal error: {describe(e)}. This is a bug in irax; please report it "
                         "with the output of --traceback")
        return 1
    return 0


def _report(args, error, message):
    """One line on stderr; with --traceback, the traceback first."""
    if args.traceback:
        traceback.print_exc()
    elif isinstance(error, UsageError) and error.__cause__ is not None:
        message += " (--traceback shows more)"
    print(f"irax {args.command}: {message}", file=sys.stderr)
