"""`tinyae exercises`: files generated from tinyae's own ops, a filled-in solution passes, each
classic backprop bug fails with a report naming the element, and the CLI's exit codes."""
import re
import textwrap
from pathlib import Path

import pytest

from tinyae import cli, exercises
from tinyae.exercises import EXERCISES, check_file, write

BUGS = {  # exercise: (the student's backward body, what the report must name)
    "missing factor": ("mean", "return np.broadcast_to(ybar.data, self.inputs[0].shape)",
                       "x̄ (input 0) at element"),
    "wrong sign": ("sigmoid", "y = self.output\nreturn ybar * y * (y - 1)",
                   "z̄ (input 0) at element"),
    "forgotten transpose": ("matmul", "a, b = self.inputs\nreturn ybar @ b, a.T @ ybar",
                            "ā (input 0) at element"),
    "wrong axis": ("bias_add", "return ybar, ybar.sum(axis=1)", "b̄ (input 1) at element"),
    "fan-out forgotten": ("softmax", "y = self.output\nreturn ybar * y * (1 - y)",
                          "z̄ (input 0) at element"),
}


def fill(path, body):
    """Replace the stub of the file's backward (its last method) with ``body``."""
    source = path.read_text(encoding="utf-8")
    head = source[:source.index("    def backward(")]
    line = re.search(r"    def backward\(self, \w+\):\n", source[len(head):]).group(0)
    path.write_text(head + line + textwrap.indent(body.strip() + "\n", " " * 8), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def stubs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stubs")
    write(folder)
    return folder


def test_generation_is_deterministic_and_covers_the_ops(tmp_path, stubs):
    write(tmp_path / "again")
    for path in stubs.iterdir():
        assert (tmp_path / "again" / path.name).read_text() == path.read_text(), path.name
    names = {p.stem for p in stubs.glob("*.py")} - {"test_exercises"}  # the classroom pytest file
    assert names == set(EXERCISES)
    kinds = {"Sigmoid", "Tanh", "Exp", "Log", "ReLU", "Add", "Sum", "Mean", "MatMul", "Softmax",
             "LogSoftmax", "Conv2d",  # elementwise, broadcasting, reductions, matmul, softmax, conv
             # and beyond single ops: what a course assigns after the first week
             "TwoLayerNet", "SoftmaxCrossEntropy", "Reparameterize", "GaussianKL",
             "ContractivePenalty", "TiedAutoencoder", "LayerNorm", "Attention"}
    assert {exercises.make._class_name(s.op) for s in EXERCISES.values()} == kinds
    readme = (stubs / "README.md").read_text()
    assert "tinyae exercises check" in readme and all(f"`{n}.py`" in readme for n in names)


def test_a_file_holds_the_ops_forward_and_statement_but_not_its_backward(stubs):
    source = (stubs / "sigmoid.py").read_text()
    assert "def forward(self, z):\n        return _sigmoid(z)" in source
    assert "y = σ(z) = 1 / (1 + e⁻ᶻ)" in source and "z̄ = ∂L/∂z" in source
    assert "y (1 − y)" not in source  # the answer is the exercise
    assert "raise NotImplementedError" in source
    assert "y (1 − y)" in exercises.exercise_source("sigmoid", formulas=True)
    compile(source, "sigmoid.py", "exec")


def test_every_solution_passes_first_and_second_order(tmp_path):
    write(tmp_path, solutions=True)  # each backward is the op's own (see exercise_source)
    rows = exercises.check_folder(tmp_path)
    assert [r.exercise for r in rows] == list(EXERCISES)
    assert all(r.status == "ok" and r.second == "ok" for r in rows), exercises.format_table(rows)


def test_unfilled_backward_is_not_done(stubs):
    row = check_file(stubs / "tanh.py")
    assert row.status == "not done"


@pytest.mark.parametrize("bug", list(BUGS))
def test_each_classic_bug_fails_naming_the_element(tmp_path, stubs, bug):
    name, body, where = BUGS[bug]
    row = check_file(copy_and_fill(stubs, tmp_path, name, body))
    assert row.status == "FAIL", row
    assert where in row.message and "finite differences: gradcheck failed" in row.message
    assert row.yours != pytest.approx(row.expected)
    assert re.fullmatch(r"\w\u0304?\[[\d, ]+\]", row.where), row.where  # x̄[1, 2], ā[0, 3]
    # tinyae's op and finite differences (the same ȳ) point at the same element
    assert len(set(re.findall(r"at element (\([\d, ]*\))", row.message))) == 1, row.message


def copy_and_fill(stubs, tmp_path, name, body):
    path = tmp_path / f"{name}.py"
    path.write_text((stubs / f"{name}.py").read_text())
    return fill(path, body)


def test_wrong_shape_gets_the_shape_wording(tmp_path, stubs):
    row = check_file(copy_and_fill(stubs, tmp_path, "bias_add", "return ybar, ybar"))
    assert row.status == "FAIL"
    assert ("your Function Add returned x̄ of shape (3, 3) for input 1 (b) of shape (3,)"
            in row.message)


def test_a_crash_shows_the_students_line(tmp_path, stubs):
    row = check_file(copy_and_fill(stubs, tmp_path, "tanh", "return ybar * (1 - y * y)"))
    assert row.status == "error"
    assert "tanh.py, line" in row.message and "return ybar * (1 - y * y)" in row.message
    assert "NameError" in row.message
    row = check_file(copy_and_fill(stubs, tmp_path, "exp", "return ybar * (1 - ybar"))
    assert row.status == "error" and "exp.py, line" in row.message and "SyntaxError" in row.message


def test_a_numpy_backward_passes_first_order_and_says_why_not_second(tmp_path, stubs):
    body = "y = self.output.data\nreturn ybar.data * y * (1 - y)"
    row = check_file(copy_and_fill(stubs, tmp_path, "sigmoid", body))
    assert row.status == "ok" and row.second == "n/a (NumPy)"
    assert "second order needs a backward written with tinyae ops" in row.message
    linear = check_file(copy_and_fill(stubs, tmp_path, "bias_add",
                                      "return ybar.data, ybar.data.sum(axis=0)"))
    assert linear.status == "ok" and linear.second == "ok"  # x̄ does not depend on x: nothing lost


def test_cli_new_and_check_exit_codes(tmp_path, capsys):
    folder = tmp_path / "class"
    assert cli.main(["exercises", "new", str(folder), "--ops", "tanh,matmul"]) == 0
    assert sorted(p.name for p in folder.iterdir()) == [".tinyae-exercises.json", "README.md",
                                                         "matmul.py", "tanh.py",
                                                         "test_exercises.py"]
    assert cli.main(["exercises", "new", str(folder), "--ops", "tanh"]) == 2
    assert "--force" in capsys.readouterr().err
    assert cli.main(["exercises", "new", str(folder), "--ops", "tanh", "--force"]) == 0
    assert cli.main(["exercises", "new", str(tmp_path / "x"), "--ops", "tanh,cosh"]) == 2
    err = capsys.readouterr().err
    assert "unknown exercise(s) cosh" in err and "sigmoid" in err and "conv2d" in err
    assert cli.main(["exercises", "check", str(folder)]) == 1  # not done yet
    assert "not done" in capsys.readouterr().out
    solved = tmp_path / "solved"
    assert cli.main(["exercises", "new", str(solved), "--ops", "tanh,matmul", "--solutions"]) == 0
    assert cli.main(["exercises", "check", str(solved)]) == 0
    assert "2 of 2 exercises pass" in capsys.readouterr().out
    assert cli.main(["exercises", "check", str(tmp_path / "missing")]) == 2


def test_the_report_in_the_docs_is_what_check_prints(tmp_path, stubs):
    """docs/exercises.md pastes the report of this hand-in; it must stay the real output."""
    write(tmp_path / "handin", solutions=True)
    for name, body in {"sigmoid": "y = self.output.data\nreturn ybar.data * y * (1 - y)",
                       "tanh": None, "matmul": BUGS["forgotten transpose"][1],
                       "bias_add": "return ybar, ybar", "softmax": BUGS["fan-out forgotten"][1]
                       }.items():
        path = tmp_path / "handin" / f"{name}.py"
        path.write_text((stubs / f"{name}.py").read_text())
        if body:
            fill(path, body)
    report = exercises.format_table(exercises.check_folder(tmp_path / "handin"))
    docs = (Path(__file__).resolve().parents[1] / "docs" / "exercises.md").read_text()
    assert report + "\nexit status 1\n" in docs
    for name, bug in (("mean", "missing factor"), ("bias_add", "wrong axis")):
        write(tmp_path / name, [name])
        fill(tmp_path / name / f"{name}.py", BUGS[bug][1])
        assert exercises.format_table(exercises.check_folder(tmp_path / name)) + "\n" in docs


# The exercises beyond single ops: each with the slip a class makes most, and the verdict it gets.
NETWORK_BUGS = {
    "two_layer_net": ("σ' forgotten in the hidden layer",
                      "x, W1, b1, W2, b2 = self.inputs\nh = F.sigmoid(x @ W1.T + b1)\n"
                      "zbar = ybar @ W2\nreturn zbar @ W1, zbar.T @ x, zbar.sum(axis=0), "
                      "ybar.T @ h, ybar.sum(axis=0)",
                      ["W̄2 right", "b̄2 right", "W̄1 wrong", "analytic / numeric varies"]),
    "softmax_cross_entropy": ("the fan-out through the normaliser forgotten",
                              "z, = self.inputs\nreturn -ybar * Tensor(self.targets) / z.shape[0]",
                              ["8 of them are exactly 0 in yours", "a path that reaches them is "
                               "missing"]),
    "reparameterize": ("the ½ of e^{½ log σ²} forgotten",
                       "mu, logvar = self.inputs\n"
                       "return zbar, zbar * F.exp(0.5 * logvar) * Tensor(self.eps)",
                       ["mū right", "logvar̄ wrong (8 of 8 elements)",
                        "each is 2 × the right value"]),
    "vae_kl": ("a sum where the batch mean belongs",
               "mu, logvar = self.inputs\nreturn ybar * mu, ybar * 0.5 * (F.exp(logvar) - 1)",
               ["each is 4 × the right value", "4 is the size of axis 0: a division by that "
                "count missing, as when a sum and a mean are mixed up"]),
    "contractive_penalty": ("h treated as a constant: only the Σⱼ Wᵢⱼ² path",
                            "W, b = self.inputs\nh = F.sigmoid(Tensor(self.x) @ W.T + b)\n"
                            "s = (h * (1 - h)) ** 2\n"
                            "return ybar * 2 * s.sum(axis=0).reshape(-1, 1) * W / 4, 0 * b",
                            ["W̄ wrong", "b̄ wrong"]),
    "tied_autoencoder": ("only the decoder's use of W",
                         "x, W, b, c = self.inputs\nh = F.sigmoid(x @ W.T + b)\n"
                         "zbar = (rbar @ W.T) * h * (1 - h)\n"
                         "return zbar @ W, h.T @ rbar, zbar.sum(axis=0), rbar.sum(axis=0)",
                         ["x̄ right", "W̄ wrong (15 of 15 elements)", "b̄ right", "c̄ right"]),
    "layer_norm": ("μ and σ² treated as constants",
                   "x, gamma, beta = self.inputs\ncentred = x - x.mean(axis=1, keepdims=True)\n"
                   "std = ((centred ** 2).mean(axis=1, keepdims=True) + self.eps) ** 0.5\n"
                   "return ybar * gamma / std, (ybar * centred / std).sum(axis=0), "
                   "ybar.sum(axis=0)",
                   ["x̄ wrong (15 of 15 elements)", "gammā right", "betā right"]),
    "attention": ("v̄ = A ȳ: the transpose of A forgotten",
                  "q, k, v = self.inputs\nroot_d = q.shape[1] ** 0.5\n"
                  "a = F.softmax(q @ k.T / root_d, axis=1)\nabar = ybar @ v.T\n"
                  "sbar = a * (abar - (abar * a).sum(axis=1, keepdims=True))\n"
                  "return sbar @ k / root_d, sbar.T @ q / root_d, a @ ybar",
                  ["q̄ right", "k̄ right", "v̄ wrong"]),
}


@pytest.mark.parametrize("name", list(NETWORK_BUGS))
def test_each_network_exercise_fails_its_classic_slip_with_the_verdict(tmp_path, stubs, name):
    _, body, says = NETWORK_BUGS[name]
    row = check_file(copy_and_fill(stubs, tmp_path, name, body))
    assert row.status == "FAIL", row
    for words in says:
        assert words in row.message, (words, row.message)


@pytest.mark.parametrize("name", list(NETWORK_BUGS))
def test_each_network_exercise_is_graded_against_tinyaes_ops_not_its_own_solution(name):
    """The reference composes tinyae's ops: the solution's backward is itself under test."""
    spec = EXERCISES[name]
    assert spec.reference is not None and spec.reference is not spec.op.apply


def test_the_docs_table_of_network_slips_says_what_the_reports_say():
    docs = (Path(__file__).resolve().parents[1] / "docs" / "exercises.md").read_text()
    for name, (slip, _, says) in NETWORK_BUGS.items():
        row = f"| `{name}` | {slip} | " + "; ".join(f"“{w}”" for w in says) + " |"
        assert row in docs, name
