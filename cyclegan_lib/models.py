"""CycleGAN and pix2pix training steps, as the reference's ``cycle_gan_model.py`` / ``pix2pix_model.py``.

A model owns its networks, optimizers and image pools; one call of
:meth:`optimize_parameters` is one training iteration and returns the losses
under the reference's names, as plain floats (so the trainer can log them and
stop on NaN/inf). Everything a resume needs is in :meth:`state_dict`.

Differences from the reference, on purpose:

* ``gan_mode="wgangp"`` adds the gradient penalty (Gulrajani 2017, eq. 3) to
  D's loss; the reference defines the penalty but never calls it;
* the pools and the penalty draw from generators derived from the run's seed
  (the reference uses unseeded ``random``), and are saved for an exact resume;
* optional mixed precision and channels-last memory layout, on CUDA only.

A new model is one :class:`BaseModel` subclass (its networks, losses and
:attr:`~BaseModel.option_defaults`) and one entry in :data:`MODELS`; the command line
reads the model names and their defaults from there.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, get_args

import torch
from torch import nn

from cyclegan_lib.losses import (
    GANLoss,
    GanMode,
    cycle_loss,
    gradient_penalty,
    identity_loss,
    l1_loss,
)
from cyclegan_lib.networks import DiscriminatorName, InitType, Norm, define_D, define_G
from cyclegan_lib.pool import ImagePool
from cyclegan_lib.runtime import autocast

ModelName = Literal["cycle_gan", "pix2pix", "colorization", "test"]
"""``--model`` values: the keys of :data:`MODELS` (a test checks that they agree)."""
Direction = Literal["AtoB", "BtoA"]
"""``--direction``: the model, not the dataset, swaps A and B for ``BtoA`` (as the reference)."""
DIRECTIONS: tuple[Direction, ...] = get_args(Direction)

NOT_OPTIONS = ("is_train", "lambda_gp", "channels_last")
""":class:`ModelConfig` fields that no command-line option sets."""
TRAIN_ONLY = (
    "gan_mode",
    "lr",
    "beta1",
    "pool_size",
    "lambda_A",
    "lambda_B",
    "lambda_identity",
    "lambda_L1",
)
"""Fields that only ``cyclegan train`` has options for."""
TEST_ONLY = ("model_suffix",)
"""Fields that only ``cyclegan test`` has options for."""
ARCHITECTURE = (
    "model",
    "netG",
    "netD",
    "n_layers_D",
    "ngf",
    "ndf",
    "norm",
    "no_dropout",
    "input_nc",
    "output_nc",
    "pool_size",
    "gan_mode",
)
"""Fields that must match a training checkpoint for its state to load."""


@dataclass(frozen=True)
class ModelConfig:
    """What a model needs, under the reference's option names and with its base defaults.

    These defaults are the reference's ``base_options.py`` and ``train_options.py``; the
    command-line options take theirs from here. A model's own defaults (pix2pix's U-Net
    and batch norm, CycleGAN's ``no_dropout``...) are its :attr:`BaseModel.option_defaults`:
    :meth:`for_model` applies them, :meth:`from_options` takes parsed options.
    """

    model: ModelName = "cycle_gan"
    is_train: bool = True
    input_nc: int = 3
    output_nc: int = 3
    ngf: int = 64
    ndf: int = 64
    netG: str = "resnet_9blocks"
    netD: DiscriminatorName = "basic"
    n_layers_D: int = 3
    norm: Norm = "instance"
    init_type: InitType = "normal"
    init_gain: float = 0.02
    no_dropout: bool = False
    direction: Direction = "AtoB"
    gan_mode: GanMode = "lsgan"
    lr: float = 0.0002
    beta1: float = 0.5
    pool_size: int = 50
    lambda_A: float = 10.0
    lambda_B: float = 10.0
    lambda_identity: float = 0.5
    lambda_L1: float = 100.0
    lambda_gp: float = 10.0
    model_suffix: str = ""
    amp: bool = False
    channels_last: bool = True

    @classmethod
    def for_model(cls, model: ModelName, is_train: bool = True, **overrides: Any) -> ModelConfig:
        """``model``'s defaults (as ``--model`` sets them) under ``overrides``."""
        phase = "train" if is_train else "test"
        names = {spec.name for spec in dataclasses.fields(cls)}
        defaults = MODELS[model].option_defaults.get(phase, {})
        model_defaults = {name: value for name, value in defaults.items() if name in names}
        return cls(model=model, is_train=is_train, **{**model_defaults, **overrides})

    @classmethod
    def pix2pix(cls, **overrides: Any) -> ModelConfig:
        """pix2pix's defaults: U-Net 256, batch norm, dropout, vanilla GAN loss, no pool."""
        return cls.for_model("pix2pix", **overrides)

    @classmethod
    def option_names(cls, is_train: bool) -> tuple[str, ...]:
        """The fields that ``cyclegan train`` (or ``test``) has a command-line option for."""
        skip = NOT_OPTIONS + (TEST_ONLY if is_train else TRAIN_ONLY)
        return tuple(spec.name for spec in dataclasses.fields(cls) if spec.name not in skip)

    @classmethod
    def from_options(cls, options: object, is_train: bool) -> ModelConfig:
        """The config of parsed ``TrainOptions``/``TestOptions``.

        Every field in :meth:`option_names` is read from ``options``: an option renamed on
        one side fails here with an ``AttributeError`` instead of falling back to a default.
        """
        values = {name: getattr(options, name) for name in cls.option_names(is_train)}
        return cls(is_train=is_train, **values)


@contextlib.contextmanager
def frozen(nets: Iterable[nn.Module]) -> Iterator[None]:
    """Freeze the discriminators during G's update, as the reference does, then unfreeze.

    G's backward pass then skips the discriminators' weight gradients, which G's step
    would throw away. Only parameters that were trainable are frozen and unfrozen
    again, so a layer the caller froze stays frozen.
    """
    trainable = [p for net in nets for p in net.parameters() if p.requires_grad]
    for parameter in trainable:
        parameter.requires_grad_(False)
    try:
        yield
    finally:
        for parameter in trainable:
            parameter.requires_grad_(True)


@torch.no_grad()
def translate(
    generator: nn.Module, images: torch.Tensor, batch_size: int = 32, eval_mode: bool = True
) -> torch.Tensor:
    """``generator(images)`` for images in [-1, 1], ``batch_size`` at a time on its device.

    The one way the course applies a trained generator. By default in evaluation mode:
    batch norm uses its running statistics and dropout is off, so each output depends
    on its own input, not on the rest of its batch: what a measurement needs.

    ``eval_mode=False`` is the reference's ``test.py`` without ``--eval`` (its default):
    the network stays in training mode, so batch norm normalises with the statistics of
    the test batch and dropout stays on, the noise pix2pix keeps at test time (Isola et
    al. 2017, Sec. 3.1). Running statistics are restored afterwards. Instance norm (the
    CycleGAN generators) normalises each image by its own statistics in either mode,
    and CycleGAN trains without dropout, so for it both modes give the same images.
    The generator's own mode is restored either way.
    """
    was_training = generator.training
    saved = [buffer.clone() for buffer in generator.buffers()]
    generator.train(not eval_mode)
    device = next(generator.parameters()).device
    try:
        return torch.cat([generator(chunk.to(device)).cpu() for chunk in images.split(batch_size)])
    finally:
        generator.train(was_training)
        for buffer, value in zip(generator.buffers(), saved, strict=True):
            buffer.copy_(value)


def as_images(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Detached fp32 copies for display and saving (autocast may have produced bf16/fp16)."""
    return {name: tensor.detach().float() for name, tensor in tensors.items()}


def child_generator(parent: torch.Generator | None) -> torch.Generator:
    """A new CPU generator seeded from ``parent`` (or torch's global RNG)."""
    seed = int(torch.randint(2**62, (1,), generator=parent).item())
    return torch.Generator().manual_seed(seed)


class BaseModel:
    """Shared machinery: construction, devices, optimizers, mixed precision, modes and state.

    A subclass builds its networks in :meth:`build_networks` (discriminators only when
    training) and names its image pools and what each optimizer updates; the constructor
    does the rest in a fixed order (networks, GAN loss, the penalty's and the pools' random
    generators, optimizers), so a seeded run is the same whatever the model.
    """

    loss_names: ClassVar[tuple[str, ...]] = ()
    pool_names: ClassVar[tuple[str, ...]] = ()
    """One :class:`ImagePool` each (``pools[name]``), when training."""
    optimizer_networks: ClassVar[dict[str, tuple[str, ...]]] = {}
    """Optimizer name -> the :meth:`networks` it updates, when training."""
    option_defaults: ClassVar[dict[str, dict[str, Any]]] = {}
    """Phase (``train``/``test``) -> the defaults ``--model`` changes, as the reference's
    ``modify_commandline_options``; a model without a ``train`` entry is for testing only."""

    def __init__(
        self,
        config: ModelConfig,
        device: torch.device | str = "cpu",
        generator: torch.Generator | None = None,
    ) -> None:
        self.config = config
        self.device = torch.device(device)
        self.on_cuda = self.device.type == "cuda"
        self.use_amp = config.amp and self.on_cuda
        self.memory_format = (
            torch.channels_last
            if config.channels_last and self.on_cuda
            else torch.contiguous_format
        )
        self.image_paths: list[str] = []
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.scalers: dict[str, torch.amp.GradScaler] = {}
        self.pools: dict[str, ImagePool] = {}
        if config.is_train and "train" not in self.option_defaults:
            raise ValueError(
                f"--model {config.model} is for testing only (use cycle_gan or pix2pix)"
            )
        self.build_networks()
        if not config.is_train:
            return
        self.criterion = GANLoss(config.gan_mode).to(self.device)
        self.penalty_generator = child_generator(generator)
        self.pools = {
            name: ImagePool(config.pool_size, child_generator(generator))
            for name in self.pool_names
        }
        networks = self.networks()
        for name, members in self.optimizer_networks.items():
            self._add_optimizer(name, [networks[member] for member in members])

    def build_networks(self) -> None:
        """Create the ``net*`` attributes: generators, and discriminators when training."""
        raise NotImplementedError

    def _generator(self, input_nc: int, output_nc: int) -> nn.Module:
        """``define_G`` with this config's options, moved to the device."""
        c = self.config
        net = define_G(
            input_nc, output_nc, c.ngf, c.netG, c.norm, not c.no_dropout, c.init_type, c.init_gain
        )
        return net.to(self.device, memory_format=self.memory_format)  # type: ignore[call-overload]

    def _discriminator(self, input_nc: int) -> nn.Module:
        """``define_D`` with this config's options, moved to the device."""
        c = self.config
        net = define_D(input_nc, c.ndf, c.netD, c.n_layers_D, c.norm, c.init_type, c.init_gain)
        return net.to(self.device, memory_format=self.memory_format)  # type: ignore[call-overload]

    def set_input(self, batch: dict[str, Any]) -> None:
        """Take a paired batch ``{'A', 'B', 'A_paths', 'B_paths'}``; ``direction=BtoA`` swaps the sides.

        Shared by CycleGAN (unaligned pairs) and pix2pix (aligned pairs); the test model overrides it.
        """
        a, b = ("A", "B") if self.config.direction == "AtoB" else ("B", "A")
        self.real_A = self._to_device(batch[a])
        self.real_B = self._to_device(batch[b])
        self.image_paths = batch[f"{a}_paths"]

    def _to_device(self, images: torch.Tensor) -> torch.Tensor:
        """On the model's device, channels-last on CUDA (pool outputs are re-stacked, contiguous)."""
        return images.to(self.device, memory_format=self.memory_format)

    def _add_optimizer(self, name: str, nets: list[nn.Module]) -> None:
        """Adam(lr, betas=(beta1, 0.999)) over ``nets``, plus a grad scaler for fp16 autocast."""
        parameters = itertools.chain(*(net.parameters() for net in nets))
        betas = (self.config.beta1, 0.999)
        self.optimizers[name] = torch.optim.Adam(parameters, lr=self.config.lr, betas=betas)
        needs_scaler = self.use_amp and not torch.cuda.is_bf16_supported()
        self.scalers[name] = torch.amp.GradScaler("cuda", enabled=needs_scaler)

    def _step(self, name: str, loss: torch.Tensor) -> None:
        """zero_grad, backward (scaled for fp16), step: one update of one optimizer."""
        optimizer, scaler = self.optimizers[name], self.scalers[name]
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()

    def autocast(self):
        """bf16/fp16 autocast when ``amp`` is on and we are on CUDA, else nothing."""
        return autocast(self.device, self.use_amp)

    def _penalty(self, netD: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The WGAN-GP gradient penalty in ``wgangp`` mode (added to D's loss), else 0."""
        if self.config.gan_mode != "wgangp":
            return torch.zeros((), device=self.device)
        return gradient_penalty(
            netD, real, fake, self.config.lambda_gp, generator=self.penalty_generator
        )

    def networks(self) -> dict[str, nn.Module]:
        """Name -> network, e.g. ``{'G_A': netG_A, ...}``; files are ``<epoch>_net_<name>.pth``."""
        raise NotImplementedError

    def train(self) -> None:
        """Training mode: dropout on, batch norm uses batch statistics."""
        for net in self.networks().values():
            net.train()

    def eval(self) -> None:
        """Evaluation mode (the reference's ``--eval``): dropout off, running statistics."""
        for net in self.networks().values():
            net.eval()

    def test(self) -> dict[str, torch.Tensor]:
        """Inference without gradients; returns :meth:`visuals`."""
        with torch.no_grad(), self.autocast():
            self.forward()
        return self.visuals()

    def forward(self) -> None:
        raise NotImplementedError

    def optimize_parameters(self) -> dict[str, float]:
        """One training iteration; the losses under :attr:`loss_names`, as floats."""
        raise NotImplementedError

    def visuals(self) -> dict[str, torch.Tensor]:
        """The current images under the reference's visual names (after a forward pass)."""
        raise NotImplementedError

    def _as_floats(self, losses: dict[str, torch.Tensor]) -> dict[str, float]:
        """Losses in :attr:`loss_names` order as floats, fetched from the device in one transfer."""
        values = torch.stack([losses[name].detach().float() for name in self.loss_names])
        return dict(zip(self.loss_names, values.tolist(), strict=True))

    def state_dict(self) -> dict[str, Any]:
        """Networks, optimizers, grad scalers, pools and the penalty's RNG (for a full checkpoint)."""
        state: dict[str, Any] = {
            "networks": {name: net.state_dict() for name, net in self.networks().items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "scalers": {name: scaler.state_dict() for name, scaler in self.scalers.items()},
            "pools": {name: pool.state_dict() for name, pool in self.pools.items()},
        }
        if self.config.is_train:
            state["penalty_generator"] = self.penalty_generator.get_state()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` exactly (strict network loads)."""
        for name, net in self.networks().items():
            net.load_state_dict(state["networks"][name])
        groups: dict[str, dict[str, Any]] = {
            "optimizers": self.optimizers,
            "scalers": self.scalers,
            "pools": self.pools,
        }
        for group, items in groups.items():
            for name, item in items.items():
                item.load_state_dict(state[group][name])
        if self.config.is_train:
            self.penalty_generator.set_state(state["penalty_generator"])


class CycleGANModel(BaseModel):
    """CycleGAN (Zhu et al. 2017): G_A: A->B, G_B: B->A, D_A judges B, D_B judges A.

    Paper names: G = G_A, F = G_B, D_Y = D_A, D_X = D_B.
    """

    loss_names = ("D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B")
    pool_names = ("fake_A", "fake_B")
    optimizer_networks = {"G": ("G_A", "G_B"), "D": ("D_A", "D_B")}
    option_defaults = {"train": {"no_dropout": True}, "test": {"no_dropout": True}}

    def build_networks(self) -> None:
        c = self.config
        if c.is_train and c.lambda_identity > 0 and c.input_nc != c.output_nc:
            raise ValueError(
                f"--lambda_identity {c.lambda_identity} needs --input_nc == --output_nc "
                f"(got {c.input_nc} and {c.output_nc}); use --lambda_identity 0"
            )
        self.netG_A = self._generator(c.input_nc, c.output_nc)
        self.netG_B = self._generator(c.output_nc, c.input_nc)
        if c.is_train:
            self.netD_A = self._discriminator(c.output_nc)
            self.netD_B = self._discriminator(c.input_nc)

    def networks(self) -> dict[str, nn.Module]:
        nets = {"G_A": self.netG_A, "G_B": self.netG_B}
        if self.config.is_train:
            nets.update(D_A=self.netD_A, D_B=self.netD_B)
        return nets

    def visuals(self) -> dict[str, torch.Tensor]:
        """real_A, fake_B, rec_A, [idt_B,] real_B, fake_A, rec_B, [idt_A] (idt when training)."""
        side_a = {"real_A": self.real_A, "fake_B": self.fake_B, "rec_A": self.rec_A}
        side_b = {"real_B": self.real_B, "fake_A": self.fake_A, "rec_B": self.rec_B}
        if self.config.is_train and self.config.lambda_identity > 0:
            side_a["idt_B"], side_b["idt_A"] = self.idt_B, self.idt_A
        return as_images({**side_a, **side_b})

    def forward(self) -> None:
        """fake_B = G_A(A), rec_A = G_B(fake_B); fake_A = G_B(B), rec_B = G_A(fake_A).

        A cycle weighted 0 (the no-cycle ablation) is still computed, for the log and
        the visuals, but without autograd: its gradient would be zero anyway.
        """
        c = self.config
        self.fake_B = self.netG_A(self.real_A)
        with torch.set_grad_enabled(torch.is_grad_enabled() and c.lambda_A > 0):
            self.rec_A = self.netG_B(self.fake_B)
        self.fake_A = self.netG_B(self.real_B)
        with torch.set_grad_enabled(torch.is_grad_enabled() and c.lambda_B > 0):
            self.rec_B = self.netG_A(self.fake_A)

    def _d_loss(self, netD: nn.Module, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """D's loss halved, as the reference's ``loss_D = (loss_D_real + loss_D_fake) * 0.5``.

        The halving slows D down relative to G (Zhu 2017, Sec. 4).
        """
        fake = fake.detach()
        loss = 0.5 * (self.criterion(netD(real), True) + self.criterion(netD(fake), False))
        return loss + self._penalty(netD, real, fake)

    def _generator_losses(self) -> dict[str, torch.Tensor]:
        """Zhu 2017 eq. 3 for G_A and G_B, plus the identity terms of Sec. 5.2 (D frozen)."""
        c = self.config
        losses = {
            "G_A": self.criterion(self.netD_A(self.fake_B), True),
            "G_B": self.criterion(self.netD_B(self.fake_A), True),
            "cycle_A": cycle_loss(self.real_A, self.rec_A) * c.lambda_A,
            "cycle_B": cycle_loss(self.real_B, self.rec_B) * c.lambda_B,
        }
        return {**losses, **self.identity_losses()}

    def identity_losses(self) -> dict[str, torch.Tensor]:
        """The identity terms (Zhu 2017, Sec. 5.2; Taigman 2017) on the current batch.

        Each generator is fed an image already in its *output* domain and should leave it
        unchanged: ``idt_A = λ_identity·λ_B·||G_A(B) − B||₁`` (weighted like B's cycle) and
        ``idt_B = λ_identity·λ_A·||G_B(A) − A||₁``; zeros when ``lambda_identity`` is 0.
        """
        c = self.config
        if c.lambda_identity <= 0:
            zero = torch.zeros((), device=self.device)
            return {"idt_A": zero, "idt_B": zero}
        self.idt_A = self.netG_A(self.real_B)  # G_A should leave B images unchanged
        self.idt_B = self.netG_B(self.real_A)
        idt = c.lambda_identity
        return {
            "idt_A": identity_loss(self.real_B, self.idt_A) * c.lambda_B * idt,
            "idt_B": identity_loss(self.real_A, self.idt_B) * c.lambda_A * idt,
        }

    def optimize_parameters(self) -> dict[str, float]:
        """One iteration: G_A and G_B with D frozen, then D_A and D_B on pool samples."""
        discriminators = [self.netD_A, self.netD_B]
        with self.autocast():
            self.forward()
        with frozen(discriminators):
            with self.autocast():
                losses = self._generator_losses()
            self._step("G", sum(losses.values(), torch.zeros((), device=self.device)))
        with self.autocast():
            fake_B = self._to_device(self.pools["fake_B"].query(self.fake_B))
            losses["D_A"] = self._d_loss(self.netD_A, self.real_B, fake_B)
            fake_A = self._to_device(self.pools["fake_A"].query(self.fake_A))
            losses["D_B"] = self._d_loss(self.netD_B, self.real_A, fake_A)
        self._step("D", losses["D_A"] + losses["D_B"])
        return self._as_floats(losses)


class Pix2PixModel(BaseModel):
    """pix2pix (Isola et al. 2017): a U-Net G and a conditional PatchGAN D on (A, B) pairs.

    With ``pool_size > 0`` D sees pooled fake *pairs* (as the reference's older
    versions did); the default 0 uses the newest fakes only.
    """

    loss_names = ("G_GAN", "G_L1", "D_real", "D_fake")
    pool_names = ("fake_AB",)
    optimizer_networks = {"G": ("G",), "D": ("D",)}
    option_defaults = {
        "train": {
            "norm": "batch",
            "netG": "unet_256",
            "dataset_mode": "aligned",
            "pool_size": 0,
            "gan_mode": "vanilla",
        },
        "test": {"norm": "batch", "netG": "unet_256", "dataset_mode": "aligned"},
    }

    def build_networks(self) -> None:
        c = self.config
        self.netG = self._generator(c.input_nc, c.output_nc)
        if c.is_train:
            self.netD = self._discriminator(c.input_nc + c.output_nc)  # sees (A, B) stacked

    def networks(self) -> dict[str, nn.Module]:
        return {"G": self.netG, "D": self.netD} if self.config.is_train else {"G": self.netG}

    def visuals(self) -> dict[str, torch.Tensor]:
        """real_A, fake_B, real_B."""
        return as_images({"real_A": self.real_A, "fake_B": self.fake_B, "real_B": self.real_B})

    def forward(self) -> None:
        self.fake_B = self.netG(self.real_A)

    def _discriminator_losses(self) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """D on (A, G(A)) -> fake and (A, B) -> real (Isola 2017, eq. 1), and the WGAN-GP term."""
        fake_AB = self.pools["fake_AB"].query(torch.cat([self.real_A, self.fake_B], 1))
        fake_AB = self._to_device(fake_AB.detach())
        real_AB = torch.cat([self.real_A, self.real_B], 1)
        losses = {  # fake first, as the reference (matters for batch-norm statistics)
            "D_fake": self.criterion(self.netD(fake_AB), False),
            "D_real": self.criterion(self.netD(real_AB), True),
        }
        return losses, self._penalty(self.netD, real_AB, fake_AB)

    def _generator_losses(self) -> dict[str, torch.Tensor]:
        """G fools D on (A, G(A)) and stays close to B: L_cGAN + λ·L1 (Isola 2017, eq. 4)."""
        fake_AB = torch.cat([self.real_A, self.fake_B], 1)
        return {
            "G_GAN": self.criterion(self.netD(fake_AB), True),  # D frozen
            "G_L1": l1_loss(self.fake_B, self.real_B) * self.config.lambda_L1,
        }

    def optimize_parameters(self) -> dict[str, float]:
        """One iteration: D first (halved loss, + penalty for wgangp), then G with D frozen."""
        with self.autocast():
            self.forward()
            d_losses, penalty = self._discriminator_losses()
        self._step("D", 0.5 * (d_losses["D_real"] + d_losses["D_fake"]) + penalty)
        with frozen([self.netD]):
            with self.autocast():
                g_losses = self._generator_losses()
            self._step("G", g_losses["G_GAN"] + g_losses["G_L1"])
        return self._as_floats({**g_losses, **d_losses})


class TestModel(BaseModel):
    """One generator for inference (the reference's ``--model test``): ``fake = G(real)``.

    Its network is named ``G<model_suffix>``, so files are ``latest_net_G.pth`` by
    default or e.g. ``latest_net_G_A.pth`` with ``model_suffix="_A"``.
    """

    option_defaults = {"test": {"dataset_mode": "single"}}

    def build_networks(self) -> None:
        self.netG = self._generator(self.config.input_nc, self.config.output_nc)

    def networks(self) -> dict[str, nn.Module]:
        return {f"G{self.config.model_suffix}": self.netG}

    def visuals(self) -> dict[str, torch.Tensor]:
        """real, fake."""
        return as_images({"real": self.real, "fake": self.fake})

    def set_input(self, batch: dict[str, Any]) -> None:
        """Take a single-domain batch ``{'A', 'A_paths'}``."""
        self.real = self._to_device(batch["A"])
        self.image_paths = batch["A_paths"]

    def forward(self) -> None:
        self.fake = self.netG(self.real)


RGB_TO_XYZ = torch.tensor([[0.412453, 0.357580, 0.180423],
                           [0.212671, 0.715160, 0.072169],
                           [0.019334, 0.119193, 0.950227]])  # fmt: skip
"""Linear sRGB -> CIE XYZ (D65), the matrix scikit-image uses for the reference's ``rgb2lab``."""
D65_WHITE = torch.tensor([0.95047, 1.0, 1.08883])
"""The reference white's X, Y, Z (D65, 2-degree observer)."""
LAB_EPSILON = (6 / 29) ** 3
"""Below this, CIELAB's cube root is replaced by a line (CIE 1976)."""


def _channels_last(image: torch.Tensor) -> torch.Tensor:
    return image.movedim(-3, -1)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1], shape (..., 3, H, W) -> CIELAB: L in [0, 100], a and b about [-110, 110].

    sRGB gamma removed, to XYZ by :data:`RGB_TO_XYZ`, divided by :data:`D65_WHITE`, then
    ``L = 116 f(Y) - 16``, ``a = 500 (f(X) - f(Y))``, ``b = 200 (f(Y) - f(Z))`` with
    ``f(t) = t^(1/3)`` (linear near 0): what the reference gets from ``skimage.color.rgb2lab``.
    """
    rgb = _channels_last(rgb.float())
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyz = linear @ RGB_TO_XYZ.T.to(rgb.device) / D65_WHITE.to(rgb.device)
    f = torch.where(
        xyz > LAB_EPSILON, xyz.clamp(min=LAB_EPSILON) ** (1 / 3), xyz / (3 * (6 / 29) ** 2) + 4 / 29
    )
    fx, fy, fz = f.unbind(-1)
    lab = torch.stack([116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)], dim=-1)
    return lab.movedim(-1, -3)


def lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """The inverse of :func:`rgb_to_lab`, clipped to [0, 1] (colours outside sRGB are clipped)."""
    L, a, b = _channels_last(lab.float()).unbind(-1)
    fy = (L + 16) / 116
    f = torch.stack([fy + a / 500, fy, (fy - b / 200).clamp(min=0)], dim=-1)
    xyz = torch.where(f > 6 / 29, f**3, 3 * (6 / 29) ** 2 * (f - 4 / 29))
    linear = (xyz * D65_WHITE.to(lab.device)) @ torch.linalg.inv(RGB_TO_XYZ).T.to(lab.device)
    linear = linear.clamp(min=0)
    rgb = torch.where(linear > 0.0031308, 1.055 * linear ** (1 / 2.4) - 0.055, 12.92 * linear)
    return rgb.clamp(0, 1).movedim(-1, -3)


def lab_to_model(lab: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """CIELAB -> the colorization model's (L, ab), scaled as the reference: ``L/50 - 1``, ``ab/110``."""
    return lab[..., :1, :, :] / 50 - 1, lab[..., 1:, :, :] / 110


def model_to_rgb(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """The colorization model's (L, ab) -> an RGB image in [-1, 1], the range of the other visuals."""
    lab = torch.cat([(L.float() + 1) * 50, ab.float() * 110], dim=-3)
    return lab_to_rgb(lab) * 2 - 1


class ColorizationModel(Pix2PixModel):
    """pix2pix from lightness to colour (the reference's ``colorization_model.py``).

    A is the L channel of an image in CIELAB, B its a and b channels (the
    ``colorization`` dataset makes both from any RGB image), so G learns the colours
    that go with a grayscale picture, with the pix2pix losses (Isola 2017, eq. 4).
    The visuals show the true and the predicted colours as RGB images.
    """

    option_defaults = {
        phase: {**defaults, "input_nc": 1, "output_nc": 2, "dataset_mode": "colorization"}
        for phase, defaults in Pix2PixModel.option_defaults.items()
    }

    def build_networks(self) -> None:
        c = self.config
        if (c.input_nc, c.output_nc, c.direction) != (1, 2, "AtoB"):
            raise ValueError(
                "--model colorization maps L (--input_nc 1) to ab (--output_nc 2) with "
                f"--direction AtoB; got --input_nc {c.input_nc} --output_nc {c.output_nc} "
                f"--direction {c.direction}"
            )
        super().build_networks()

    def visuals(self) -> dict[str, torch.Tensor]:
        """real_A (the lightness), real_B_rgb and fake_B_rgb (true and predicted colours)."""
        return as_images(
            {
                "real_A": self.real_A,
                "real_B_rgb": model_to_rgb(self.real_A, self.real_B),
                "fake_B_rgb": model_to_rgb(self.real_A, self.fake_B),
            }
        )


MODELS: dict[ModelName, type[BaseModel]] = {
    "cycle_gan": CycleGANModel,
    "pix2pix": Pix2PixModel,
    "colorization": ColorizationModel,
    "test": TestModel,
}
"""``--model`` name -> model class: the one registry the command line reads."""


def create_model(
    config: ModelConfig,
    device: torch.device | str = "cpu",
    generator: torch.Generator | None = None,
) -> BaseModel:
    """Build the model named by ``config.model`` (one of :data:`MODELS`)."""
    if config.model not in MODELS:
        raise ValueError(f"--model {config.model!r} is not one of {', '.join(MODELS)}")
    return MODELS[config.model](config, device, generator)
