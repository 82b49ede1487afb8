"""Load the reference's ``.pth`` network files (its published pretrained generators included).

Three things go beyond a bare ``load_state_dict``:

* files are read with :func:`~cyclegan_lib.pipeline.checkpoints.load_file`
  (``torch.load(..., weights_only=True)``), so a checkpoint cannot run code on your machine;
* files saved with PyTorch < 0.4 carry ``running_mean`` / ``running_var`` /
  ``num_batches_tracked`` entries for InstanceNorm layers that no longer keep
  statistics; they are dropped, as the reference's
  ``__patch_instance_norm_state_dict`` does, and the rest loads *strictly*;
* a file that does not fit is examined: the architecture it was saved from is
  read off its keys and shapes, and the error names the options to change
  (``--netG``, ``--ngf``, ``--norm``, ``--no_dropout``) instead of dumping keys.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import nn

from cyclegan_lib.networks import (
    InitType,
    Norm,
    ResnetGenerator,
    UnetGenerator,
    define_G,
    parse_generator_name,
)
from cyclegan_lib.pipeline.checkpoints import CheckpointError, load_file

StateDict = dict[str, torch.Tensor]
STALE_INSTANCE_NORM_KEYS = ("running_mean", "running_var", "num_batches_tracked")


@dataclass(frozen=True)
class GeneratorSpec:
    """How a generator is built: the options that decide its ``state_dict`` layout."""

    netG: str = "resnet_9blocks"
    ngf: int = 64
    norm: Norm = "instance"
    use_dropout: bool = False
    input_nc: int = 3
    output_nc: int = 3

    def build(self, init_type: InitType = "normal", init_gain: float = 0.02) -> nn.Module:
        """The generator, initialised as :func:`define_G` does."""
        return define_G(
            self.input_nc, self.output_nc, self.ngf, self.netG, self.norm,
            self.use_dropout, init_type, init_gain,
        )  # fmt: skip

    def flags(self) -> str:
        """The command-line options that build this generator."""
        text = f"--netG {self.netG} --ngf {self.ngf} --norm {self.norm}"
        text += f" --input_nc {self.input_nc} --output_nc {self.output_nc}"
        return text + ("" if self.use_dropout else " --no_dropout")


def read_state_dict(path: str | Path) -> StateDict:
    """Read a ``state_dict`` from ``path`` (weights only, onto the CPU).

    A ``module.`` prefix left by ``DataParallel`` / DDP is removed.

    Raises:
        CheckpointError: the file is missing, unreadable, or not a state_dict.
    """
    state = load_file(Path(path), what="network file")
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(
            f"{path}: expected a state_dict of tensors, found {type(state).__name__}"
        )
    if state and all(key.startswith("module.") for key in state):
        state = {key.removeprefix("module."): value for key, value in state.items()}
    return state


def drop_stale_instance_norm_keys(state: StateDict, net: nn.Module) -> StateDict:
    """Remove running-statistics entries of ``net``'s InstanceNorm layers that keep none.

    The reference's ``__patch_instance_norm_state_dict``: files from PyTorch < 0.4
    stored them; current InstanceNorm layers (``track_running_stats=False``) do not.
    """
    modules = dict(net.named_modules())
    kept = {}
    for key, value in state.items():
        owner, _, leaf = key.rpartition(".")
        module = modules.get(owner)
        stale = (
            isinstance(module, nn.modules.instancenorm._InstanceNorm)
            and leaf in STALE_INSTANCE_NORM_KEYS
            and (leaf == "num_batches_tracked" or getattr(module, leaf) is None)
        )
        if not stale:
            kept[key] = value
    return kept


def infer_generator_spec(state: StateDict) -> GeneratorSpec | None:
    """Read the generator options off a ``state_dict`` in the reference's layout, if possible.

    InstanceNorm (no affine) and no norm leave the same keys; ``instance`` is
    reported. U-Net dropout leaves no keys; ``use_dropout`` is then False.
    """
    if "model.1.weight" in state and any(".conv_block." in key for key in state):
        ngf, input_nc = state["model.1.weight"].shape[:2]
        n_blocks = len({key.split(".")[1] for key in state if ".conv_block." in key})
        output = state.get(f"model.{17 + n_blocks}.weight")  # 10 head, blocks, 6 up, pad, conv
        sixth = state.get("model.10.conv_block.6.weight")  # a conv only after a dropout layer
        return GeneratorSpec(
            netG=f"resnet_{n_blocks}blocks",
            ngf=int(ngf),
            norm="batch" if "model.2.weight" in state else "instance",
            use_dropout=sixth is not None and sixth.dim() == 4,
            input_nc=int(input_nc),
            output_nc=int(output.shape[0]) if output is not None else 3,
        )
    if "model.model.0.weight" in state and "model.model.3.weight" in state:
        ngf, input_nc = state["model.model.0.weight"].shape[:2]
        prefix, downs = "model.model.1.model", 2
        while any(key.startswith(prefix + ".3.model.") for key in state):
            prefix, downs = prefix + ".3.model", downs + 1
        return GeneratorSpec(
            netG=f"unet_{2**downs}",
            ngf=int(ngf),
            norm="batch" if "model.model.1.model.2.weight" in state else "instance",
            input_nc=int(input_nc),
            output_nc=int(state["model.model.3.weight"].shape[1]),
        )
    return None


def meta_generator(spec: GeneratorSpec) -> nn.Module:
    """The generator ``spec`` builds, on the meta device: shapes only, no memory, no init."""
    kind, depth = parse_generator_name(spec.netG)
    with torch.device("meta"):
        if kind == "resnet":
            return ResnetGenerator(
                spec.input_nc, spec.output_nc, spec.ngf, spec.norm, spec.use_dropout, depth
            )
        return UnetGenerator(
            spec.input_nc, spec.output_nc, depth, spec.ngf, spec.norm, spec.use_dropout
        )


def shapes(state: dict[str, torch.Tensor]) -> dict[str, tuple[int, ...]]:
    """Key -> shape, to compare layouts without looking at values."""
    return {key: tuple(value.shape) for key, value in state.items()}


def fits(state: StateDict, net: nn.Module) -> bool:
    """Whether ``state`` (stale InstanceNorm keys aside) has exactly ``net``'s keys and shapes."""
    return shapes(drop_stale_instance_norm_keys(state, net)) == shapes(net.state_dict())


def changed_options(current: GeneratorSpec, needed: GeneratorSpec) -> str:
    """The options that turn ``current`` into ``needed``, e.g. ``--netG resnet_6blocks --ngf 32``."""
    changes = [
        f"--{name} {getattr(needed, name)}"
        for name in ("netG", "ngf", "norm", "input_nc", "output_nc")
        if getattr(current, name) != getattr(needed, name)
    ]
    if current.use_dropout != needed.use_dropout:
        changes.append("without --no_dropout" if needed.use_dropout else "--no_dropout")
    return " ".join(changes)


def explain_mismatch(state: StateDict, net: nn.Module, spec: GeneratorSpec | None) -> str:
    """Why ``state`` does not fit ``net``: the options it was saved with, or a short key summary."""
    guess = infer_generator_spec(state) if spec is not None else None
    if guess is not None and spec is not None:
        if guess.netG.startswith("unet"):  # U-Net dropout leaves no trace: keep the user's
            guess = replace(guess, use_dropout=spec.use_dropout)
        if fits(state, meta_generator(guess)):
            return (
                f"it was saved from a generator built with {guess.flags()}, "
                f"not {spec.flags()}; rerun with {changed_options(spec, guess)}"
            )
    wanted, found = shapes(net.state_dict()), shapes(drop_stale_instance_norm_keys(state, net))
    missing = sorted(set(wanted) - set(found))
    unexpected = sorted(set(found) - set(wanted))
    reshaped = sorted(k for k in set(wanted) & set(found) if wanted[k] != found[k])
    parts = []
    for label, keys in (
        ("missing", missing),
        ("unexpected", unexpected),
        ("other shape", reshaped),
    ):
        if keys:
            parts.append(f"{len(keys)} {label} (e.g. {keys[0]})")
    hint = "check --netG, --ngf, --norm and --no_dropout (or --netD, --ndf, --n_layers_D)"
    return f"its keys do not match the network: {', '.join(parts)}; {hint}"


def load_network(net: nn.Module, path: str | Path, spec: GeneratorSpec | None = None) -> nn.Module:
    """Strictly load the file at ``path`` into ``net`` (after dropping stale InstanceNorm keys).

    Pass ``spec`` (how ``net`` was built) for generators, so a mismatch names
    the options to change.

    Raises:
        CheckpointError: unreadable file, or one saved from another architecture.
    """
    state = read_state_dict(path)
    if not fits(state, net):
        raise CheckpointError(f"{path} does not fit: {explain_mismatch(state, net, spec)}")
    net.load_state_dict(drop_stale_instance_norm_keys(state, net), strict=True)
    return net


def load_pretrained_generator(path: str | Path, spec: GeneratorSpec = GeneratorSpec()) -> nn.Module:
    """Build the generator ``spec`` describes and load ``path`` into it (e.g. ``latest_net_G.pth``).

    The defaults fit the reference's published CycleGAN generators
    (``resnet_9blocks``, instance norm, no dropout). Returned in eval mode.
    """
    net = load_network(spec.build(), path, spec)
    return net.eval()
