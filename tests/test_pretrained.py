"""Loading reference-layout network files: stale InstanceNorm keys, strictness, helpful errors."""

import pickle

import pytest
import torch
from torch import nn

from cyclegan_lib.networks import define_D
from cyclegan_lib.pipeline.pretrained import (
    CheckpointError,
    GeneratorSpec,
    infer_generator_spec,
    load_network,
    load_pretrained_generator,
    meta_generator,
    read_state_dict,
)

SMALL = GeneratorSpec(netG="resnet_2blocks", ngf=8)


def with_stale_instance_norm_keys(net: nn.Module) -> dict:
    """``net``'s state_dict plus the running statistics PyTorch < 0.4 saved for InstanceNorm."""
    state = dict(net.state_dict())
    for name, module in net.named_modules():
        if isinstance(module, nn.InstanceNorm2d):
            state[f"{name}.running_mean"] = torch.zeros(module.num_features)
            state[f"{name}.running_var"] = torch.ones(module.num_features)
            state[f"{name}.num_batches_tracked"] = torch.tensor(7)
    return state


def save(state, path):
    torch.save(state, path)
    return path


def test_reference_generator_with_stale_keys_loads_strictly(tmp_path):
    torch.manual_seed(0)
    source = GeneratorSpec().build().eval()  # resnet_9blocks, ngf 64, instance, no dropout
    state = with_stale_instance_norm_keys(source)
    assert len(state) == 48 + 3 * 23  # 23 InstanceNorm layers in resnet_9blocks
    path = save(state, tmp_path / "latest_net_G.pth")
    loaded = load_pretrained_generator(path)
    assert not loaded.training
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        assert torch.equal(loaded(x), source(x))


def test_batch_norm_statistics_are_kept(tmp_path):
    spec = GeneratorSpec(netG="unet_32", ngf=4, norm="batch")
    source = spec.build()
    source.model.model[1].model[2].running_mean.fill_(0.5)
    loaded = load_network(spec.build(), save(source.state_dict(), tmp_path / "g.pth"), spec)
    assert torch.all(loaded.model.model[1].model[2].running_mean == 0.5)


def test_data_parallel_prefix_is_removed(tmp_path):
    source = SMALL.build()
    prefixed = {f"module.{k}": v for k, v in source.state_dict().items()}
    assert set(read_state_dict(save(prefixed, tmp_path / "g.pth"))) == set(source.state_dict())


@pytest.mark.parametrize(
    "saved, expected_hint",
    [
        (GeneratorSpec(netG="resnet_3blocks", ngf=8), "rerun with --netG resnet_3blocks"),
        (GeneratorSpec(netG="resnet_2blocks", ngf=4), "rerun with --ngf 4"),
        (GeneratorSpec(netG="resnet_2blocks", ngf=8, norm="batch"), "rerun with --norm batch"),
        (GeneratorSpec(netG="resnet_2blocks", ngf=8, use_dropout=True), "without --no_dropout"),
        (GeneratorSpec(netG="resnet_2blocks", ngf=8, output_nc=1), "rerun with --output_nc 1"),
        (GeneratorSpec(netG="unet_32", ngf=8), "rerun with --netG unet_32"),
    ],
)
def test_mismatch_names_the_options_to_change(tmp_path, saved, expected_hint):
    path = save(saved.build().state_dict(), tmp_path / "latest_net_G.pth")
    with pytest.raises(CheckpointError) as error:
        load_network(SMALL.build(), path, SMALL)
    message = str(error.value)
    assert expected_hint in message
    assert str(path) in message and "\n" not in message


def test_dropout_file_into_no_dropout_net_asks_for_no_dropout(tmp_path):
    path = save(SMALL.build().state_dict(), tmp_path / "g.pth")
    wanted = GeneratorSpec(netG="resnet_2blocks", ngf=8, use_dropout=True)
    with pytest.raises(CheckpointError, match="rerun with --no_dropout"):
        load_network(wanted.build(), path, wanted)


def test_unet_depth_mismatch_for_full_size_names(tmp_path):
    saved = GeneratorSpec(netG="unet_64", ngf=2, norm="batch", use_dropout=True)
    path = save(saved.build().state_dict(), tmp_path / "g.pth")
    wanted = GeneratorSpec(netG="unet_128", ngf=2, norm="batch", use_dropout=True)
    with pytest.raises(CheckpointError, match="rerun with --netG unet_64$"):
        load_network(wanted.build(), path, wanted)


def test_other_networks_get_a_short_key_summary(tmp_path):
    path = save(define_D(3, 8, "basic", norm="batch").state_dict(), tmp_path / "latest_net_D_A.pth")
    with pytest.raises(CheckpointError) as error:
        load_network(define_D(3, 8, "n_layers", n_layers_D=2, norm="batch"), path)
    message = str(error.value)
    assert "unexpected (e.g. model.11." in message and "--ndf" in message
    assert len(message) < 400


@pytest.mark.parametrize(
    "spec",
    [
        GeneratorSpec(),
        GeneratorSpec(netG="resnet_6blocks", ngf=32, use_dropout=True, output_nc=1),
        GeneratorSpec(netG="unet_256", norm="batch"),
        GeneratorSpec(netG="unet_128", norm="instance", input_nc=1),
        GeneratorSpec(netG="unet_32", ngf=16, norm="batch"),
    ],
)
def test_infer_generator_spec_reads_reference_layouts(spec):
    assert infer_generator_spec(meta_generator(spec).state_dict()) == spec


def test_unreadable_files_are_explained(tmp_path):
    with pytest.raises(CheckpointError, match="no such network file"):
        read_state_dict(tmp_path / "missing.pth")
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(CheckpointError, match="garbage.pth: not a readable PyTorch weights file"):
        read_state_dict(garbage)
    truncated = tmp_path / "truncated.pth"
    torch.save(SMALL.build().state_dict(), truncated)
    truncated.write_bytes(truncated.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="truncated.pth"):
        read_state_dict(truncated)


class Evil:
    def __reduce__(self):
        return (print, ("code ran",))


def test_pickled_objects_are_refused(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    with open(path, "wb") as handle:
        pickle.dump({"weight": Evil()}, handle, protocol=2)
    with pytest.raises(CheckpointError, match="evil.pth"):
        read_state_dict(path)
    assert "code ran" not in capsys.readouterr().out
    torch.save({"epoch": 3}, tmp_path / "state.pth")
    with pytest.raises(CheckpointError, match="expected a state_dict of tensors"):
        read_state_dict(tmp_path / "state.pth")
