"""Exporting a generator: refusals before any work, then the file and its description."""

import json

import pytest
import torch

from studio.app.exporting import ExportRequest, check_export, export, export_files
from studio.core.averaging import run_generators
from studio.core.export import load_state_dict_export
from studio.errors import StudioError


def test_a_generator_picked_in_a_run_exports_with_its_description(ema_run, tmp_path):
    ema = next(r for r in run_generators(ema_run) if r.kind == "ema")
    out = tmp_path / "g.pt"
    seen = []
    result = export(ExportRequest.of(ema, out, "state_dict"), progress=lambda text, f: seen.append((text, f)))
    assert (result.path, result.sidecar) == export_files(out) == (out, tmp_path / "g.pt.json")
    info = json.loads(result.sidecar.read_text())
    assert info["source"]["which"] == "ema" and info["source"]["epoch"] == 3
    generator, space, config = load_state_dict_export(out)
    assert config.nz == 8 and space.dim == 4 and generator(torch.zeros(2, 8), torch.eye(4)[:2]).shape == (2, 3, 32, 32)
    assert seen[0] == ("exporting epoch_0003.pt (EMA) as state_dict", 0.0) and seen[-1][1] == 1.0
    with pytest.raises(StudioError, match="already exists"):
        export(ExportRequest.of(ema, out, "torchscript"))
    assert export(ExportRequest.of(ema, out, "torchscript", overwrite=True)).format == "torchscript"


def test_what_cannot_be_exported_is_refused_before_any_work(ema_run, tmp_path):
    checkpoint = ema_run.checkpoint_path(3)
    with pytest.raises(StudioError, match="export format 'pickle'"):
        check_export(ExportRequest(checkpoint, tmp_path / "g.pkl", "pickle"))
    with pytest.raises(StudioError, match="inside the checkpoints of run"):
        check_export(ExportRequest(checkpoint, ema_run.checkpoints_dir / "g.pt", "state_dict", overwrite=True))
    assert not (ema_run.checkpoints_dir / "g.pt").exists()
