"""Autoencoders as initialisation: greedy layer-wise pretraining, end-to-end pretraining, and a
classifier built on a pretrained encoder (Bengio et al. 2007; Vincent et al. 2010).

The course's three steps:

1. Pretrain, greedily, one layer at a time: layer 1 is the encoder of a shallow autoencoder
   trained on x, z₁ = f(W₁[x, 1]); layer 2 the encoder of a shallow AE trained on z₁; ...
   (``greedy_pretrain``). "Another technique": train one deep AE end to end and keep its
   encoder (``end_to_end_pretrain``).
2. Fine-tune step 1: put a classifier ``Linear(h, 10)`` on the encoder, freeze the encoder, train
   the last layer alone (``fine_tune(..., epochs_last=...)``).
3. Fine-tune step 2: unfreeze, train everything (``fine_tune(..., epochs_all=...)``).

Every shallow AE is an ``MLPAutoencoder([n_in, n_out])`` with a sigmoid code (and the
corruption or regulariser of its kind), so nothing here re-implements an autoencoder.
"""
import copy

from .. import backend, losses, optim
from ..generator import as_generator
from ..autograd import no_grad
from ..data import DataLoader
from ..data.corruptions import MaskingNoise
from ..nn import Linear, Sequential
from ..tensor import Tensor
from ..train import fit
from .mlp import MLPAutoencoder
from .regularizers import Contractive

AE_KINDS = ("plain", "denoising", "contractive")


def shallow_autoencoder(n_in, n_out, ae_kind="plain", noise=0.25, contraction=0.1, tied=True,
                        rng=None):
    """One layer's AE: n_in → n_out sigmoid → n_in sigmoid, cross-entropy in nats per example.

    ae_kind  'plain'; 'denoising' (masking noise: a fraction ``noise`` of the inputs set to 0,
             reconstruct the clean input; Vincent et al. 2010); 'contractive' (+ ``contraction``
             · ‖∂h/∂x‖²_F, closed form; Rifai et al. 2011). ``tied``: decoder weight = Wᵀ."""
    if ae_kind not in AE_KINDS:
        raise ValueError(f"ae_kind must be one of {AE_KINDS}, got {ae_kind!r}")
    seed = int(as_generator(rng).integers(2**31))
    return MLPAutoencoder(
        [n_in, n_out], latent_activation="sigmoid", output_activation="sigmoid",
        reconstruction="bce_sum", tied=tied, rng=seed,
        corruption=MaskingNoise(noise, seed=seed + 1) if ae_kind == "denoising" else None,
        regularizers=[Contractive(contraction)] if ae_kind == "contractive" else [])


def _train_ae(model, x, x_val, epochs, batch_size, lr, seed, progress):
    """Adam on the AE's own objective; the history's 'val_reconstruction' is the clean
    reconstruction error (nats per example) on x_val, without noise or penalty."""
    def reconstruction(m, xb):
        return m.reconstruction_loss(m(xb), xb)
    return fit(model, optim.Adam(model.parameters(), lr=lr),
               DataLoader(x, batch_size=batch_size, shuffle=True, seed=seed), epochs,
               val_loader=DataLoader(x_val, batch_size=1000),
               metrics={"reconstruction": reconstruction}, seed=seed, progress=progress,
               verbose=False)


def encode_all(encoder, x, batch_size=1000):
    """encoder(x) for a whole array, in batches, under no_grad() and eval mode (an array)."""
    was_training = encoder.training
    encoder.eval()
    with no_grad():
        out = [encoder(Tensor(x[i:i + batch_size])).data for i in range(0, len(x), batch_size)]
    encoder.train(was_training)
    return backend.get_array_module(out[0]).concatenate(out)


def greedy_pretrain(sizes, x, ae_kind="plain", epochs=5, batch_size=128, lr=1e-3, noise=0.25,
                    contraction=0.1, tied=True, x_val=None, seed=0, progress=False):
    """Greedy layer-wise pretraining of an encoder sizes[0] → sizes[1] → … → sizes[-1].

    Layer k is the encoder of a shallow AE (``shallow_autoencoder``) trained on the codes
    z_{k−1} of the layers below (z₀ = x), which stay fixed while it trains. ``ae_kind``,
    ``noise``, ``contraction`` and ``epochs`` may be one value or a list, one per layer.
    x_val (default: the first 1000 rows of x) gives each layer's clean reconstruction curve.

    Returns ``(encoder, histories)``: ``encoder`` is Sequential(Linear, Sigmoid, Linear, …), its
    layers the very Parameters of the trained AEs; ``histories[k]`` is layer k+1's fit History
    ('train_loss' with noise/penalty, 'val_reconstruction' clean)."""
    n_layers = len(sizes) - 1
    if n_layers < 1:
        raise ValueError(f"greedy_pretrain needs at least two sizes (input, code), got {sizes!r}")

    def per_layer(value, name):
        values = list(value) if isinstance(value, (list, tuple)) else [value] * n_layers
        if len(values) != n_layers:
            raise ValueError(f"{name} lists {len(values)} values for {n_layers} layers")
        return values
    kinds, noises, contractions, epoch_list = (per_layer(v, n) for v, n in (
        (ae_kind, "ae_kind"), (noise, "noise"), (contraction, "contraction"), (epochs, "epochs")))
    x_val = x[:1000] if x_val is None else x_val
    rng = as_generator(seed)
    layers, histories, z, z_val = [], [], x, x_val
    for k in range(n_layers):
        ae = shallow_autoencoder(sizes[k], sizes[k + 1], kinds[k], noises[k], contractions[k],
                                 tied, rng=rng)
        histories.append(_train_ae(ae, z, z_val, epoch_list[k], batch_size, lr,
                                   int(rng.integers(2**31)), progress))
        layers += list(ae.encoder)
        if k < n_layers - 1:  # the next layer trains on this layer's codes
            z, z_val = encode_all(ae.encoder, z), encode_all(ae.encoder, z_val)
    return Sequential(*layers), histories


def end_to_end_pretrain(sizes, x, ae_kind="plain", epochs=5, batch_size=128, lr=1e-3,
                        noise=0.25, x_val=None, seed=0, progress=False):
    """Train one deep AE sizes[0] → … → sizes[-1] → … → sizes[0] (sigmoid units, untied) end
    to end, and return ``(encoder, history)``: its encoder initialises a classifier just as a
    greedy stack does. ae_kind 'plain' or 'denoising' (masking noise on x)."""
    if ae_kind not in ("plain", "denoising"):
        raise ValueError(f"end_to_end_pretrain: ae_kind must be 'plain' or 'denoising', "
                         f"got {ae_kind!r}")
    ae = MLPAutoencoder(sizes, activation="sigmoid", latent_activation="sigmoid",
                        output_activation="sigmoid", reconstruction="bce_sum", rng=seed,
                        corruption=MaskingNoise(noise, seed=seed + 1) if ae_kind == "denoising"
                        else None)
    history = _train_ae(ae, x, x[:1000] if x_val is None else x_val, epochs, batch_size, lr,
                        seed, progress)
    return ae.encoder, history


def random_encoder(sizes, seed=0):
    """The same architecture as the pretrained encoders, randomly initialised (the baseline)."""
    return MLPAutoencoder(sizes, activation="sigmoid", latent_activation="sigmoid",
                          rng=seed).encoder


class Classifier(Sequential):
    """``Classifier(encoder, n_classes)`` = Sequential(encoder, Linear(h, n_classes)): logits.

    ``encoder`` is deep-copied (unless ``copy=False``), so one pretrained encoder can start
    several classifiers. ``loss(x, y)`` is the softmax cross-entropy; ``self.encoder`` and
    ``self.head`` name the two parts."""

    def __init__(self, encoder, n_classes=10, copy_encoder=True, rng=None):
        widths = [m.out_features for m in encoder.modules() if isinstance(m, Linear)]
        if not widths:
            raise ValueError("Classifier needs an encoder with at least one Linear layer")
        encoder = copy.deepcopy(encoder) if copy_encoder else encoder
        super().__init__(encoder, Linear(widths[-1], n_classes, rng=rng))

    encoder = property(lambda self: self[0])
    head = property(lambda self: self[1])

    def loss(self, x, y):
        return losses.cross_entropy(self(x), y)


def fine_tune(model, x, y, epochs_last=0, epochs_all=10, batch_size=128, lr=1e-3, lr_last=None,
              seed=0, progress=False):
    """The two fine-tuning steps on labelled (x, y); returns ``{'last': History, 'all': History}``.

    Step 1 (``epochs_last`` epochs): the encoder frozen, the head trained alone.
    Step 2 (``epochs_all`` epochs): everything trained. Adam, a fresh one per step."""
    histories = {}
    for step, epochs, frozen in (("last", epochs_last, True), ("all", epochs_all, False)):
        if not epochs:
            continue
        model.encoder.requires_grad_(not frozen)
        params = model.head.parameters() if frozen else model.parameters()
        rate = lr_last if (frozen and lr_last is not None) else lr
        histories[step] = fit(model, optim.Adam(params, lr=rate),
                              DataLoader(x, y, batch_size=batch_size, shuffle=True, seed=seed),
                              epochs, seed=seed, progress=progress, verbose=False)
    model.encoder.requires_grad_(True)
    return histories


def error_rate(model, x, y, batch_size=1000):
    """Fraction of x whose argmax logit is not y (eval mode, no graph)."""
    logits = encode_all(model, x, batch_size)
    predicted = backend.to_numpy(logits).argmax(axis=1)
    return float((predicted != backend.to_numpy(y)).mean())


def linear_probe(features_train, y_train, features_test, y_test, epochs=10, batch_size=128,
                 lr=3e-3, seed=0):
    """Softmax regression on frozen features (raw pixels, or an encoder's codes from
    ``encode_all``): the test error of a Linear(d, 10) trained alone with Adam."""
    n_classes = int(backend.to_numpy(y_train).max()) + 1
    clf = Linear(features_train.shape[1], n_classes, rng=seed)
    fit(clf, optim.Adam(clf.parameters(), lr=lr),
        DataLoader(features_train, y_train, batch_size=batch_size, shuffle=True, seed=seed),
        epochs, loss_fn=losses.cross_entropy, target="label", seed=seed, progress=False,
        verbose=False)
    return error_rate(clf, features_test, y_test)
