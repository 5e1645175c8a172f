"""The compiled training step (``compile: on``): same weights, plain checkpoints, and an exact fallback."""

from __future__ import annotations

import pytest
import torch
from helpers import SPACES, random_dataset, tiny_config

import studio.core.compiled as compiled_module
from studio.core.checkpoint import load_checkpoint
from studio.core.events import RunNotice, StepMetrics
from studio.core.models import Discriminator
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.errors import one_line

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPACE = SPACES["multi-attribute"]
# 32 images in batches of 8: 4 steps an epoch; EMA on, so the average of G is checked too.
CFG = tiny_config(family="acgan", epochs=2, ema=True)


def train(tmp_path, cfg, name, run=None, resume_from=None, max_steps=None):
    run = run or RunDirectory.create(tmp_path, cfg, run_id=name)
    events = []
    trainer = Trainer(cfg, random_dataset(SPACE), run, events.append, resume_from, max_steps)
    result = trainer.run()
    assert result.reason in ("completed", "stopped"), result.message
    return trainer, run, events


def weights(trainer) -> dict[str, torch.Tensor]:
    parts = {"g": trainer.g, "d": trainer.d, "ema": trainer.ema}
    return {f"{p}.{k}": v for p, module in parts.items() for k, v in module.state_dict().items()}


def notices(events, level=None) -> list[str]:
    return [e.message for e in events if isinstance(e, RunNotice) and level in (None, e.level)]


@pytest.fixture(scope="module")
def inductor(tmp_path_factory):
    """torch.compile's own compiler, with a cache that outlives the session (the first session compiles cold).

    Skips where it cannot compile (no C++ compiler, a Python that torch.compile does not support)."""
    folder = tmp_path_factory.getbasetemp().parent / "gan-studio-torch-compile"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TORCHINDUCTOR_CACHE_DIR", str(folder))
        try:
            torch.compile(lambda x: x * 2.0 + 1.0, dynamic=False)(torch.ones(3))
        except Exception as exc:  # noqa: BLE001 - whatever stops it, the test cannot run here
            pytest.skip(f"torch.compile cannot compile on this machine: {type(exc).__name__}: {one_line(exc, 200)}")
        yield folder


@pytest.fixture(scope="module")
def compiled_split_run(inductor, tmp_path_factory):
    """An eager straight run, and the same run compiled with a stop three steps in and a resume."""
    tmp = tmp_path_factory.mktemp("compiled")
    straight, *_ = train(tmp, CFG, "straight")
    on = CFG.replace(compile="on")
    _, run, first_events = train(tmp, on, "split", max_steps=3)
    partial = run.latest_checkpoint().path
    assert partial.name == "epoch_0001_step_000003.pt"
    resumed, _, resumed_events = train(tmp, on, "split", run=run, resume_from=partial)
    return straight, resumed, run, first_events + resumed_events


def test_a_compiled_run_resumes_to_the_weights_of_an_uncompiled_straight_run(compiled_split_run):
    straight, resumed, _, events = compiled_split_run
    assert not notices(events, "warning"), notices(events, "warning")  # it really ran compiled
    ready = [m for m in notices(events) if m.startswith("compiled training step ready")]
    assert len(ready) == 2  # the first part and the resumed one
    assert resumed.compiled.active and resumed.compiled.warm
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("RunStarted") < kinds.index("RunNotice")  # the lines follow the run's start in every log
    assert resumed.step == straight.step == 8
    a, b = weights(straight), weights(resumed)
    assert a.keys() == b.keys()
    for key in a:
        # Compiled kernels round differently (3e-8 measured after these 8 steps); a step gone wrong moves
        # weights by Adam's lr (2e-4) or more.
        torch.testing.assert_close(b[key], a[key], rtol=1e-4, atol=1e-4, msg=lambda m, key=key: f"{key}: {m}")


def test_a_compiled_run_saves_plain_state_dicts(compiled_split_run):
    _, resumed, run, _ = compiled_split_run
    assert isinstance(resumed.g_net, torch._dynamo.eval_frame.OptimizedModule)  # the steps did call compiled G
    assert any(k.startswith("_orig_mod.") for k in resumed.g_net.state_dict())
    checkpoint = load_checkpoint(run.latest_checkpoint().path)
    snapshot = load_checkpoint(run.snapshot_path(2))
    assert set(checkpoint["g"]) == set(snapshot["g"]) == set(resumed.g.state_dict())
    assert set(checkpoint["d"]) == set(resumed.d.state_dict())
    assert set(checkpoint["ema"]) == set(snapshot["ema"]) == set(resumed.ema.state_dict())
    saved = [k for part in ("g", "d", "ema") for k in checkpoint[part]] + list(snapshot["g"])
    assert saved and not [k for k in saved if "_orig_mod" in k]


def test_checkpoint_keys_stay_plain_without_a_cxx_compiler(tmp_path, monkeypatch):
    """The same check with dynamo's "eager" backend (no C++ compiler needed): G and D really wrapped."""
    real_compile = torch.compile
    monkeypatch.setattr(torch, "compile", lambda net, **kw: real_compile(net, backend="eager", **kw))
    trainer, run, events = train(tmp_path, CFG.replace(compile="on", epochs=1), "eager-backend")
    assert trainer.compiled.active and isinstance(trainer.d_net, torch._dynamo.eval_frame.OptimizedModule)
    state = load_checkpoint(run.latest_checkpoint().path)
    assert set(state["g"]) == set(trainer.g.state_dict()) and set(state["d"]) == set(trainer.d.state_dict())
    assert not [k for part in ("g", "d", "ema") for k in state[part] if "_orig_mod" in k]


def _failing_backend(graph, example_inputs):
    raise RuntimeError("InvalidCxxCompiler: no working C++ compiler found")


class _FailsInGStep(torch.nn.Module):
    """A 'compiled' D that works in D's step and fails in G's, after D's optimiser has stepped."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x, cond):
        if x.requires_grad:
            raise torch._dynamo.exc.BackendCompilerFailed(_failing_backend, RuntimeError("lazy backward failed"), None)
        return self.net(x, cond)


@pytest.mark.parametrize("failure", ["backend", "after D's update"])
def test_a_failed_compile_falls_back_with_one_line_and_trains_exactly_as_eager(tmp_path, monkeypatch, failure):
    cfg = CFG.replace(epochs=1, d_dropout=0.2)  # dropout: the random state must be restored too
    eager, _, eager_events = train(tmp_path, cfg, "eager")
    real_compile = torch.compile
    if failure == "backend":  # what a machine without a C++ compiler gives: an error at the first call
        fake = lambda net, **kw: real_compile(net, backend=_failing_backend, **kw)  # noqa: E731
    else:  # D's update, its BatchNorm statistics and the figures of the step are already changed
        fake = lambda net, **kw: _FailsInGStep(net) if isinstance(net, Discriminator) else net  # noqa: E731
    monkeypatch.setattr(torch, "compile", fake)
    fallen, run, events = train(tmp_path, cfg.replace(compile="on"), "fallback")
    warnings = notices(events, "warning")
    assert len(warnings) == 1 and "compiled step failed" in warnings[0] and "uncompiled" in warnings[0]
    assert "no working C++ compiler" in warnings[0] or "lazy backward failed" in warnings[0]
    assert "\n" not in warnings[0]
    assert not fallen.compiled.active and fallen.g_net is fallen.g and fallen.d_net is fallen.d
    a, b = weights(eager), weights(fallen)
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, different[:5]
    assert torch.equal(
        eager.opt_d.state_dict()["state"][0]["exp_avg"], fallen.opt_d.state_dict()["state"][0]["exp_avg"]
    )
    steps = [e.values for e in eager_events if isinstance(e, StepMetrics)]
    assert steps == [e.values for e in events if isinstance(e, StepMetrics)]


def test_compile_cache_goes_to_the_studio_cache_unless_the_user_chose_one(tmp_path, monkeypatch):
    from torch._inductor.runtime.cache_dir_utils import default_cache_dir

    monkeypatch.setenv("GAN_STUDIO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", default_cache_dir())  # what importing torch's compiler writes
    assert compiled_module.use_compile_cache() == str(tmp_path / "cache" / "torch-compile")
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    assert compiled_module.use_compile_cache() == str(tmp_path / "mine")


def test_the_command_line_prints_the_notice(capsys):
    from studio.cli import _progress_reporter

    _progress_reporter(quiet=True)(RunNotice("compile: the compiled step failed (X); training goes on uncompiled", 0))
    assert "compile: the compiled step failed (X)" in capsys.readouterr().out
