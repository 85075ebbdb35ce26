"""The exercises and their files: the catalogue (EXERCISES) and ``write``."""
import dis
import inspect
import json
import sys
import textwrap
import types
import unicodedata
from collections import namedtuple
from pathlib import Path

import numpy

from .. import functional as F
from ..autograd import OPS, Function
from ..io import replace_atomically
from ..functional import col2im, conv2d, im2col
from ..tensor import Tensor
from . import networks


# --- the one exercise that is not a single registered op: conv2d is a composition of them --------
class _Conv2d(Function):  # (the _ keeps it out of the op sweep; its reference is F.conv2d)
    """y = x ⋆ w: 2-D convolution (cross-correlation, as in PyTorch) of x (N, C_in, H, W) with
    w (C_out, C_in, kH, kW), zero padding ``self.padding``, stride 1; y (N, C_out, H_out, W_out);
    w̄_mat = Ȳ colsᵀ,  x̄ = col2im(w_matᵀ Ȳ),  cols = im2col(x),  Ȳ = ȳ as (C_out, H_out·W_out·N)"""
    def forward(self, x, w):
        return conv2d(Tensor(x, copy=False), Tensor(w, copy=False), padding=self.padding).data

    def backward(self, ybar):
        x, w = self.inputs
        c_out, kernel = w.shape[0], w.shape[2:]
        ybar_mat = ybar.transpose(1, 2, 3, 0).reshape(c_out, -1)  # (C_out, H_out·W_out·N)
        cols = im2col(x, kernel, padding=self.padding)           # (C_in·kH·kW, H_out·W_out·N)
        wbar = (ybar_mat @ cols.T).reshape(w.shape)
        xbar = col2im(w.reshape(c_out, -1).T @ ybar_mat, x.shape, kernel, padding=self.padding)
        return xbar, wbar


# --- the exercises ------------------------------------------------------------------------------
Exercise = namedtuple("Exercise", "op sample params note solution reference",
                      defaults=({}, "", None, None))
Exercise.__doc__ = """``op`` the Function it is made from, ``sample(rng)`` its inputs, ``params``
its fixed parameters, ``note`` a line for the student, ``solution`` a backward body where the
op's own is not the answer, ``reference`` the function x̄ is compared with (``op.apply``)."""


def _normal(*shapes):
    return lambda rng: tuple(rng.standard_normal(s) for s in shapes)


EXERCISES = {
    "sigmoid": Exercise(OPS["Sigmoid"], _normal((3, 4))),
    "tanh": Exercise(OPS["Tanh"], _normal((3, 4))),
    "exp": Exercise(OPS["Exp"], _normal((3, 4))),
    "log": Exercise(OPS["Log"], lambda rng: (rng.uniform(0.5, 2.0, (3, 4)),)),
    "relu": Exercise(OPS["ReLU"], lambda rng: (rng.choice([-1.0, 1.0], (3, 4))
                                               * rng.uniform(0.1, 1.1, (3, 4)),)),
    "bias_add": Exercise(
        OPS["Add"], _normal((3, 3), (3,)),
        note="a is a batch of 3 rows, b a bias of 3 numbers added to every row (broadcast): "
             "b̄ must have b's shape.",
        solution="return ybar, ybar.sum(axis=0)  # b̄ = Σ over the batch (tinyae's Add leaves "
                 "this sum to the engine)\n"),
    "sum": Exercise(OPS["Sum"], _normal((3, 4)), dict(axis=1, keepdims=False)),
    "mean": Exercise(OPS["Mean"], _normal((3, 4)), dict(axis=0, keepdims=False)),
    "matmul": Exercise(OPS["MatMul"], _normal((3, 4), (4, 4)), note="Y = A B is y = a @ b."),
    "softmax": Exercise(OPS["Softmax"], _normal((3, 4)), dict(axis=-1)),
    "log_softmax": Exercise(OPS["LogSoftmax"], _normal((3, 4)), dict(axis=-1),
                            note="log_softmax is the log-probability of cross-entropy: "
                                 "L = −Σ targets ⊙ log_softmax(z)."),
    "conv2d": Exercise(_Conv2d, _normal((2, 2, 4, 4), (3, 2, 3, 3)), dict(padding=1),
                       note="tinyae.functional's im2col and col2im may help (or loop in NumPy).",
                       reference=lambda x, w, padding: F.conv2d(x, w, padding=padding)),
}


def _one_hot(labels, classes):
    return numpy.eye(classes)[labels]


def _network(op, sample, params=None, note=""):
    """An exercise beyond single ops: graded against the same computation composed from
    tinyae's own ops (networks.REFERENCES), not against its solution."""
    return Exercise(op, sample, params or {}, note, reference=networks.REFERENCES[op])


_NETWORK_DATA = numpy.random.default_rng(1)  # the fixed parameters below (targets, ε, a batch)
EXERCISES.update({
    "two_layer_net": _network(
        networks._TwoLayerNet, _normal((4, 3), (5, 3), (5,), (2, 5), (2,)),
        note="The whole network's backward at once: every error signal by hand, the chain rule "
             "through the hidden layer h = σ(z₁)."),
    "softmax_cross_entropy": _network(
        networks._SoftmaxCrossEntropy, _normal((4, 3)),
        dict(targets=_one_hot([0, 2, 1, 2], 3)),
        note="The fan-out: log softmax(z)ₖ = zₖ − log Σⱼ e^{zⱼ}, and every zⱼ reaches L through "
             "the normaliser too."),
    "reparameterize": _network(
        networks._Reparameterize, _normal((4, 2), (4, 2)),
        dict(eps=_NETWORK_DATA.standard_normal((4, 2))),
        note="ε is a constant here (drawn once): the gradient flows to μ and log σ² only."),
    "vae_kl": _network(networks._GaussianKL, _normal((4, 2), (4, 2))),
    "contractive_penalty": _network(
        networks._ContractivePenalty, _normal((3, 5), (3,)),
        dict(x=_NETWORK_DATA.uniform(0, 1, (4, 5))),
        note="The batch x is fixed: the penalty is a function of the encoder's W and b. "
             "Its gradient needs σ'' = σ'(1 − 2σ)."),
    "tied_autoencoder": _network(
        networks._TiedAutoencoder, _normal((4, 5), (3, 5), (3,), (5,)),
        note="W is used twice, by the encoder and by the decoder: W̄ is the sum of both paths."),
    "layer_norm": _network(
        networks._LayerNorm, _normal((3, 5), (5,), (5,)), dict(eps=1e-5),
        note="μ and σ² depend on every element of the row: x̄ has three paths per element."),
    "attention": _network(
        networks._Attention, _normal((4, 3), (4, 3), (4, 2)),
        note="The softmax is row-wise (each query's weights over the keys)."),
})
HANDED_OUT = ".tinyae-exercises.json"  # the names `new` wrote, which `check` expects back
SEED = 0  # every exercise's inputs and ȳ come from default_rng(SEED): the same in class and grading


def check_names(names):
    """The exercise names asked for, in order; ValueError listing the available ones otherwise."""
    unknown = [n for n in names if n not in EXERCISES]
    if unknown:
        raise ValueError(f"unknown exercise(s) {', '.join(unknown)}; the exercises are "
                         f"{', '.join(EXERCISES)}")
    return list(dict.fromkeys(names))


# --- writing the files --------------------------------------------------------------------------
def notebook_source(name, formulas=False, solution=False):
    """The exercise as a Jupyter notebook (nbformat 4): what it is, the file's code in one cell
    to complete, and a last cell that checks it as ``tinyae exercises check`` does."""
    def cell(kind, text):
        extra = {"execution_count": None, "outputs": []} if kind == "code" else {}
        return {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True),
                **extra}
    source = exercise_source(name, formulas, solution)
    cells = [cell("markdown", f"# Exercise `{name}`\n\nComplete `backward` in the next cell, "
                              "save the notebook, then run the last cell to check it."),
             cell("code", source),
             cell("code", "# Check: grades this notebook as saved (save it first), as "
                          "`tinyae exercises check` does\nfrom tinyae.exercises.check import "
                          f"check_notebook\ncheck_notebook(\"{name}.ipynb\")\n")]
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {
        "display_name": "Python 3", "language": "python", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}, indent=1, ensure_ascii=False) + "\n"


def write(folder, names=None, force=False, formulas=False, solutions=False, notebooks=False):
    """Write one ``NAME.py`` per exercise and a README.md into ``folder``; the paths written.

    An existing non-empty folder is refused (FileExistsError) unless ``force``. ``formulas`` keeps
    the whole docstring (the backward formula too: an exercise in turning maths into code);
    ``solutions`` writes the op's own backward instead of the stub (the instructor's copy);
    ``notebooks`` writes each exercise as ``NAME.ipynb`` (the check in its last cell)."""
    names = check_names(names or list(EXERCISES))
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} is a file, not a folder")
    if folder.is_dir() and any(folder.iterdir()) and not force:
        raise FileExistsError(f"{folder} is not empty; choose a new folder or pass --force to "
                              "overwrite the exercise files in it")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        if notebooks:
            paths.append(_write_whole(folder / f"{name}.ipynb",
                                      notebook_source(name, formulas, solutions)))
        else:
            paths.append(_write_whole(folder / f"{name}.py",
                                      exercise_source(name, formulas, solutions)))
    paths.append(_write_whole(folder / "README.md", readme(names)))
    _write_whole(folder / "test_exercises.py", CLASSROOM_TESTS)
    # The list handed out: `exercises check` grades against it, so a deleted or renamed file
    # is a named failure, not a smaller class of files that all pass
    _write_whole(folder / HANDED_OUT, json.dumps({"exercises": names}) + "\n")
    return paths


# Written beside the exercises: `pytest` in the folder runs the same grading, one test per
# exercise, which is what GitHub Classroom's autograder (and a student's editor) runs.
CLASSROOM_TESTS = '''"""One test per exercise handed out, for `pytest` (GitHub Classroom's autograder runs it:
one test per exercise, `pytest test_exercises.py -k NAME`). Each failure says what
`tinyae exercises check .` says. Generated by `tinyae exercises new`; do not edit."""
import json
from pathlib import Path

import pytest

from tinyae.exercises import check_folder

HERE = Path(__file__).resolve().parent
HANDED_OUT = json.loads((HERE / ".tinyae-exercises.json").read_text(encoding="utf-8"))["exercises"]


@pytest.fixture(scope="module")
def report():
    return {row.exercise: row for row in check_folder(HERE)}


@pytest.mark.parametrize("name", HANDED_OUT)
def test_first_order(report, name):
    row = report[name]
    assert row.status == "ok", f"{name}: {row.status}. {row.message}"
'''


def _write_whole(path, text):
    """Write ``text`` beside ``path`` first, then rename: a full disk leaves no half file."""
    return replace_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))


def exercise_source(name, formulas=False, solution=False):
    """The text of one exercise file (deterministic: the same op gives the same file)."""
    spec = EXERCISES[name]
    op = spec.op
    inputs = _input_names(op)
    ybar = list(inspect.signature(op.backward).parameters)[1]
    used = set(_globals_used(op.forward))
    if solution and not spec.solution:
        used |= set(_globals_used(op.backward))
    imports = ["import numpy as np", "", "import tinyae.functional as F",
               "from tinyae import Function, Tensor"] + _imports(op, sorted(used))
    where = Path(inspect.getfile(op)).resolve().relative_to(Path(__file__).resolve().parents[2])
    cls = _class_name(op)
    header = (f'"""Exercise {name}: the backward pass of {cls}.\n\n'
              f"Generated by `tinyae exercises new` from tinyae's own {cls} ({where}).\n"
              'Grade it with `tinyae exercises check FOLDER` (see README.md)."""\n')
    body = (_solution_body(spec) if solution else _stub_body(name, spec, inputs, ybar))
    return (header + "\n".join(dict.fromkeys(imports)) + f'\n\nEXERCISE = "{name}"\n\n\n'
            f"class {cls}(Function):\n"
            + textwrap.indent(_docstring(spec, inputs, formulas), "    ")
            + inspect.getsource(op.forward) + "\n"
            + f"    def backward(self, {ybar}):\n" + textwrap.indent(body, "        "))


def _class_name(op):
    return op.__name__.lstrip("_")


def _input_names(op):
    return [p for p in inspect.signature(op.forward).parameters if p != "self"]


def _bar(symbol):
    """x → x̄, a → ā, W1 → W̄1 (composed where Unicode has the letter, as one types it)."""
    letters = symbol.rstrip("0123456789")
    return unicodedata.normalize("NFC", letters + "\u0304") + symbol[len(letters):]


def _docstring(spec, inputs, formulas):
    doc = inspect.cleandoc(spec.op.__doc__)
    statement = doc if formulas else textwrap.fill(_statement(spec.op), 92)
    xs = dict(zip(inputs, spec.sample(numpy.random.default_rng(SEED))))
    bars = ", ".join(f"{_bar(x)} = ∂L/∂{x}" for x in inputs)
    shapes = (", in this order, each with its input's shape." if len(inputs) > 1
              else f", with {inputs[0]}'s shape.")
    lines = [statement, "",
             f"Exercise: write ``backward``. Given ȳ = ∂L/∂y (the error signal of the output, "
             f"y's shape), return {bars}{shapes}",
             "In this exercise " + ", ".join(f"{x} has shape {a.shape}" for x, a in xs.items())
             + "".join(f"; self.{k} = {_shown(v)}" for k, v in spec.params.items()) + "."]
    lines += [spec.note] if spec.note else []
    wrapped = [statement] + [textwrap.fill(line, 92) if line else "" for line in lines[1:]]
    return '"""' + "\n".join(wrapped) + '"""\n'


def _shown(value):
    """A fixed parameter as the docstring states it: an array by its shape, a number as is."""
    if isinstance(value, numpy.ndarray):
        return f"a fixed array of shape {value.shape}"
    return repr(value)


def _statement(op):
    """What the op computes: its docstring's first paragraph up to the backward formula (';')."""
    return " ".join(inspect.cleandoc(op.__doc__).split("\n\n")[0].split(";")[0].split())


def _stub_body(name, spec, inputs, ybar):
    params = "".join(f", self.{k}" for k in spec.params)
    hint = (f"{ybar} is ȳ, a Tensor of y's shape. At hand: self.inputs (the Tensors "
            f"{', '.join(inputs)}), self.output (y){params}; .data gives a Tensor's NumPy array. "
            "NumPy is fine for the first-order check; written with tinyae ops on Tensors "
            "(F.exp, *, @, .sum(axis=...)) it can pass the second-order (bonus) check too.")
    return (textwrap.fill(hint, 84, initial_indent="# ", subsequent_indent="# ",
                          break_on_hyphens=False) + "\n"
            f"raise NotImplementedError(\"{name}: return {', '.join(_bar(x) for x in inputs)} "
            "here (then delete this line)\")\n")


def _solution_body(spec):
    if spec.solution:
        return spec.solution
    lines = inspect.getsource(spec.op.backward).splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.lstrip().startswith("def ")) + 1
    return textwrap.dedent("".join(lines[start:]))


def _globals_used(fn):
    """The module-level names a function reads (the imports its copy in an exercise file needs)."""
    names, codes = set(), [fn.__code__]
    while codes:
        code = codes.pop()
        names |= {i.argval for i in dis.get_instructions(code) if i.opname == "LOAD_GLOBAL"}
        codes += [c for c in code.co_consts if isinstance(c, types.CodeType)]
    return sorted(n for n in names if n in fn.__globals__)


def _imports(op, names):
    """Import lines for the module-level ``names`` of ``op``'s module, one per source module."""
    home, plain, by_module = sys.modules[op.__module__].__dict__, [], {}
    for name in names:
        obj = home[name]
        if isinstance(obj, types.ModuleType):
            package, _, leaf = obj.__name__.rpartition(".")
            plain.append(f"from {package} import {leaf}" if package and leaf == name else
                         f"import {obj.__name__}" + ("" if leaf == name else f" as {name}"))
            continue
        source = getattr(obj, "__module__", None)
        if getattr(sys.modules.get(source), name, None) is not obj:
            source = op.__module__  # an alias (``sum as _sum``): import it from the op's module
        by_module.setdefault(source, []).append(name)
    return sorted(plain) + [f"from {m} import {', '.join(n)}" for m, n in sorted(by_module.items())]


def readme(names):
    """The class's README.md: what to do, how to check, how it is graded."""
    rows = "\n".join(f"| `{n}.py` | {_statement(EXERCISES[n].op).replace('``', '`')} |"
                      for n in names)
    return f"""# Backprop exercises

Each file is one operation of a neural network as tinyae implements it. Its `forward` is written;
its `backward` is yours: given ȳ = ∂L/∂y, the error signal of the output, return x̄ = ∂L/∂x for
each input x, with x's shape.

| file | the operation |
|---|---|
{rows}

## Checking your work

    tinyae exercises check .    # in this folder (pip install tinyae, or -e . in a clone)

prints one row per exercise:

- **1st order**: `ok` when your x̄ agrees element by element with tinyae's own op (same inputs,
  same ȳ) and with finite differences, (L(x + ε) − L(x − ε)) / 2ε. `FAIL` names the worst
  element with your value beside tinyae's; the lines under the table say more. `not done`: the
  backward still raises NotImplementedError; `error`: it crashed (your line is shown).
- **2nd (bonus)**: your backward differentiated once more, as contractive penalties and
  Hessian-vector products need. Only a backward written with tinyae ops (`F.exp`, `*`, `@`,
  `.sum(axis=...)`) can pass it; one written in NumPy (`.data`, `np.…`) shows `n/a (NumPy)`.

The ratio of your value to the expected one often names the bug: ½ or ⅓ a missing factor, −1 a
wrong sign, a ratio that changes from element to element a missing transpose or a wrong axis.

## Grading

The command exits with status 0 when every exercise passes the first order, 1 otherwise ("not
done" counts as a failure); the second order is a bonus and does not change the status. The
inputs are fixed, so the table is the same on every machine.
"""
