import json

import numpy as np
import pytest
import torch
from helpers import SPACES, tiny_config

from studio.core.checkpoint import generator_from_checkpoint, save_checkpoint
from studio.core.export import (
    export_generator,
    load_state_dict_export,
    load_torchscript_export,
    onnx_available,
    sidecar_path,
)
from studio.core.models import build_models
from studio.core.sampling import generate_grid, grid_from_request, grid_noise
from studio.errors import StudioError


@pytest.fixture(params=["multi-attribute", "multi-attribute-cbn", "none"])
def checkpoint(request, tmp_path):
    name = request.param.removesuffix("-cbn")
    space = SPACES[name]
    config = tiny_config(
        family="dcgan" if name == "none" else "acgan",
        ngf=8,
        g_input="linear",
        g_embed=6,
        g_conditioning="cbn" if request.param.endswith("-cbn") else "concat",
    )
    torch.manual_seed(3)
    g, _ = build_models(config, space)
    with torch.no_grad():
        for bn in (m for m in g.modules() if isinstance(m, torch.nn.BatchNorm2d)):
            bn.running_mean.normal_(0, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    path = tmp_path / "epoch_0001.pt"
    save_checkpoint(
        path,
        {"epoch": 1, "step": 4, "config": config.to_dict(), "space": space.to_dict(), "g": g.state_dict(), "ema": None},
    )
    return path


def studio_images(path):
    """What the studio draws for a checkpoint: the grid the sample command makes, and its inputs."""
    g, space, config = generator_from_checkpoint(path)
    grid = grid_from_request(space, [], n=3)
    z = grid_noise(grid, config.nz, seed=1)
    cond = space.encode(grid.labels).float() if space.is_conditional else torch.zeros(len(z), 0)
    return generate_grid(g, space, grid, z), z, cond


def test_state_dict_export_reproduces_the_studio(checkpoint, tmp_path):
    out = tmp_path / "g_state.pt"
    result = export_generator(checkpoint, out, "state_dict")
    expected, z, cond = studio_images(checkpoint)
    weights = torch.load(out, weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in weights.values())
    g, space, config = load_state_dict_export(out)
    with torch.no_grad():
        torch.testing.assert_close(g(z, cond), expected, atol=1e-4, rtol=0)
    info = json.loads(result.sidecar.read_text())
    assert result.sidecar == sidecar_path(out) and info["file"] == "g_state.pt"
    assert info["inputs"]["z"]["shape"] == ["N", config.nz]
    assert info["output"]["range"] == [-1.0, 1.0]


def test_torchscript_export_reproduces_the_studio(checkpoint, tmp_path):
    out = tmp_path / "g.ts.pt"
    export_generator(checkpoint, out, "torchscript")
    expected, z, cond = studio_images(checkpoint)
    module = load_torchscript_export(out)
    with torch.no_grad():
        torch.testing.assert_close(module(z, cond), expected, atol=1e-4, rtol=0)


def test_onnx_export_reproduces_the_studio(checkpoint, tmp_path):
    ort = pytest.importorskip("onnxruntime", reason="onnxruntime is not installed (it comes with the dev extra)")
    ok, why = onnx_available()
    if not ok:
        pytest.skip(why)
    out = tmp_path / "g.onnx"
    export_generator(checkpoint, out, "onnx")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith("g.onnx")] == sorted(["g.onnx", "g.onnx.json"])
    expected, z, cond = studio_images(checkpoint)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["z", "condition"]
    (images,) = session.run(["images"], {"z": z.numpy(), "condition": cond.numpy()})
    np.testing.assert_allclose(images, expected.numpy(), atol=1e-4, rtol=0)


def test_sidecar_documents_the_condition_encoding(tmp_path):
    space = SPACES["multi-attribute"]
    config = tiny_config(family="acgan", ngf=8)
    g, _ = build_models(config, space)
    path = tmp_path / "c.pt"
    save_checkpoint(
        path,
        {"epoch": 2, "step": 8, "config": config.to_dict(), "space": space.to_dict(), "g": g.state_dict(), "ema": None},
    )
    info = json.loads(export_generator(path, tmp_path / "s.pt", "state_dict").sidecar.read_text())
    encoding = info["inputs"]["condition"]["encoding"]
    assert info["inputs"]["condition"]["shape"] == ["N", 5]
    assert [(a["attribute"], a["offset"], a["values"]) for a in encoding["attributes"]] == [
        ("hair", 0, ["red", "blue", "green"]),
        ("eyes", 3, ["black", "brown"]),
    ]
    for example in info["condition_examples"]:
        expected = space.encode(space.parse(example["condition"])[None])[0].tolist()
        assert example["encoding"] == expected
    assert info["source"] == {"checkpoint": str(path), "which": "g", "epoch": 2, "step": 8}


def test_export_never_overwrites(checkpoint, tmp_path):
    out = tmp_path / "g.pt"
    out.write_bytes(b"mine")
    with pytest.raises(StudioError, match="already exists") as info:
        export_generator(checkpoint, out, "state_dict")
    assert str(out) in str(info.value) and out.read_bytes() == b"mine"
    assert not sidecar_path(out).exists()
    export_generator(checkpoint, out, "state_dict", overwrite=True)
    assert torch.load(out, weights_only=True)
