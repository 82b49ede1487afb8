"""Each lesson 01-02 exercise: its reference passes, a typical mistake fails with the hint,
and a not-yet-done version falls back to the reference."""

import pytest
import torch
import torch.nn.functional as F

from cyclegan_lib.lessons.exercises import check, grade, lesson01, lesson02
from cyclegan_lib.lessons.gan_loop import train_step

EXERCISES = [
    lesson01.D_LOSS,
    lesson01.G_LOSS_NON_SATURATING,
    lesson01.TRAIN_STEP,
    lesson02.GENERATOR_INPUT,
    lesson02.LABEL_PLANES,
    lesson02.CONDITIONAL_STEP,
]


def swapped_targets_d_loss(real_logits, fake_logits):
    real = F.binary_cross_entropy_with_logits(real_logits, torch.zeros_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return real + fake


def minimax_instead_of_non_saturating(fake_logits):
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def step_without_detach_and_stale_d(G, D, opt_G, opt_D, real, z, labels=None):
    fake = G(z)
    g_loss = F.binary_cross_entropy_with_logits(D(fake), torch.ones(len(z)))  # before D's update
    d_loss = F.binary_cross_entropy_with_logits(D(real), torch.ones(len(real)))
    d_loss = d_loss + F.binary_cross_entropy_with_logits(D(fake.detach()), torch.zeros(len(z)))
    opt_D.zero_grad()
    d_loss.backward()
    opt_D.step()
    opt_G.zero_grad()
    g_loss.backward()
    opt_G.step()


def label_first_generator_input(z, labels):
    return torch.cat([F.one_hot(labels, 10).float(), z], dim=1)


def label_planes_without_image(x, labels):
    one_hot = F.one_hot(labels, 10).float()
    return one_hot[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])


def step_ignoring_labels(G, D, opt_G, opt_D, real, z, labels):
    return train_step(G, D, opt_G, opt_D, real, z, labels=torch.zeros_like(labels))


WRONG = {
    "discriminator_loss": swapped_targets_d_loss,
    "non_saturating_generator_loss": minimax_instead_of_non_saturating,
    "train_step": step_without_detach_and_stale_d,
    "generator_input": label_first_generator_input,
    "label_planes": label_planes_without_image,
    "conditional_train_step": step_ignoring_labels,
}


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_reference_passes(exercise):
    outcome = grade(exercise.reference, exercise)
    assert outcome.status == "passed", outcome.message
    assert outcome.total >= 1


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_wrong_version_fails_with_hint(exercise, capsys):
    wrong = WRONG[exercise.name]
    assert grade(wrong, exercise).status == "failed"
    assert check(wrong, exercise) is exercise.reference
    printed = capsys.readouterr().out
    assert "❌" in printed and exercise.hint in printed


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.name)
def test_not_done_falls_back_to_reference(exercise, capsys):
    def not_done(*args, **kwargs):
        raise NotImplementedError()

    assert check(not_done, exercise) is exercise.reference
    assert "not done yet" in capsys.readouterr().out
