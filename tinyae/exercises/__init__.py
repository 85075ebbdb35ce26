"""Backprop exercises a class hands in: ``tinyae exercises new DIR``, ``tinyae exercises check DIR``.

Each exercise is one of tinyae's own ops with its backward taken out. The student's file is
generated from the op itself (``inspect``): its forward, the first part of its docstring (what it
computes, in the slides' notation) and a ``backward`` that raises NotImplementedError until the
student writes x̄ = ∂L/∂x from ȳ = ∂L/∂y. So the exercises never drift from the ops, and the
instructor's solutions are the ops' own backward formulas (``--solutions``).

``check`` grades each student Function on fixed inputs: its x̄ against tinyae's op for the same
inputs and ȳ (x̄ must have exactly its input's shape: summing over broadcast axes is part of the
exercise, not left to the engine), then against finite differences (gradcheck's own report),
then, as a bonus, the second order, which needs a backward written with tinyae ops.
"""
from .make import EXERCISES, SEED, check_names, exercise_source, readme, write  # noqa: F401
from .check import Row, check_file, check_folder, format_table  # noqa: F401
