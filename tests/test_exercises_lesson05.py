"""Lesson 05's exercises: the ResNet block is the library's, and wrong blocks are caught."""

import torch
from torch import nn

from cyclegan_lib.lessons.exercises import check, grade
from cyclegan_lib.lessons.exercises import lesson05 as l05
from cyclegan_lib.networks import ResnetBlock, define_G


def test_the_block_reference_passes_and_a_placeholder_falls_back():
    assert grade(l05.resnet_block_layers, l05.RESNET_BLOCK).status == "passed"

    def placeholder(dim):
        raise NotImplementedError()

    assert check(placeholder, l05.RESNET_BLOCK, quiet=True) is l05.resnet_block_layers


def test_the_blocks_layers_are_those_of_resnet_9blocks():
    generator = define_G(3, 3, 8, "resnet_9blocks", norm="instance")
    blocks = [m for m in generator.modules() if isinstance(m, ResnetBlock)]
    assert len(blocks) == 9
    mine = l05.resnet_block_layers(32)
    assert [type(m) for m in mine] == [type(m) for m in blocks[0].conv_block]


def test_zero_padding_and_batch_norm_are_caught():
    def zero_padded(dim):
        layers = [nn.ZeroPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True)]
        return layers + [nn.ZeroPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim)]

    def batch_normed(dim):
        return [
            nn.BatchNorm2d(dim) if isinstance(m, nn.InstanceNorm2d) else m
            for m in l05.resnet_block_layers(dim)
        ]

    assert "ReflectionPad2d" in grade(zero_padded, l05.RESNET_BLOCK).message
    assert grade(batch_normed, l05.RESNET_BLOCK).status == "failed"
    torch.manual_seed(0)  # the check must not depend on the caller's random state
    assert grade(l05.resnet_block_layers, l05.RESNET_BLOCK).status == "passed"


def test_the_lr_schedule_feedback_names_the_case_and_the_mistake():
    assert grade(l05.linear_lr_factor, l05.LR_FACTOR).status == "passed"

    def forgets_the_resume(steps, n_epochs, n_epochs_decay, epoch_count=1):
        return 1.0 - max(0, steps + 1 - n_epochs) / (n_epochs_decay + 1)

    def off_by_one(steps, n_epochs, n_epochs_decay, epoch_count=1):
        return 1.0 - max(0, steps + epoch_count - 1 - n_epochs) / (n_epochs_decay + 1)

    def reaches_zero_in_the_run(steps, n_epochs, n_epochs_decay, epoch_count=1):
        return 1.0 - max(0, steps + epoch_count - n_epochs) / n_epochs_decay

    resume = grade(forgets_the_resume, l05.LR_FACTOR)
    assert "epoch_count 151" in resume.message and "epoch_count is ignored" in resume.message
    late = grade(off_by_one, l05.LR_FACTOR)
    assert "first decay epoch" in late.message and "off by one" in late.message
    assert "the last epoch (epoch 200)" in grade(reaches_zero_in_the_run, l05.LR_FACTOR).message


def test_the_identity_term_feedback_names_each_mistake():
    assert grade(l05.identity_term, l05.IDENTITY).status == "passed"

    def l1(a, b):
        return (a - b).abs().mean()

    def written_by_hand(G_A, G_B, real_A, real_B, lambda_identity=0.5, lambda_A=10, lambda_B=10):
        terms = lambda_B * l1(G_A(real_B), real_B) + lambda_A * l1(G_B(real_A), real_A)
        return lambda_identity * terms

    def own_domain(G_A, G_B, real_A, real_B, lambda_identity=0.5, lambda_A=10, lambda_B=10):
        terms = lambda_A * l1(G_A(real_A), real_A) + lambda_B * l1(G_B(real_B), real_B)
        return lambda_identity * terms

    def swapped(G_A, G_B, real_A, real_B, lambda_identity=0.5, lambda_A=10, lambda_B=10):
        return written_by_hand(G_A, G_B, real_A, real_B, lambda_identity, lambda_B, lambda_A)

    def no_identity_weight(G_A, G_B, real_A, real_B, lambda_identity=0.5, lambda_A=10, lambda_B=10):
        return written_by_hand(G_A, G_B, real_A, real_B, 1.0, lambda_A, lambda_B)

    def as_a_number(G_A, G_B, real_A, real_B, lambda_identity=0.5, lambda_A=10, lambda_B=10):
        return written_by_hand(G_A, G_B, real_A, real_B, lambda_identity, lambda_A, lambda_B).item()

    assert grade(written_by_hand, l05.IDENTITY).status == "passed"
    assert "G_A is fed real_A" in grade(own_domain, l05.IDENTITY).message
    wrong = grade(swapped, l05.IDENTITY)
    assert "λ_B = 2" in wrong.message and "swapped" in wrong.message
    assert "λ_identity is missing" in grade(no_identity_weight, l05.IDENTITY).message
    assert "expected a tensor" in grade(as_a_number, l05.IDENTITY).message
