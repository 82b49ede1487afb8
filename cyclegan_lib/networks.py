"""Generators and discriminators of CycleGAN (Zhu et al. 2017) and pix2pix (Isola et al. 2017).

Every network here has the same module nesting as the reference implementation
(junyanz/pytorch-CycleGAN-and-pix2pix, ``models/networks.py``), so ``state_dict``
keys and shapes are identical and its published ``.pth`` files load with a
strict load:

* ResNet generator: one flat ``model`` Sequential (``model.1.weight``,
  ``model.10.conv_block.1.weight``, ...);
* U-Net generator: skip blocks nested inside each other
  (``model.model.0.weight``, ``model.model.1.model.1.weight``, ...);
* PatchGAN discriminator: one ``model`` Sequential; pixel discriminator: ``net``.

One deliberate difference: with ``norm="none"`` the reference also drops the
convolution biases (it keeps them only for instance norm), which leaves those
layers without any shift at all. Here only batch norm, whose own shift makes a
bias redundant, drops them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, cast, get_args

import torch
from torch import nn

Norm = Literal["instance", "batch", "none"]
InitType = Literal["normal", "xavier", "kaiming", "orthogonal"]
DiscriminatorName = Literal["basic", "n_layers", "pixel"]
NORMS: tuple[Norm, ...] = get_args(Norm)
"""``--norm`` values, each handled by :func:`norm_layer` (the options read them from here)."""
INIT_TYPES: tuple[InitType, ...] = get_args(InitType)
DISCRIMINATORS: tuple[DiscriminatorName, ...] = get_args(DiscriminatorName)
PADDINGS: dict[str, Callable[[int], nn.Module] | None] = {
    "reflect": nn.ReflectionPad2d,
    "replicate": nn.ReplicationPad2d,
    "zero": None,  # padding done by the convolution itself
}
NAMED_GENERATORS = ("resnet_9blocks", "resnet_6blocks", "unet_128", "unet_256")
"""The reference's ``--netG`` names; :func:`parse_generator_name` accepts more."""
CONV_TYPES = (
    nn.Conv1d,
    nn.Conv2d,
    nn.Conv3d,
    nn.ConvTranspose1d,
    nn.ConvTranspose2d,
    nn.ConvTranspose3d,
    nn.Linear,
)


def norm_layer(norm: Norm) -> Callable[[int], nn.Module]:
    """A factory ``channels -> normalisation module`` for ``--norm``.

    ``instance`` has no learned affine and no running statistics (the reference's
    setting), so it normalises every image by its own statistics at test time too.
    ``none`` gives an ``nn.Identity`` placeholder, so layer indices (and therefore
    ``state_dict`` keys) stay the same as with a norm.
    """
    if norm == "instance":
        return lambda channels: nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if norm == "batch":
        return lambda channels: nn.BatchNorm2d(channels, affine=True, track_running_stats=True)
    if norm == "none":
        return lambda channels: nn.Identity()
    raise ValueError(f"--norm {norm!r} is not one of {', '.join(NORMS)}")


def conv_bias(norm: Norm) -> bool:
    """Whether convolutions followed by this norm need a bias (not before batch norm)."""
    return norm != "batch"


class ResnetBlock(nn.Module):
    """Two 3x3 convolutions with a skip connection: x + F(x) (He et al. 2016).

    Layout of ``conv_block``: pad, conv, norm, ReLU, [dropout,] pad, conv, norm.
    """

    def __init__(
        self, dim: int, norm: Norm, use_dropout: bool, padding_type: str = "reflect"
    ) -> None:
        super().__init__()
        if padding_type not in PADDINGS:
            raise ValueError(f"padding_type {padding_type!r} is not one of {list(PADDINGS)}")
        make_norm, bias = norm_layer(norm), conv_bias(norm)

        def padded_conv() -> list[nn.Module]:
            pad = PADDINGS[padding_type]
            if pad is None:
                return [nn.Conv2d(dim, dim, kernel_size=3, padding=1, bias=bias)]
            return [pad(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=bias)]

        layers = padded_conv() + [make_norm(dim), nn.ReLU(True)]
        if use_dropout:
            layers.append(nn.Dropout(0.5))
        layers += padded_conv() + [make_norm(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
    """The CycleGAN generator (Johnson et al. 2016; Zhu et al. 2017, appendix 7.2).

    c7s1-ngf, d(2ngf), d(4ngf), ``n_blocks`` x R(4ngf), u(2ngf), u(ngf), c7s1-output_nc,
    with reflection padding and a final tanh. 9 blocks for 256 px, 6 for 128 px.
    """

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        ngf: int = 64,
        norm: Norm = "instance",
        use_dropout: bool = False,
        n_blocks: int = 9,
        padding_type: str = "reflect",
    ) -> None:
        super().__init__()
        if n_blocks < 0:
            raise ValueError(f"n_blocks must be >= 0, got {n_blocks}")
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(input_nc, ngf, kernel_size=7, bias=bias),
            make_norm(ngf),
            nn.ReLU(True),
        ]
        for scale in (1, 2):  # two stride-2 downsamplings: ngf -> 2ngf -> 4ngf
            channels = ngf * scale
            layers += [
                nn.Conv2d(channels, 2 * channels, kernel_size=3, stride=2, padding=1, bias=bias),
                make_norm(2 * channels),
                nn.ReLU(True),
            ]
        layers += [ResnetBlock(4 * ngf, norm, use_dropout, padding_type) for _ in range(n_blocks)]
        for scale in (4, 2):  # two fractionally-strided upsamplings: 4ngf -> 2ngf -> ngf
            channels = ngf * scale
            layers += [
                nn.ConvTranspose2d(
                    channels,
                    channels // 2,
                    kernel_size=3,
                    stride=2,
                    padding=1,
                    output_padding=1,
                    bias=bias,
                ),
                make_norm(channels // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7), nn.Tanh()]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class UnetSkipBlock(nn.Module):
    """One level of the U-Net (Ronneberger 2015; Isola 2017, appendix 6.1.1).

    down (4x4 stride-2 conv) -> ``submodule`` -> up (4x4 stride-2 transposed conv),
    and, except at the outermost level, the input concatenated to the output
    (the skip connection). Layouts of ``model``, as in the reference:

    * outermost: conv, submodule, ReLU, convT, tanh;
    * innermost: LeakyReLU, conv, ReLU, convT, norm;
    * middle: LeakyReLU, conv, norm, submodule, ReLU, convT, norm, [dropout].
    """

    def __init__(
        self,
        outer_nc: int,
        inner_nc: int,
        submodule: nn.Module | None = None,
        input_nc: int | None = None,
        outermost: bool = False,
        norm: Norm = "batch",
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        self.outermost = outermost
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        down = nn.Conv2d(
            input_nc or outer_nc, inner_nc, kernel_size=4, stride=2, padding=1, bias=bias
        )
        if outermost:
            up = nn.ConvTranspose2d(2 * inner_nc, outer_nc, kernel_size=4, stride=2, padding=1)
            assert submodule is not None, "the outermost block wraps the others"
            layers = [down, submodule, nn.ReLU(True), up, nn.Tanh()]
        elif submodule is None:  # innermost: the 1x1 bottleneck, nothing to concatenate
            up = nn.ConvTranspose2d(
                inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias
            )
            layers = [nn.LeakyReLU(0.2, True), down, nn.ReLU(True), up, make_norm(outer_nc)]
        else:
            up = nn.ConvTranspose2d(
                2 * inner_nc, outer_nc, kernel_size=4, stride=2, padding=1, bias=bias
            )
            layers = [nn.LeakyReLU(0.2, True), down, make_norm(inner_nc), submodule]
            layers += [nn.ReLU(True), up, make_norm(outer_nc)]
            if use_dropout:
                layers.append(nn.Dropout(0.5))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.outermost:
            return self.model(x)
        return torch.cat([x, self.model(x)], dim=1)


class UnetGenerator(nn.Module):
    """The pix2pix U-Net with ``num_downs`` stride-2 levels (>= 5).

    An input of 2**num_downs pixels reaches a 1x1 bottleneck: ``num_downs=8``
    for 256 px (``unet_256``), 7 for 128 px, 5 for the 32-px digit lessons.
    Channels: ngf, 2ngf, 4ngf, then 8ngf for every deeper level; dropout (the
    noise z of pix2pix) sits in the 8ngf levels between the two innermost-ones.
    """

    def __init__(
        self,
        input_nc: int,
        output_nc: int,
        num_downs: int,
        ngf: int = 64,
        norm: Norm = "batch",
        use_dropout: bool = False,
    ) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"a U-Net needs num_downs >= 5, got {num_downs}")
        block = UnetSkipBlock(8 * ngf, 8 * ngf, norm=norm)
        for _ in range(num_downs - 5):
            block = UnetSkipBlock(8 * ngf, 8 * ngf, block, norm=norm, use_dropout=use_dropout)
        for outer, inner in ((4 * ngf, 8 * ngf), (2 * ngf, 4 * ngf), (ngf, 2 * ngf)):
            block = UnetSkipBlock(outer, inner, block, norm=norm)
        self.model = UnetSkipBlock(
            output_nc, ngf, block, input_nc=input_nc, outermost=True, norm=norm
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class NLayerDiscriminator(nn.Module):
    """PatchGAN discriminator (Isola 2017, Sec. 3.2.2): logits for overlapping patches.

    C64 (no norm) - C128 - C256 - C512 (stride 1) - 1 channel, 4x4 kernels, LeakyReLU 0.2.
    With ``n_layers=3`` each output sees a 70x70 patch and a 256-px input gives 30x30.
    """

    def __init__(
        self, input_nc: int, ndf: int = 64, n_layers: int = 3, norm: Norm = "batch"
    ) -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        layers: list[nn.Module] = [
            nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1),
            nn.LeakyReLU(0.2, True),
        ]
        channels = ndf
        for depth in range(1, n_layers + 1):
            stride = 2 if depth < n_layers else 1  # the last hidden layer keeps the size
            out_channels = ndf * min(2**depth, 8)
            layers += [
                nn.Conv2d(
                    channels, out_channels, kernel_size=4, stride=stride, padding=1, bias=bias
                ),
                make_norm(out_channels),
                nn.LeakyReLU(0.2, True),
            ]
            channels = out_channels
        layers.append(nn.Conv2d(channels, 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class PixelDiscriminator(nn.Module):
    """1x1 PatchGAN ("PixelGAN", Isola 2017 Sec. 4.4): judges each pixel's colour alone.

    As in the reference, the last 1x1 convolution has a bias only when the
    hidden convolution has one (no bias with batch norm), which keeps its keys.
    """

    def __init__(self, input_nc: int, ndf: int = 64, norm: Norm = "batch") -> None:
        super().__init__()
        make_norm, bias = norm_layer(norm), conv_bias(norm)
        self.net = nn.Sequential(
            nn.Conv2d(input_nc, ndf, kernel_size=1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, 2 * ndf, kernel_size=1, bias=bias),
            make_norm(2 * ndf),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * ndf, 1, kernel_size=1, bias=bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


@dataclass(frozen=True)
class PatchGeometry:
    """Where the decisions of a convolutional discriminator look, along one axis, in input pixels.

    ``receptive_field``: the side of the patch one decision sees; ``jump``: the distance
    between the centres of neighbouring decisions; ``first_center``: the centre of
    decision 0 (it may lie outside the image: the first patches overlap the padding).
    """

    receptive_field: int
    jump: int
    first_center: float

    def window(self, index: int) -> tuple[float, float]:
        """The input interval [start, end) that decision ``index`` sees along one axis."""
        center = self.first_center + index * self.jump
        return center - self.receptive_field / 2, center + self.receptive_field / 2


def patch_geometry(net: nn.Module) -> PatchGeometry:
    """The :class:`PatchGeometry` of ``net``'s Conv2d layers, walked from input to output.

    A k x k convolution with stride s and padding p widens the field by (k - 1) input
    steps of the current ``jump``, moves the first centre by ((k - 1) / 2 - p) steps,
    and then multiplies the jump by s. For a PatchGAN this is the "patch" of Isola 2017,
    Sec. 3.2.2: 70 x 70 for the reference's ``basic`` D.
    """
    field, jump, center = 1, 1, 0.5
    for layer in net.modules():
        if isinstance(layer, nn.Conv2d):
            padding = cast(tuple[int, int], layer.padding)  # a number, never 'same'
            (k, _), (s, _), (p, _) = layer.kernel_size, layer.stride, padding
            field += (k - 1) * jump
            center += ((k - 1) / 2 - p) * jump
            jump *= s
    return PatchGeometry(field, jump, center)


def receptive_field(n_layers: int = 3) -> int:
    """The patch one decision of an ``n_layers`` :class:`NLayerDiscriminator` sees, in pixels.

    16, 34, 70, 142, 286 for 1 to 5 layers (the 16, 70 and 286 of Isola 2017, Sec. 4.4);
    only the layer geometry matters, so the network built to measure it is one channel wide
    and lives on the ``meta`` device: no memory, and no draw from torch's random generator.
    """
    with torch.device("meta"):
        net = NLayerDiscriminator(1, ndf=1, n_layers=n_layers, norm="none")
    return patch_geometry(net).receptive_field


def init_weights(
    net: nn.Module, init_type: InitType = "normal", init_gain: float = 0.02
) -> nn.Module:
    """Initialise ``net`` in place as the reference does, and return it.

    Conv / transposed conv / linear weights: N(0, gain) (``normal``, the DCGAN
    init of Radford 2016), Xavier-normal or orthogonal with ``gain``, or Kaiming-
    normal (fan-in); their biases 0. BatchNorm2d: weight N(1, gain), bias 0.
    Uses torch's global RNG, so seed it first (``env.seed_everything``).
    """
    if init_type not in INIT_TYPES:
        raise ValueError(f"--init_type {init_type!r} is not one of {', '.join(INIT_TYPES)}")
    for module in net.modules():
        if isinstance(module, CONV_TYPES):
            if init_type == "normal":
                nn.init.normal_(module.weight, 0.0, init_gain)
            elif init_type == "xavier":
                nn.init.xavier_normal_(module.weight, gain=init_gain)
            elif init_type == "kaiming":
                nn.init.kaiming_normal_(module.weight, a=0, mode="fan_in")
            else:
                nn.init.orthogonal_(module.weight, gain=init_gain)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.normal_(module.weight, 1.0, init_gain)
            nn.init.zeros_(module.bias)
    return net


def parse_generator_name(netG: str) -> tuple[str, int]:
    """``resnet_<n>blocks`` -> ("resnet", n); ``unet_<size>`` -> ("unet", log2(size)).

    Beyond the reference's four names, any block count and any power-of-two
    U-Net size >= 32 work: ``resnet_3blocks``, ``unet_32`` (5 downsamplings), ``unet_64``.
    """
    resnet = re.fullmatch(r"resnet_(\d+)blocks", netG)
    if resnet:
        return "resnet", int(resnet.group(1))
    unet = re.fullmatch(r"unet_(\d+)", netG)
    if unet:
        size = int(unet.group(1))
        downs = int(math.log2(size)) if size > 0 else 0
        if 2**downs == size and downs >= 5:
            return "unet", downs
    raise ValueError(
        f"--netG {netG!r} is not a generator; use one of {', '.join(NAMED_GENERATORS)}, "
        "resnet_<n>blocks, or unet_<size> with size a power of two >= 32"
    )


def define_G(
    input_nc: int,
    output_nc: int,
    ngf: int,
    netG: str,
    norm: Norm = "batch",
    use_dropout: bool = False,
    init_type: InitType = "normal",
    init_gain: float = 0.02,
) -> nn.Module:
    """Build and initialise a generator by its ``--netG`` name (see :func:`parse_generator_name`)."""
    kind, depth = parse_generator_name(netG)
    if kind == "resnet":
        net: nn.Module = ResnetGenerator(
            input_nc, output_nc, ngf, norm, use_dropout, n_blocks=depth
        )
    else:
        net = UnetGenerator(input_nc, output_nc, depth, ngf, norm, use_dropout)
    return init_weights(net, init_type, init_gain)


def define_D(
    input_nc: int,
    ndf: int,
    netD: DiscriminatorName,
    n_layers_D: int = 3,
    norm: Norm = "batch",
    init_type: InitType = "normal",
    init_gain: float = 0.02,
) -> nn.Module:
    """Build and initialise a discriminator: ``basic`` (70x70 PatchGAN), ``n_layers``, ``pixel``."""
    if netD == "basic":
        net: nn.Module = NLayerDiscriminator(input_nc, ndf, 3, norm)
    elif netD == "n_layers":
        net = NLayerDiscriminator(input_nc, ndf, n_layers_D, norm)
    elif netD == "pixel":
        net = PixelDiscriminator(input_nc, ndf, norm)
    else:
        raise ValueError(f"--netD {netD!r} is not one of {', '.join(DISCRIMINATORS)}")
    return init_weights(net, init_type, init_gain)


def count_parameters(net: nn.Module) -> int:
    """The number of parameters of ``net``, all of them, trainable or frozen.

    This is the reference's ``print_networks`` count ("Total number of parameters",
    printed in millions); buffers such as batch norm's running statistics are not
    parameters and do not count.
    """
    return sum(p.numel() for p in net.parameters())
