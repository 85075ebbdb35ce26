"""Grading a folder of exercise files: ``check_folder``, ``check_file``, ``format_table``."""
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import traceback
import unicodedata
from collections import namedtuple
from pathlib import Path

import numpy

from ..autograd import enable_grad
from ..gradients import grad
from ..gradcheck import _check_function, _check_second_order, _Outcome
from ..tensor import Tensor
from .make import EXERCISES, HANDED_OUT, SEED, _bar, _class_name, _input_names


# --- checking a folder --------------------------------------------------------------------------
Row = namedtuple("Row", "exercise status second where yours expected message")
Row.__doc__ = ("One line of the report: status 'ok' | 'FAIL' | 'not done' | 'error'; second "
               "'ok' | 'FAIL' | 'n/a (NumPy)' | '-'; the worst element of x̄ with the student's "
               "and tinyae's value there; the message explaining a failure.")
EPS, ATOL, RTOL = 1e-6, 1e-8, 1e-6  # gradcheck's defaults


def check_folder(folder, timeout=60, memory_mb=2048, expected=None):
    """Grade a hand-in: one row per exercise handed out (``expected``, else the list ``new``
    wrote into the folder; without either, the files with an ``EXERCISE = ...`` line). Each file
    is graded in a child process with a time and a memory limit, so a hand-in that exits,
    hangs, crashes, allocates or prints without end fails that exercise, saying why, and the
    others are still graded. A handed-out file that is missing or renamed is a failure naming
    it."""
    folder = Path(folder).absolute()  # the child process runs elsewhere: a relative path breaks
    expected = expected if expected is not None else _handed_out(folder)
    found = {}
    for path in sorted(folder.glob("*.py")) + sorted(folder.glob("*.ipynb")):
        if not path.is_file() or path.stem in found:
            continue  # a folder named like a file, a dangling link: not a hand-in file
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as err:
            found[path.stem] = _problem("error", f"{path.name} cannot be read ({err.strerror or err})"
                                        )._replace(exercise=path.stem)
            continue
        # the EXERCISE line starts a line of a .py file, or a source line of a notebook's cell
        if ("\nEXERCISE = " in text or '"EXERCISE = ' in text
                or (expected and path.stem in expected)):
            found[path.stem] = path
    names = list(expected or [])
    names += sorted((n for n in found if n not in names),
                    key=lambda n: (list(EXERCISES).index(n) if n in EXERCISES else len(EXERCISES), n))
    rows = []
    for name in names:
        item = found.get(name)
        if expected is not None and name not in expected:
            rows.append(_problem("extra", f"{name}.py is not one of the exercises handed out "
                                 f"({', '.join(expected)}): not graded")._replace(exercise=name))
        elif item is None:
            rows.append(_problem("missing", f"{name}.py is missing from the hand-in (it was handed "
                                 "out; a renamed file is not graded under another name)"
                                 )._replace(exercise=name))
        elif isinstance(item, Row):
            rows.append(item)
        else:
            rows.append(_check_in_child(item, timeout, memory_mb))
    return rows


def _handed_out(folder):
    """The exercise names ``tinyae exercises new`` wrote into this folder, or None."""
    try:
        names = json.loads((folder / HANDED_OUT).read_text(encoding="utf-8"))["exercises"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return [n for n in names if isinstance(n, str)]


def _limit_memory(megabytes):
    """The child's address space capped (POSIX): an allocation past it is a MemoryError in the
    hand-in, graded as that exercise's error, not the grading machine swapping."""
    def limit():
        import resource
        cap = megabytes * 2 ** 20
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    return limit if megabytes and os.name == "posix" else None


def _check_in_child(path, timeout, memory_mb=2048):
    """``check_file(path)`` in a fresh Python process, within ``timeout`` seconds and
    ``memory_mb`` of memory; whatever the hand-in does (sys.exit, os._exit, an endless loop, a
    crash, megabytes of print, gigabytes of arrays), a Row."""
    with tempfile.TemporaryDirectory() as work:
        result = Path(work) / "row.json"
        command = [sys.executable, "-c", "import sys; from tinyae.exercises.check import "
                   "_grade_to_file; _grade_to_file(sys.argv[1], sys.argv[2])", str(path), str(result)]
        # one BLAS thread: the exercises are tiny, and the memory cap counts every thread's stack
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        try:
            done = subprocess.run(command, cwd=work, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  timeout=timeout, env=env, preexec_fn=_limit_memory(memory_mb))
        except subprocess.TimeoutExpired:
            return _problem("error", f"{path.name} did not finish within {timeout:g} s (an endless "
                            "loop in the backward or at import?)")._replace(exercise=path.stem)
        if not result.is_file():
            return _problem("error", f"{path.name} ended the grading process before it was graded "
                            f"(exit status {done.returncode}: sys.exit, os._exit, or a crash in "
                            "the hand-in)")._replace(exercise=path.stem)
        return Row(*json.loads(result.read_text(encoding="utf-8")))


def _grade_to_file(path, out):
    """The child's side: grade one file and write its Row as JSON (then exit)."""
    row = check_file(path)
    Path(out).write_text(json.dumps(list(row)), encoding="utf-8")


def check_file(path):
    """Grade one student file (a .py, or a notebook sheet's .ipynb): x̄ against tinyae's op,
    then finite differences, then (bonus) the second order; a ``Row``."""
    path = Path(path).resolve()
    if path.suffix == ".ipynb":
        return _check_notebook_file(path)
    try:
        module = _load(path)
    except Exception as err:  # noqa: BLE001  (a broken hand-in is a result, not a crash)
        return _problem("error", _student_line(path, err))._replace(exercise=path.stem)
    claimed = getattr(module, "EXERCISE", None)
    spec = EXERCISES.get(claimed)
    if isinstance(claimed, str) and spec is None:
        return _problem("error", f"{path.name} is exercise {claimed!r}, which this tinyae does "
                        "not have: it was written by another tinyae version (grade it with that "
                        "version, or hand out a new sheet)")._replace(exercise=path.stem)
    student = getattr(module, _class_name(spec.op), None) if spec else None
    if student is None:
        return _problem("error", f"{path.name} has no EXERCISE line naming an exercise, or no "
                        "class of that exercise's name: keep both as they were generated"
                        )._replace(exercise=path.stem)
    inputs = spec.sample(numpy.random.default_rng(SEED))
    run = _run_backward(student, spec, inputs, path)
    if isinstance(run, Row):
        return run._replace(exercise=path.stem)
    names, (xbars, ref_xbars) = _input_names(spec.op), run
    (i, k), yours, expected, wrong = _worst(xbars, ref_xbars)
    row = Row(path.stem, "ok", "-", f"{_bar(names[i])}{list(k)}", yours, expected, "")

    def fn(*xs):
        return student.apply(*xs, **spec.params)
    fd = _guarded(lambda: _check_function(fn, inputs, EPS, ATOL, RTOL, None, SEED, names), path)
    if wrong or not fd.ok:
        mismatch = (f"your {_bar(names[i])} (input {i}) at element {k} is {yours:.10g}; tinyae's "
                    f"{_class_name(spec.op)} gives {expected:.10g} for the same inputs and ȳ"
                    f"{_verdicts(names, xbars, ref_xbars)}"
                    f"{_transposed_operand(spec, inputs, names, xbars, ref_xbars)}\n")
        return row._replace(status="FAIL", message=(mismatch if wrong else "")
                            + "finite differences: " + (fd.message if not fd.ok else "agree"))
    detached = [n for n, x, r in zip(names, xbars, ref_xbars)
                if r.requires_grad and not getattr(x, "requires_grad", False)]
    if detached:
        return row._replace(second="n/a (NumPy)", message=(
            f"second order needs a backward written with tinyae ops: your {_bar(detached[0])} "
            "is not built from tinyae ops on Tensors (it is a NumPy array, or made from .data), "
            "so it cannot be differentiated again. First order is fine."))
    so = _guarded(lambda: _check_second_order(fn, inputs, EPS, ATOL, RTOL, None, SEED, names),
                  path)
    return row._replace(second="ok" if so.ok else "FAIL",
                        message="" if so.ok else "second order: " + so.message)


CHECK_CELL_MARK = "check_notebook("  # the sheet's last cell, which is not part of the answer


def notebook_code(path):
    """The code cells of a notebook sheet, joined into one module (the check cell left out)."""
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    sources = ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
               for c in cells if c.get("cell_type") == "code"]
    return "\n\n".join(src for src in sources if CHECK_CELL_MARK not in src) + "\n"


def _check_notebook_file(path):
    """Grade a notebook sheet: its code cells written out as NAME.py beside a copy, graded."""
    try:
        code = notebook_code(path)
    except (OSError, ValueError, KeyError, TypeError) as err:
        return _problem("error", f"{path.name} is not a readable notebook ({err}); open it in "
                        "Jupyter and save it again")._replace(exercise=path.stem)
    with tempfile.TemporaryDirectory() as work:
        script = Path(work) / f"{path.stem}.py"
        script.write_text(code, encoding="utf-8")
        row = check_file(script)
    return row._replace(exercise=path.stem, message=row.message.replace(
        f"{path.stem}.py, line", f"{path.name} (its code cells joined), line"))


def check_notebook(path):
    """The check cell of a notebook sheet: grade the notebook (as saved) and print its row."""
    print(format_table([check_file(path)]))


def _load(path):
    spec = importlib.util.spec_from_file_location(f"tinyae_exercise_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _problem(status, message, where=""):
    return Row("", status, "-", where, None, None, message)


def _run_backward(student, spec, inputs, path):
    """The student's x̄ and tinyae's for the same inputs and ȳ, or a Row saying what went wrong."""
    xs = [Tensor(a.copy(), requires_grad=True) for a in inputs]
    refs = [Tensor(a.copy(), requires_grad=True) for a in inputs]
    names = _input_names(spec.op)
    reference = spec.reference or spec.op.apply
    ref_y = reference(*refs, **spec.params)
    # gradcheck's own ȳ for seed SEED: its finite-difference report multiplies by the same one
    ybar = Tensor(numpy.random.default_rng(SEED).standard_normal(ref_y.shape), copy=False)
    ref_xbars = grad(ref_y, refs, grad_outputs=ybar, create_graph=True)
    try:
        y = student.apply(*xs, **spec.params)
        if y.shape != ref_y.shape or not numpy.allclose(y.data, ref_y.data):
            return _problem("error", f"your forward gives a different y from tinyae's "
                            f"{_class_name(spec.op)}: leave forward as it was generated")
        with enable_grad():  # what run_backward does with create_graph=True
            xbars = y._creator.backward(ybar)
    except NotImplementedError:
        return _problem("not done", "backward still raises NotImplementedError")
    except Exception as err:  # noqa: BLE001
        return _problem("error", _student_line(path, err))
    xbars = tuple(xbars) if isinstance(xbars, (tuple, list)) else (xbars,)
    if len(xbars) != len(xs):
        return _problem("FAIL", f"your Function {_class_name(spec.op)} returned {len(xbars)} "
                        f"error signal(s) for {len(xs)} input(s); return "
                        f"{', '.join(_bar(n) for n in names)}")
    for i, (xbar, x) in enumerate(zip(xbars, xs)):
        shape = getattr(xbar, "shape", None)
        if shape is None or tuple(shape) != tuple(x.shape):
            got = f"x̄ of shape {tuple(shape)}" if shape is not None else repr(xbar)[:40]
            return _problem("FAIL", f"your Function {_class_name(spec.op)} returned {got} for "
                            f"input {i} ({names[i]}) of shape {tuple(x.shape)}: x̄ must have its "
                            "input's shape" + (" (sum ȳ over the axes the input was broadcast "
                                               "along)" if shape and len(shape) >= x.ndim else ""),
                            f"{_bar(names[i])} shape")
    return xbars, ref_xbars


def _worst(xbars, ref_xbars):
    """((input, element), yours, tinyae's, failed): the element furthest outside the tolerance,
    or, where every element is inside it, the one with the largest |difference|."""
    candidates = []
    for i, (xbar, ref) in enumerate(zip(xbars, ref_xbars)):
        mine = numpy.asarray(getattr(xbar, "data", xbar), dtype="float64")
        theirs = ref.data
        diff = numpy.nan_to_num(numpy.abs(mine - theirs), nan=numpy.inf)  # a NaN is the worst
        excess = diff - ATOL - RTOL * numpy.abs(theirs)
        score = excess if excess.max() > 0 else diff
        k = numpy.unravel_index(int(score.argmax()), score.shape)
        candidates.append((excess[k] > 0, score[k], i, k, mine[k], theirs[k]))
    failed, _, i, k, mine, theirs = max(candidates, key=lambda c: c[:2])
    return (i, tuple(int(j) for j in k)), float(mine), float(theirs), bool(failed)


def _verdicts(names, xbars, ref_xbars):
    """'; ā wrong (12 of 12 elements), b̄ right': each input's error signal by name, so a
    student knows which formula to look at (only when there is more than one)."""
    if len(names) < 2:
        return ""
    parts = []
    for name, xbar, ref in zip(names, xbars, ref_xbars):
        mine = numpy.asarray(getattr(xbar, "data", xbar), dtype="float64")
        bad = ~(numpy.abs(mine - ref.data) <= ATOL + RTOL * numpy.abs(ref.data))
        parts.append(f"{_bar(name)} wrong ({int(bad.sum())} of {bad.size} elements)" if bad.any()
                     else f"{_bar(name)} right")
    return "; " + ", ".join(parts)


def _transposed_operand(spec, inputs, names, xbars, ref_xbars):
    """'. Your ā is what the right formula gives with b transposed: …' when a wrong x̄ equals
    the reference's x̄ at the same point but with one square matrix input transposed: the
    forgotten (or extra) ᵀ of Ā = Ȳ Bᵀ, told apart from every other slip by recomputing."""
    found = []
    for j, a in enumerate(inputs):
        if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 2:
            continue
        swapped = [x.T.copy() if n == j else x for n, x in enumerate(inputs)]
        refs = [Tensor(x, requires_grad=True) for x in swapped]
        y = (spec.reference or spec.op.apply)(*refs, **spec.params)
        ybar = Tensor(numpy.random.default_rng(SEED).standard_normal(y.shape), copy=False)
        other = grad(y, refs, grad_outputs=ybar, allow_unused=True)
        for i, (mine, theirs, right) in enumerate(zip(xbars, other, ref_xbars)):
            mine = numpy.asarray(getattr(mine, "data", mine), dtype="float64")
            if (theirs is not None and i != j and not numpy.allclose(mine, right.data)
                    and numpy.allclose(mine, theirs.data, rtol=RTOL, atol=ATOL)):
                found.append(f". Your {_bar(names[i])} is what the right formula gives with "
                             f"{names[j]} transposed: a ᵀ on {names[j]} is missing (or extra) "
                             f"in your {_bar(names[i])}")
    return "".join(found)


def _guarded(check, path):
    """A gradcheck outcome; a crash in the student's code becomes a failed one naming the line."""
    try:
        return check()
    except Exception as err:  # noqa: BLE001
        return _Outcome(False, float("nan"), _student_line(path, err))


def _student_line(path, err):
    """'tanh.py, line 24: return ybar * (1 - y * y) -> NameError: ...': the last line of the
    student's file in the traceback, then the error."""
    if isinstance(err, SyntaxError) and err.filename and Path(err.filename).resolve() == path:
        return (f"{path.name}, line {err.lineno}: {(err.text or '').strip()} -> "
                f"SyntaxError: {err.msg}")
    frames = traceback.extract_tb(err.__traceback__)
    mine = [f for f in frames if Path(f.filename).resolve() == path]
    where = f"{path.name}, line {mine[-1].lineno}: {mine[-1].line} -> " if mine else ""
    return f"{where}{type(err).__name__}: {err}".replace("\n", " ")


def format_table(rows):
    """The rows as the text table ``tinyae exercises check`` prints."""
    def number(v):
        return "" if v is None else f"{v:.6g}"
    header = ["exercise", "1st order", "2nd (bonus)", "worst element", "yours", "tinyae"]
    cells = [header] + [[r.exercise, r.status, r.second, r.where, number(r.yours),
                         number(r.expected)] for r in rows]
    def width(text):
        return len(unicodedata.normalize("NFC", text).replace("\u0304", ""))  # x̄: one column
    widths = [max(width(c[i]) for c in cells) for i in range(len(header))]
    lines = ["  ".join(c + " " * (w - width(c)) for c, w in zip(row, widths)).rstrip()
             for row in cells]
    lines.insert(1, "-" * len(lines[0]))
    graded = [r for r in rows if r.status != "extra"]  # files not handed out count for nothing
    passed = sum(r.status == "ok" for r in graded)
    lines.append(f"{passed} of {len(graded)} exercises pass (first order); "
                 f"{sum(r.second == 'ok' for r in graded)} pass the second order too")
    for r in rows:
        if r.message:
            lines.append(textwrap.indent(f"{r.exercise}: {r.message}", "    ")[2:])
    return "\n".join(lines)
