import copy

import pytest
import torch
from helpers import SPACES, tiny_config

from studio.core.averaging import (
    GeneratorRef,
    average_checkpoints,
    comparison_refs,
    list_checkpoints,
    load_generator,
    parse_epoch_range,
    reestimate_batchnorm,
    run_generators,
    save_average,
    select_checkpoints,
)
from studio.core.checkpoint import generator_from_checkpoint, is_training_checkpoint, load_checkpoint, save_checkpoint
from studio.core.models import Generator
from studio.core.rundir import RunDirectory
from studio.errors import CheckpointError, ConfigError, StudioError


def _bn_layers(g):
    return [m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)]


def _generator(config, space, seed):
    """A G with random weights and random BatchNorm statistics, as if trained."""
    torch.manual_seed(seed)
    g = Generator(config, space)
    with torch.no_grad():
        for p in g.parameters():
            p.normal_(0, 0.2)
        for bn in _bn_layers(g):
            bn.running_mean.normal_(0, 1)
            bn.running_var.uniform_(0.5, 2.0)
    return g


def make_run(tmp_path, space_name="multi-attribute", epochs=4, ema=False, name="run", **changes):
    space = SPACES[space_name]
    config = tiny_config(family="dcgan" if space_name == "none" else "acgan", ngf=8, ema=ema, **changes)
    run = RunDirectory.create(tmp_path / "runs", config, run_id=name)
    for epoch in range(1, epochs + 1):
        g = _generator(config, space, seed=epoch)
        state = {
            "epoch": epoch,
            "step": 10 * epoch,
            "config": config.to_dict(),
            "space": space.to_dict(),
            "g": g.state_dict(),
            "d": {},
            "ema": None,
        }
        if ema:
            state["ema"] = {"module." + k: v + 1.0 if v.is_floating_point() else v for k, v in g.state_dict().items()}
            state["ema"]["n_averaged"] = torch.tensor(epoch * 10)
        save_checkpoint(run.checkpoint_path(epoch), state)
    run.append_metrics([{"kind": "epoch", "epoch": e, "step": 10 * e, "d_loss": 0.5 + e} for e in range(1, epochs + 1)])
    return run, config, space


def test_average_is_the_mean_of_the_weights_and_statistics(tmp_path):
    run, config, space = make_run(tmp_path)
    paths = select_checkpoints(run, last=3)
    assert [p.name for p in paths] == ["epoch_0002.pt", "epoch_0003.pt", "epoch_0004.pt"]
    result = average_checkpoints(paths, bn_reestimate=False)
    states = [torch.load(p, weights_only=True)["g"] for p in paths]
    averaged = result.generator.state_dict()
    for key, value in averaged.items():
        if key.endswith("num_batches_tracked"):
            continue
        expected = sum(s[key] for s in states) / 3
        torch.testing.assert_close(value, expected, atol=1e-6, rtol=1e-5)
    assert result.bn_mode == "averaged" and "not re-estimated" in result.describe_bn()
    assert result.epochs == [2, 3, 4] and not result.generator.training


def test_batchnorm_reestimation_measures_new_statistics_and_leaves_weights(tmp_path):
    run, config, space = make_run(tmp_path)
    paths = select_checkpoints(run, epochs=(1, 4))
    plain = average_checkpoints(paths, bn_reestimate=False)
    fresh = average_checkpoints(paths, bn_reestimate=True, bn_batches=3, bn_batch_size=16, seed=5)
    assert fresh.bn_reestimated and "3 batches of 16" in fresh.describe_bn()
    plain_state, fresh_state = plain.generator.state_dict(), fresh.generator.state_dict()
    for name, _ in fresh.generator.named_parameters():
        torch.testing.assert_close(fresh_state[name], plain_state[name])
    first = _bn_layers(fresh.generator)[0]
    assert not torch.allclose(first.running_mean, _bn_layers(plain.generator)[0].running_mean)

    # The statistics are those of the first BatchNorm's input over the same fresh noise and conditions.
    probe = copy.deepcopy(plain.generator).train()
    seen = []
    _bn_layers(probe)[0].register_forward_hook(lambda m, inp, out: seen.append(inp[0].detach()))
    rng = torch.Generator().manual_seed(5)
    with torch.no_grad():
        for _ in range(3):
            z = torch.randn(16, config.nz, generator=rng)
            cond = space.encode(space.sample(16, rng)).float()
            probe(z, cond)
    activations = torch.cat(seen)
    torch.testing.assert_close(first.running_mean, activations.mean((0, 2, 3)), atol=1e-5, rtol=1e-4)


def test_reestimation_works_for_an_unconditional_generator():
    config = tiny_config(family="dcgan", ngf=8)
    g = _generator(config, SPACES["none"], seed=1)
    weights = {k: v.clone() for k, v in g.named_parameters()}
    before = _bn_layers(g)[0].running_var.clone()
    assert reestimate_batchnorm(g, SPACES["none"], config.nz, batches=2, batch_size=8) == len(_bn_layers(g))
    assert not torch.allclose(_bn_layers(g)[0].running_var, before) and not g.training
    for k, v in g.named_parameters():
        assert torch.equal(v, weights[k])


def test_refuses_different_architectures_and_spaces_naming_the_files(tmp_path):
    run_a, _, _ = make_run(tmp_path, epochs=2, name="a")
    run_b, _, _ = make_run(tmp_path, epochs=1, name="b", nz=12)
    run_c, _, _ = make_run(tmp_path, "categorical", epochs=1, name="c")
    a = run_a.checkpoint_path(1)
    with pytest.raises(CheckpointError) as info:
        average_checkpoints([a, run_b.checkpoint_path(1)])
    assert str(a) in str(info.value) and str(run_b.checkpoint_path(1)) in str(info.value)
    assert "nz 8 vs 12" in str(info.value)
    with pytest.raises(CheckpointError, match="condition spaces differ") as info:
        average_checkpoints([a, run_c.checkpoint_path(1)])
    assert str(run_c.checkpoint_path(1)) in str(info.value)
    with pytest.raises(ConfigError, match="at least 2"):
        average_checkpoints([a])


def test_selection_by_last_range_and_files(tmp_path):
    run, _, _ = make_run(tmp_path, epochs=5)
    assert [p.name for p in select_checkpoints(run, epochs=parse_epoch_range("2-3"))] == [
        "epoch_0002.pt",
        "epoch_0003.pt",
    ]
    assert [p.name for p in select_checkpoints(run, files=["epoch_0001.pt", "epoch_0005.pt"])] == [
        "epoch_0001.pt",
        "epoch_0005.pt",
    ]
    with pytest.raises(CheckpointError, match="only 5"):
        select_checkpoints(run, last=10)
    with pytest.raises(CheckpointError, match="no checkpoints for epochs 8-9"):
        select_checkpoints(run, epochs=(8, 9))
    with pytest.raises(CheckpointError, match="nothing.pt"):
        select_checkpoints(run, files=["nothing.pt"])
    with pytest.raises(ConfigError, match="one way"):
        select_checkpoints(run, last=2, epochs=(1, 2))
    with pytest.raises(ConfigError, match="A-B"):
        parse_epoch_range("two-three")


def test_listing_shows_epochs_times_and_logged_figures(tmp_path):
    run, _, _ = make_run(tmp_path, epochs=3)
    (run.checkpoints_dir / "epoch_0004_step_000003.pt").write_bytes(run.checkpoint_path(3).read_bytes())
    entries = list_checkpoints(run)
    assert [(e.epoch, e.step_in_epoch) for e in entries] == [(1, 0), (2, 0), (3, 0), (4, 3)]
    assert entries[1].metrics["d_loss"] == pytest.approx(2.5) and entries[-1].metrics == {}
    assert entries[0].saved > 0 and len(entries[0].saved_text) == 16


def test_saved_average_loads_but_is_not_a_training_checkpoint(tmp_path):
    run, config, space = make_run(tmp_path, ema=True)
    result = average_checkpoints(select_checkpoints(run, last=2), bn_batches=2, bn_batch_size=8)
    path = save_average(run, result)
    assert path.name == "average_epochs_0003-0004.pt"
    state = load_checkpoint(path)
    assert not is_training_checkpoint(state) and state["bn_reestimated"] is True
    assert state["averaged"]["files"] == ["epoch_0003.pt", "epoch_0004.pt"]
    assert torch.load(path, weights_only=True)["kind"] == "average"
    g, loaded_space, _ = generator_from_checkpoint(path)
    z, cond = torch.randn(3, config.nz), space.encode(space.sample(3)).float()
    with torch.no_grad():
        torch.testing.assert_close(g(z, cond), result.generator(z, cond))

    # Never overwritten; the trainer's listing never sees it.
    before = path.read_bytes()
    with pytest.raises(StudioError, match="already exists"):
        save_average(run, result)
    assert path.read_bytes() == before
    assert [c.path.name for c in run.checkpoints()][-1] == "epoch_0004.pt"
    assert run.latest_checkpoint().path.name == "epoch_0004.pt"
    with pytest.raises(ConfigError, match="training checkpoints"):
        save_average(run, result, "epoch_0009.pt")
    with pytest.raises(ConfigError, match="file name"):
        save_average(run, result, "../elsewhere.pt")

    refs = run_generators(run)
    assert [r.kind for r in refs] == ["checkpoint"] * 4 + ["ema", "average"]
    assert refs[-1].label == "average of epochs 3-4" and refs[-2] == GeneratorRef(
        run.checkpoint_path(4), "ema", "EMA at epoch 4", "ema", 4
    )
    assert [r.kind for r in comparison_refs(run)] == ["checkpoint", "average", "ema"]
    ema_g, _, _ = load_generator(refs[-2])
    torch.testing.assert_close(
        ema_g.state_dict()["main.2.weight"], load_checkpoint(run.checkpoint_path(4))["g"]["main.2.weight"] + 1.0
    )


def test_average_of_ema_generators(tmp_path):
    run, _, _ = make_run(tmp_path, epochs=2, ema=True)
    result = average_checkpoints(select_checkpoints(run, last=2), which="ema", bn_reestimate=False)
    states = [torch.load(run.checkpoint_path(e), weights_only=True)["g"] for e in (1, 2)]
    torch.testing.assert_close(
        result.generator.state_dict()["main.2.weight"],
        (states[0]["main.2.weight"] + states[1]["main.2.weight"]) / 2 + 1.0,
    )
    plain, _, _ = make_run(tmp_path, epochs=2, name="plain")
    with pytest.raises(CheckpointError, match="no EMA"):
        average_checkpoints(select_checkpoints(plain, last=2), which="ema")


def test_progress_and_stop_callbacks(tmp_path):
    run, _, _ = make_run(tmp_path, epochs=2)
    seen = []
    average_checkpoints(
        select_checkpoints(run, last=2),
        bn_batches=1,
        bn_batch_size=4,
        progress=lambda message, fraction: seen.append(fraction),
    )
    assert seen[-1] == 1.0 and seen == sorted(seen)
    with pytest.raises(StudioError, match="stopped"):
        average_checkpoints(select_checkpoints(run, last=2), should_stop=lambda: True)
