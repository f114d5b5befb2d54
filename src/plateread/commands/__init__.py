"""The ``plateread`` verbs: each takes parsed arguments and calls the library."""

from plateread.commands.reading import run_bench, run_read, run_serve
from plateread.commands.training import run_data, run_eval, run_export, run_synth, run_train

__all__ = [
    "run_bench",
    "run_data",
    "run_eval",
    "run_export",
    "run_read",
    "run_serve",
    "run_synth",
    "run_train",
]
