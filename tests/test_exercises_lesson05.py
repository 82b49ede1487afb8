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
