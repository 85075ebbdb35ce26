"""The masked autoencoder's mask-ratio curve as He et al. (2021, Fig. 5) measure it: each
ratio pretrained, then fine-tuned end to end (and probed linearly) on the labels.

He et al. pretrain ViT-L on ImageNet for 800 epochs at every ratio from 10% to 90% and find
fine-tuning accuracy highest around 75% (a broad top, 40–80% within a point; 90% lower), the
linear probe rising more steeply to 75%. Lesson 15 trains its MNIST MAE for 1 epoch per ratio
and evaluates by a linear probe only (there 50% beat 75%). Here every ratio gets the same
longer pretraining and the paper's evaluation, fine-tuning, at MNIST's size.
"""
import numpy as np

from .. import backend, losses, no_grad, optim
from ..data import DataLoader
from ..models import MAEClassifier, MaskedAutoencoder, pretraining
from . import Stages, goal, setup_table


def settings(quick):
    if quick:
        return dict(ratios=[0.5, 0.75], model=(4, 32, 2, 2, 16, 1), batch=64, pre_epochs=1,
                    pre_lr=4e-3, n_labels=1000, ft_epochs=4, ft_lr=3e-3, probe_epochs=3)
    return dict(ratios=[0.25, 0.5, 0.6, 0.75, 0.9], model=(4, 64, 2, 4, 32, 1), batch=64,
                pre_epochs=6, pre_lr=4e-3, n_labels=10_000, ft_epochs=8, ft_lr=1e-3,
                probe_epochs=25)


SETUP = [
    ("data", "ImageNet-1k, 224×224, 16×16 patches (196)", "MNIST, 28×28, 4×4 patches (49): "
     "the course's data on a CPU"),
    ("encoder / decoder", "ViT-L (24 blocks, width 1024) / 8 blocks, width 512",
     "2 blocks, width 64, 4 heads / 1 block, width 32 (lesson 15's, for a CPU)"),
    ("masking", "random patches, ratios 10%–90%", "random patches, 25, 50, 60, 75, 90%"),
    ("target", "normalised pixels of each hidden patch (norm_pix_loss), MSE on hidden only",
     "the same"),
    ("pretraining", "AdamW β = (0.9, 0.95), weight decay 0.05, lr 1.5·10⁻⁴·batch/256, "
     "40 warm-up epochs, cosine, 800 epochs, random-resized-crop",
     "AdamW β = (0.9, 0.95), wd 0.05, lr 4·10⁻³ (lesson 15's: the paper's rule gives "
     "3.75·10⁻⁵ at batch 64, meant for 800 epochs), cosine, 6 epochs, batch 64, no warm-up "
     "or augmentation"),
    ("fine-tuning", "all labels, 100 epochs (ViT-B), AdamW, layer-wise lr decay, label "
     "smoothing, mixup, cutmix, RandAugment, drop path; global average pooling",
     "10,000 labels, 8 epochs, AdamW lr 10⁻³, wd 0.05, cosine, batch 128; average pooling; "
     "no lr decay or augmentation (the time, and MNIST needs no mixup)"),
    ("linear probe", "a linear layer on frozen features (with BatchNorm)",
     "softmax regression on standardised frozen features of the same 10,000 images"),
    ("evaluation", "ImageNet validation top-1, one run per ratio", "MNIST test accuracy, "
     "one seed per ratio; the same fine-tuning from the random start as the baseline"),
]


def linear_probe(mae, x, y, x_test, y_test, epochs, seed):
    """Test accuracy of softmax regression on the encoder's standardised frozen features."""
    with no_grad():   # the features, kept on the data's device (a GPU with cupy)
        f, f_test = (backend.get_array_module(a).concatenate(
            [mae.features(a[i:i + 1000]).data for i in range(0, len(a), 1000)])
            for a in (x, x_test))
    mu, sd = f.mean(0), f.std(0) + 1e-6
    return 1 - pretraining.linear_probe((f - mu) / sd, y, (f_test - mu) / sd, y_test, epochs,
                                        batch_size=256, lr=5e-3, seed=seed)


def run(lesson):
    s = settings(lesson.quick)
    setup_table(lesson, SETUP)
    x, y = lesson.mnist("train")
    x_test, y_test = lesson.mnist("test", quick_n=500)
    x, x_test = lesson.asarray(x), lesson.asarray(x_test)
    y, y_test = (lesson.asarray(a.astype(np.int64)) for a in (y, y_test))
    x_lab, y_lab = x[:s["n_labels"]], y[:s["n_labels"]]
    patch, dim, depth, heads, dec_dim, dec_depth = s["model"]
    stages, seed, rows = Stages(lesson), lesson.seed, []

    def mae(ratio):
        return MaskedAutoencoder(28, patch, dim, depth, heads, dec_dim, dec_depth,
                                 mask_ratio=ratio, norm_pix_loss=True, rng=seed, mask_seed=seed)

    def fine_tune(name, model):
        tuned = MAEClassifier(model, 10, rng=seed)
        opt = optim.AdamW(tuned.encoder_and_head(), lr=s["ft_lr"], weight_decay=0.05)
        stages.fit(name, tuned, opt, DataLoader(x_lab, y_lab, batch_size=128, shuffle=True,
                                                seed=seed), s["ft_epochs"],
                   describe=f"encoder + linear layer on {len(x_lab):,} labels",
                   loss_fn=losses.cross_entropy, target="label",
                   scheduler=optim.CosineAnnealingLR(opt, T_max=s["ft_epochs"]), seed=seed)
        return 1 - pretraining.error_rate(tuned, x_test, y_test)

    for ratio in s["ratios"]:
        model = mae(ratio)
        opt = optim.AdamW(model.parameters(), lr=s["pre_lr"], betas=(0.9, 0.95),
                          weight_decay=0.05)
        tag = f"{round(100 * ratio)}"
        stages.fit(f"pretrain_{tag}", model, opt, DataLoader(x, batch_size=s["batch"],
                                                             shuffle=True, seed=seed),
                   s["pre_epochs"], describe=f"MAE, {ratio:.0%} of the patches hidden",
                   scheduler=optim.CosineAnnealingLR(opt, T_max=s["pre_epochs"]), seed=seed)
        probe = linear_probe(model, x_lab, y_lab, x_test, y_test, s["probe_epochs"], seed)
        rows.append([f"{ratio:.0%}", 100 * fine_tune(f"fine_tune_{tag}", model), 100 * probe])
    scratch = fine_tune("fine_tune_scratch", mae(0.75))
    rows.append(["no pretraining (random start)", 100 * scratch, None])
    stages.summary(lesson)
    lesson.table(rows, ["mask ratio", "fine-tuned, test accuracy %", "linear probe, test "
                        "accuracy %"], fmt=["", ".2f", ".2f"],
                 title=f"MNIST test accuracy after {s['pre_epochs']} epoch(s) of MAE pretraining "
                       f"per ratio (He et al. Fig. 5 at MNIST's size):")
    tuned = [row[1] for row in rows[:-1]]
    best = s["ratios"][int(np.argmax(tuned))]
    goal(lesson, 0.6 <= best <= 0.8, f"fine-tuned accuracy peaks at a mask ratio between 60% "
         f"and 80%, as in He et al.: the best is {best:.0%} ({max(tuned):.2f}%, from "
         f"{min(tuned):.2f}% to {max(tuned):.2f}% over the ratios)")
    probes = [row[2] for row in rows[:-1]]
    lesson.smoke(min(probes) > 20, f"the pretrained encoders' features carry the digits: "
                 f"linear probes {min(probes):.1f}–{max(probes):.1f}% (10% is chance)")
