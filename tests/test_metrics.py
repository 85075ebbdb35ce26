"""Segmentation and restoration metrics on hand-made cases small enough to check on paper."""
import math

import numpy as np
import pytest

import tinyae as ta
from tinyae import metrics as M

# A 2×3 label map with three classes, and a prediction that gets 4 of the 6 pixels right:
#   target  0 0 1      pred  0 1 1
#           2 2 1            2 0 1
TARGET = np.array([[[0, 0, 1], [2, 2, 1]]])
PRED = np.array([[[0, 1, 1], [2, 0, 1]]])


def test_confusion_matrix_by_hand():
    cm = M.confusion_matrix(PRED, TARGET, 3)
    # rows: true class, columns: predicted class
    assert cm.tolist() == [[1, 1, 0],
                           [0, 2, 0],
                           [1, 0, 1]]
    assert cm.dtype == np.int64 and cm.sum() == TARGET.size


def test_pixel_accuracy_and_iou_by_hand():
    assert M.pixel_accuracy(PRED, TARGET) == pytest.approx(4 / 6)
    # class 0: ∩ = 1 pixel, ∪ = {(0,0), (0,1), (1,1)} = 3;  class 1: ∩ 2, ∪ 3;  class 2: ∩ 1, ∪ 2
    np.testing.assert_allclose(M.iou(PRED, TARGET, 3), [1 / 3, 2 / 3, 1 / 2])
    assert M.mean_iou(PRED, TARGET, 3) == pytest.approx((1 / 3 + 2 / 3 + 1 / 2) / 3)


def test_perfect_and_disjoint_predictions():
    assert M.pixel_accuracy(TARGET, TARGET) == 1.0
    np.testing.assert_array_equal(M.iou(TARGET, TARGET, 3), [1, 1, 1])
    wrong = (TARGET + 1) % 3                      # every pixel wrong
    assert M.pixel_accuracy(wrong, TARGET) == 0.0 and M.mean_iou(wrong, TARGET, 3) == 0.0


def test_absent_class_is_nan_and_left_out_of_the_mean():
    per_class = M.iou(PRED, TARGET, 5)            # classes 3 and 4 occur nowhere
    assert np.isnan(per_class[3]) and np.isnan(per_class[4])
    assert M.mean_iou(PRED, TARGET, 5) == pytest.approx(M.mean_iou(PRED, TARGET, 3))
    # a class predicted but absent from the target counts, with IoU 0
    pred = PRED.copy()
    pred[0, 0, 0] = 3
    assert M.iou(pred, TARGET, 4)[3] == 0.0


def test_scores_are_turned_into_labels_by_argmax():
    onehot = np.eye(3)[PRED].transpose(0, 3, 1, 2)               # (N, C, H, W)
    scores = ta.tensor(onehot * 5.0 - 1.0)                        # a Tensor of logits works too
    assert M.pixel_accuracy(scores, TARGET) == M.pixel_accuracy(PRED, TARGET)
    np.testing.assert_array_equal(M.confusion_matrix(scores, TARGET, 3),
                                  M.confusion_matrix(PRED, TARGET, 3))


def test_segmentation_metric_errors():
    with pytest.raises(ValueError, match="shape"):
        M.pixel_accuracy(PRED[:, :1], TARGET)
    with pytest.raises(TypeError, match="integers"):
        M.iou(PRED.astype(float), TARGET, 3)
    with pytest.raises(ValueError, match=r"\[0, 2\)"):
        M.confusion_matrix(PRED, TARGET, 2)


def test_psnr_inside_a_mask():
    target = np.zeros((1, 2, 2))
    pred = np.array([[[0.0, 0.1], [0.0, 0.5]]])
    mask = np.array([[[False, True], [False, False]]])
    assert M.psnr(pred, target, mask) == pytest.approx(20.0)                    # MSE 0.01
    assert M.psnr(pred, target) == pytest.approx(10 * math.log10(4 / 0.26))     # all 4 pixels
    assert M.psnr(pred, target, mask, peak=255) == pytest.approx(20 + 20 * math.log10(255))
    assert M.psnr(target, target) == float("inf")
    # a (N, 1, H, W) mask broadcasts over channels
    pred3, target3 = np.stack([pred] * 3, 1), np.zeros((1, 3, 2, 2))
    assert M.psnr(pred3, target3, mask[:, None]) == pytest.approx(20.0)
    with pytest.raises(ValueError, match="no pixel"):
        M.psnr(pred, target, np.zeros_like(mask))
    with pytest.raises(ValueError, match="shape"):
        M.psnr(pred, target[..., :1])


def test_boundary_mask_by_hand():
    labels = np.zeros((1, 4, 6), dtype=int)
    labels[0, :, 3:] = 1                                  # a vertical edge between columns 2 and 3
    band = M.boundary_mask(labels)
    assert band[0].sum() == 8 and band[0, :, 2:4].all()   # the two columns along the edge
    wide = M.boundary_mask(labels, width=2)
    assert wide[0, :, 1:5].all() and not wide[0, :, [0, 5]].any()
    square = np.zeros((1, 5, 5), dtype=int)
    square[0, 2, 2] = 1                                   # one pixel: it and its 4 neighbours
    assert M.boundary_mask(square)[0].sum() == 5
    assert not M.boundary_mask(np.zeros((2, 3, 3), dtype=int)).any()
    # accuracy on the band
    pred = np.zeros_like(labels)
    assert M.pixel_accuracy(pred[band], labels[band]) == 0.5
