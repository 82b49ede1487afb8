"""Generators and discriminators for lessons 01 (vanilla GAN) and 02 (conditional GAN).

* :class:`MLPGenerator` / :class:`MLPDiscriminator`: the fully connected nets of
  Goodfellow et al. 2014 (their MNIST model), small enough to read in one cell.
* :class:`DCGANGenerator` / :class:`DCGANDiscriminator`: the convolutional
  recipe of Radford et al. 2016 (strided convolutions, batch norm, ReLU in G,
  LeakyReLU 0.2 in D, tanh output), sized for 32x32 digits, initialised as Radford et
  al. do and as the reference's ``--init_type normal`` does: :func:`init_weights`,
  conv weights N(0, 0.02), batch-norm scales N(1, 0.02), biases 0.
* :class:`ConditionalGenerator` / :class:`ConditionalDiscriminator`: Mirza &
  Osindero 2014. The label y is fed to both players as an extra input: G sees
  [z, one_hot(y)], D sees the image with 10 extra channels, channel y set to 1.

Discriminators return *logits* (no sigmoid), like every discriminator in this
library (see :mod:`cyclegan_lib.losses`).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from cyclegan_lib.networks import init_weights

IMAGE_SHAPE = (1, 32, 32)
NUM_CLASSES = 10
# The DCGAN weights are stored channels-last (height, width, channels), the layout
# oneDNN's CPU convolutions prefer: a lesson 01 training step on 2 cores took 49.5 ms
# instead of 53.7 ms. The numbers are the same up to float rounding.
CONV_LAYOUT = torch.channels_last


def sample_noise(
    n: int, z_dim: int, generator: torch.Generator | None = None, device: str | torch.device = "cpu"
) -> torch.Tensor:
    """z ~ N(0, I), shape (n, z_dim): the generator's prior p_z (Goodfellow 2014, Sec. 3)."""
    return torch.randn(n, z_dim, generator=generator).to(device)


class MLPGenerator(nn.Module):
    """G(z): z -> two hidden layers (LeakyReLU) -> tanh image in [-1, 1]."""

    def __init__(
        self, z_dim: int = 64, hidden: int = 256, image_shape: tuple[int, ...] = IMAGE_SHAPE
    ) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, 2 * hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(2 * hidden, math.prod(self.image_shape)),
            nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, *self.image_shape)


class MLPDiscriminator(nn.Module):
    """D(x): flattened image -> two hidden layers (LeakyReLU 0.2) -> one logit per image."""

    def __init__(self, hidden: int = 256, image_shape: tuple[int, ...] = IMAGE_SHAPE) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(math.prod(self.image_shape), 2 * hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(2 * hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)


class DCGANGenerator(nn.Module):
    """DCGAN generator (Radford 2016, Fig. 1) for 32x32: z -> 4x4 -> 8x8 -> 16x16 -> 32x32.

    Each step doubles the resolution with a 4x4 transposed convolution of stride 2
    and halves the channels (4·ngf, 2·ngf, ngf); batch norm and ReLU between, tanh last.
    """

    def __init__(self, z_dim: int = 64, ngf: int = 32, channels: int = 1) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z_dim, 4 * ngf, 4, 1, 0, bias=False),  # 1x1 -> 4x4
            nn.BatchNorm2d(4 * ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(4 * ngf, 2 * ngf, 4, 2, 1, bias=False),  # -> 8x8
            nn.BatchNorm2d(2 * ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(2 * ngf, ngf, 4, 2, 1, bias=False),  # -> 16x16
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, channels, 4, 2, 1),  # -> 32x32
            nn.Tanh(),
        )
        init_weights(self, "normal", 0.02)  # the DCGAN init (Radford 2016, Sec. 4)
        self.to(memory_format=CONV_LAYOUT)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator (Radford 2016): 32x32 -> 16 -> 8 -> 4 -> one logit.

    Strided 4x4 convolutions instead of pooling, LeakyReLU 0.2, batch norm on every
    layer except the first, as the paper recommends.
    """

    def __init__(self, channels: int = 1, ndf: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, ndf, 4, 2, 1),  # -> 16x16
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, 2 * ndf, 4, 2, 1, bias=False),  # -> 8x8
            nn.BatchNorm2d(2 * ndf),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * ndf, 4 * ndf, 4, 2, 1, bias=False),  # -> 4x4
            nn.BatchNorm2d(4 * ndf),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(4 * ndf, 1, 4, 1, 0),  # -> 1x1
        )
        init_weights(self, "normal", 0.02)  # the DCGAN init (Radford 2016, Sec. 4)
        self.to(memory_format=CONV_LAYOUT)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()


def generator_input(z: torch.Tensor, labels: torch.Tensor, num_classes: int = NUM_CLASSES):
    """Mirza & Osindero 2014, Sec. 3.2: G's input is z joined with the one-hot label, [z, y]."""
    return torch.cat([z, F.one_hot(labels, num_classes).to(z.dtype)], dim=1)


def label_planes(x: torch.Tensor, labels: torch.Tensor, num_classes: int = NUM_CLASSES):
    """D's input: the image with ``num_classes`` extra channels, channel y all ones, others zero.

    This is the one-hot label of Mirza & Osindero 2014 broadcast over the image, so a
    convolutional D sees the requested digit at every pixel.
    """
    one_hot = F.one_hot(labels, num_classes).to(x.dtype)
    planes = one_hot[:, :, None, None].expand(-1, -1, x.shape[2], x.shape[3])
    return torch.cat([x, planes], dim=1)


class ConditionalGenerator(nn.Module):
    """G(z | y) = body([z, one_hot(y)]): any unconditional generator whose input is z_dim + 10 wide."""

    def __init__(self, body: nn.Module, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.body = body
        self.num_classes = num_classes
        self.z_dim = body.z_dim - num_classes

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(generator_input(z, labels, self.num_classes))


class ConditionalDiscriminator(nn.Module):
    """D(x | y) = body(image with label planes): any discriminator taking channels + 10 inputs."""

    def __init__(self, body: nn.Module, num_classes: int = NUM_CLASSES) -> None:
        super().__init__()
        self.body = body
        self.num_classes = num_classes

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(label_planes(x, labels, self.num_classes))


class LabelBlindDiscriminator(nn.Module):
    """D(x) for a conditional GAN's loop: takes the labels and ignores them (lesson 02's ablation).

    Trained with a conditional G, it shows what Mirza & Osindero's D input is for: a D that
    never sees y can only ask "is this a digit?", so nothing ties G's digit to the y it was asked.
    """

    def __init__(self, channels: int = 1, ndf: int = 32) -> None:
        super().__init__()
        self.body = DCGANDiscriminator(channels, ndf)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def conditional_dcgan(
    z_dim: int = 64, ngf: int = 32, ndf: int = 32, channels: int = 1
) -> tuple[ConditionalGenerator, ConditionalDiscriminator]:
    """The DCGAN pair made conditional: G reads [z, y], D reads the image plus 10 label planes."""
    generator = ConditionalGenerator(DCGANGenerator(z_dim + NUM_CLASSES, ngf, channels))
    discriminator = ConditionalDiscriminator(DCGANDiscriminator(channels + NUM_CLASSES, ndf))
    return generator, discriminator
