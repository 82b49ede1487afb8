"""Lesson 06's helpers and widget: the resize-convolution twin, FID/KID by sample size,
snapshot selection and colour shift."""

import pytest
import torch
from torch import nn

from cyclegan_lib.course.diagnostics import checkerboard_energy
from cyclegan_lib.course.digits import UnpairedDigits
from cyclegan_lib.lessons.debugging import (
    ResizeConv,
    best_step,
    colour_report,
    colour_shift,
    correct_labels,
    distances_by_sample_size,
    score_snapshots,
    selection_protocols,
    split_in_two,
    with_resize_convolutions,
)
from cyclegan_lib.lessons.widgets.upsampling_explorer import (
    upsample_smooth_image,
    upsampler,
    upsampling_widget,
)
from cyclegan_lib.models import translate
from cyclegan_lib.networks import define_G


def test_resize_twin_has_no_transposed_convolution_and_the_same_shapes():
    torch.manual_seed(0)
    net = define_G(1, 3, 8, "resnet_1blocks", "instance")
    twin = with_resize_convolutions(net)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in twin.modules())
    assert sum(isinstance(m, ResizeConv) for m in twin.modules()) == 2
    assert any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())  # original untouched
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    assert twin(x).shape == net(x).shape == (2, 3, 32, 32)


def test_resize_twin_makes_less_checkerboard_than_the_original():
    x = torch.rand(20, 1, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    for seed in range(3):
        torch.manual_seed(seed)
        net = define_G(1, 3, 8, "resnet_1blocks", "instance")
        with torch.no_grad():
            original = checkerboard_energy(net(x))
            resized = checkerboard_energy(with_resize_convolutions(net, seed)(x))
        assert original > 5 * resized, seed


def test_fid_is_biased_at_small_n_and_kid_is_not():
    generator = torch.Generator().manual_seed(2)
    reference, pool = (
        torch.randn(2000, 6, generator=generator),
        torch.randn(1000, 6, generator=generator),
    )
    table = distances_by_sample_size(reference, pool, [20, 1000], repeats=5)
    assert table[20]["FID"] > 5 * table[1000]["FID"]
    assert abs(table[20]["KID"]) < 3 * table[20]["KID sd"] / 5**0.5 + 1e-3


def test_upsampler_kinds_and_a_bad_kind():
    layers = {kind: upsampler(kind) for kind in ("transposed3", "transposed4", "resize")}
    for layer in layers.values():
        assert layer(torch.zeros(1, 8, 4, 4)).shape == (1, 8, 8, 8)
    with pytest.raises(ValueError, match="kind='bilinear' is not one of"):
        upsampler("bilinear")


def test_widget_shows_resize_smoother_than_transposed():
    resize = checkerboard_energy(upsample_smooth_image("resize", 1), 2)
    transposed = checkerboard_energy(upsample_smooth_image("transposed3", 1), 2)
    assert transposed > 10 * resize
    box = upsampling_widget()
    assert len(box.children) == 4


def test_split_in_two_is_stratified_disjoint_and_seeded():
    labels = torch.arange(10).repeat_interleave(7)  # 7 of each class: 3 validation, 4 test
    validation, test = split_in_two(labels, seed=0)
    assert sorted(validation.tolist() + test.tolist()) == list(range(70))
    assert labels[validation].bincount().tolist() == [3] * 10
    assert labels[test].bincount().tolist() == [4] * 10
    again, _ = split_in_two(labels, seed=0)
    other, _ = split_in_two(labels, seed=1)
    assert torch.equal(validation, again) and not torch.equal(validation, other)


def test_best_step_takes_the_highest_score_and_the_earliest_of_ties():
    assert best_step({10: 0.5, 20: 0.7, 30: 0.6}) == 20
    assert best_step({10: 0.5, 20: 0.7, 30: 0.7}) == 20


def test_selection_protocols_report_each_choice_on_test():
    validation = {100: 0.60, 200: 0.80, 300: 0.70}
    test = {100: 0.75, 200: 0.72, 300: 0.71}  # the test set prefers an early, lucky snapshot
    chosen = selection_protocols(validation, test)
    assert chosen == {
        "best on test": {"step": 100, "test": 0.75},
        "picked on validation": {"step": 200, "test": 0.72},
        "final": {"step": 300, "test": 0.71},
    }
    with pytest.raises(ValueError, match="same steps"):
        selection_protocols({100: 0.6}, test)


def test_colour_shift_measures_the_mean_colour_in_8_bit_levels():
    images = torch.rand(4, 3, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert colour_shift(images, images) == 0.0
    shuffled = images.flatten(2)[..., torch.randperm(64)].reshape(images.shape)
    assert colour_shift(shuffled, images) == pytest.approx(0.0, abs=1e-4)  # where does not count
    tinted = images.clone()
    tinted[:, 0] += 0.2  # red up by 0.2 on the [-1, 1] scale: 25.5 levels, a third of the mean
    assert colour_shift(tinted, images) == pytest.approx(25.5 / 3, rel=1e-4)
    left_half = torch.zeros(4, 1, 8, 8, dtype=torch.bool)
    left_half[..., :4] = True
    stroke = images.clone()
    stroke[..., 4:] = 1.0  # the right half changes, the left half stays
    assert colour_shift(stroke, images, where=left_half) == 0.0
    assert colour_shift(stroke, images) > 10
    with pytest.raises(ValueError, match="RGB"):
        colour_shift(images[:, :1], images[:, :1])


def test_score_snapshots_scores_every_kept_step_on_each_half():
    from cyclegan_lib.course.digits import paired_digits
    from cyclegan_lib.lessons.digit_translation import DigitRecipe, train_cyclegan_digits

    data = paired_digits("test")
    unpaired = UnpairedDigits(data.clean[:20], data.labels[:20], data.color[20:40],
                              data.labels[20:40])  # fmt: skip
    recipe = DigitRecipe(steps=3, batch_size=4, ngf=4, ndf=4, netG="resnet_1blocks")
    run = train_cyclegan_digits(unpaired, recipe, snapshot_every=2, show_progress=False)
    x, y, labels = data.clean[40:60], data.color[40:60], data.labels[40:60]
    halves = dict(zip(("validation", "test"), split_in_two(labels), strict=True))
    scores = score_snapshots(run, x, y, labels, halves)
    assert sorted(scores) == [2, 3]
    final = correct_labels(translate(run.generators["G"], x), "color", labels)
    assert scores[3]["G(x) test"] == final[halves["test"]].float().mean().item()
    row = scores[2]
    assert row["validation"] == (row["G(x) validation"] + row["F(y) validation"]) / 2
    assert all(0.0 <= value <= 1.0 for value in row.values())


def unchanged() -> nn.Module:
    """A generator that returns its RGB input: a 1x1 convolution with identity weights."""
    conv = nn.Conv2d(3, 3, kernel_size=1)
    with torch.no_grad():
        conv.weight.copy_(torch.eye(3).view(3, 3, 1, 1))
        conv.bias.zero_()
    return conv


def test_colour_report_of_generators_that_change_nothing():
    from cyclegan_lib.course.digits import bold_background, bold_color_images, paired_digits
    from cyclegan_lib.course.digits import to_tensor as as_images

    data = paired_digits("test")
    x, labels = data.color[:30], data.labels[:30]
    y = as_images(bold_color_images("test")[:30])
    report = colour_report({"G": unchanged(), "F": unchanged()}, x, y,
                           bold_background("test")[:30], labels)  # fmt: skip
    assert report["background shift G(x)"] == pytest.approx(0.0, abs=1e-5)
    assert report["G(y) vs y"] == pytest.approx(0.0, abs=1e-5)
    assert report["colour shift G(x)"] == pytest.approx(colour_shift(x, y))
    assert report["colour shift G(x)"] > 1  # the bold strokes change the mean colour
    assert report["colour shift F(y)"] == pytest.approx(colour_shift(y, x))
    assert report["G(x) accuracy"] == correct_labels(x, "color", labels).float().mean().item()
    assert report["F(y) accuracy"] == correct_labels(y, "color", labels).float().mean().item()
