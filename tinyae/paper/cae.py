"""The contractive autoencoder as Rifai et al. (2011, ICML) train it: 1.14% MNIST test error,
and its figure of contractive tangents.

A 784-1000 sigmoid CAE (tied weights, cross-entropy reconstruction + λ‖J‖²_F, the closed
form) is pretrained on the unlabelled images; its encoder initialises a one-hidden-layer
network that is fine-tuned on the labels and stopped early on a validation set (the protocol
of Vincent et al. 2010, which the paper follows). Then the paper's picture: at test digits,
the leading right singular vectors of J(x) = ∂h/∂x — the directions the code still responds
to — drawn as images and compared with a local PCA of the digit's nearest training images.
Lesson 13 does this with 300 units for 8 epochs of Adam on 20,000 images (63.8° from local
PCA); lesson 14's linear probe on 1000-unit CAE codes gives 5.0%.
"""
import numpy as np

from ..models import leading_directions, principal_angles, sigmoid_jacobian
from ..viz import image_grid
from . import Stages, goal, setup_table
from .sda import fine_tune, pretrain_stack, result_table, split

PAPER_ERROR, GOAL = 1.14, 1.5   # the paper's CAE on MNIST; the goal (percent)
D_TAN, K_NN, N_POINTS = 5, 50, 20   # tangents per point, neighbours for local PCA, test points


def settings(quick):
    if quick:
        return dict(sizes=[784, 64], pre_epochs=2, pre_lr=0.1, batch=20, ft_lrs=[0.5, 0.1],
                    ft_epochs=4, patience=5, n_val=200, contraction=0.1)
    return dict(sizes=[784, 1000], pre_epochs=30, pre_lr=0.01, batch=20, ft_lrs=[0.5, 0.1],
                ft_epochs=50, patience=8, n_val=10_000, contraction=0.1)


SETUP = [
    ("data", "MNIST, 50,000 train / 10,000 validation / 10,000 test", "the same"),
    ("network", "784-1000 CAE (sigmoid), tied weights, cross-entropy reconstruction",
     "the same"),
    ("penalty", "λ‖J‖²_F, closed form for a sigmoid layer; λ chosen on validation",
     "λ = 0.1 per image (lesson 14's value; no search)"),
    ("pretraining", "stochastic gradient descent", "SGD lr 0.01, mini-batches of 20, 30 "
     "epochs (departure: batches; the epochs not searched)"),
    ("classifier", "the CAE's encoder initialises a 784-1000-10 network, fine-tuned on the "
     "labels, early stopping on validation", "the same: SGD, lr 0.5 or 0.1 by validation "
     "error, batches of 20, ≤ 50 epochs, stop after 8 without a lower validation error"),
    ("evaluation", "test error", "the same; one seed"),
    ("tangents", "leading singular vectors of J(x) at test digits, shown as images",
     f"the same, {D_TAN} per digit, and their angle to a local PCA of {K_NN} neighbours"),
]


def tangents(lesson, layer, x_train, x_test):
    """Mean principal angle between J's leading directions and a local PCA at N_POINTS test
    digits, and the figure of the first three (digit, CAE tangents, local PCA)."""
    angles, random_angles, rows, titles = [], [], [], []
    for p in range(min(N_POINTS, len(x_test))):
        x = x_test[p].astype(np.float64)
        near = x_train[np.argsort(((x_train - x) ** 2).sum(axis=1))[:K_NN]].astype(np.float64)
        bases = {"CAE tangents": leading_directions(sigmoid_jacobian(layer, x), D_TAN),
                 "local PCA": leading_directions(near - near.mean(axis=0), D_TAN)}
        angles.append(principal_angles(bases["CAE tangents"], bases["local PCA"]).mean())
        random_basis = np.linalg.qr(lesson.rng.normal(size=(x.size, D_TAN)))[0]
        random_angles.append(principal_angles(random_basis, bases["local PCA"]).mean())
        if p < 3:
            for name, basis in bases.items():   # each direction on grey, scaled to its max
                shown = 0.5 + basis.T / (2 * np.abs(basis).max(axis=0)[:, None])
                rows.append(np.vstack([x[None], shown]))
                titles.append(f"#{p + 1} {name}")
    fig = image_grid(rows, row_titles=titles, title="test digit, then its top-5 directions "
                     "(grey = 0): this CAE's tangents beside a local PCA")
    lesson.figure(fig, "paper_tangents")
    lesson.table([["CAE tangents (leading directions of J)", np.mean(angles), np.min(angles),
                   np.max(angles)], ["random directions", np.mean(random_angles),
                                     np.min(random_angles), np.max(random_angles)]],
                 [f"top-{D_TAN} directions vs local PCA", "mean angle (°)", "min", "max"],
                 fmt=".1f", title=f"at {len(angles)} test digits, local PCA of {K_NN} nearest "
                 f"training images (lesson 13's 300-unit CAE: 63.8° on average)")
    return float(np.mean(angles)), float(np.mean(random_angles))


def run(lesson):
    s = settings(lesson.quick)
    setup_table(lesson, SETUP)
    data = split(lesson, s["n_val"])
    stages = Stages(lesson)
    encoder = pretrain_stack(lesson, stages, data[0], "contractive", s,
                             contraction=s["contraction"])
    x_train, x_test = lesson.to_host(data[0]), lesson.to_host(data[4])   # NumPy's SVD, on the host
    angle, random_angle = tangents(lesson, encoder[0], x_train, x_test)
    model = fine_tune(lesson, stages, encoder, data[:4], s)
    stages.summary(lesson)
    test = result_table(lesson, model, data, f"CAE-1 ({s['sizes'][1]} units) + fine-tuning",
                        PAPER_ERROR)
    goal(lesson, test <= GOAL, f"a 1000-unit CAE trained as published, then fine-tuned, reaches "
         f"at most {GOAL}% MNIST test error (the paper {PAPER_ERROR}%): {test:.2f}%")
    lesson.check(angle < random_angle - 10, f"the CAE's leading directions lie closer to the "
                 f"digits' local PCA than random directions do: {angle:.1f}° vs "
                 f"{random_angle:.1f}° (by > 10°)", needs="paper")
    lesson.smoke(test < 50, f"the fine-tuned network learned something: {test:.1f}% error")
