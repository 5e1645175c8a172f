"""The text both front ends show: one epoch line, one description of a run's size, one checkpoint listing."""

import numpy as np

from studio.app.checkpoints import list_run
from studio.app.reporting import MISSING, checkpoint_lines, epoch_line, model_text, spans
from studio.core.events import EpochEnd, RunStarted


def epoch_end(**means) -> EpochEnd:
    figures = {
        "d_loss": 1.23456,
        "g_loss": 2.5,
        "d_x": 0.5,
        "d_g_z1": 0.25,
        "d_g_z2": 0.125,
        "aux_acc_real": None,
        "aux_acc_fake": None,
    }
    figures.update(means)
    return EpochEnd(
        3,
        30,
        np.zeros((4, 4, 3), np.uint8),
        1,
        1,
        [],
        [],
        2,
        2,
        figures,
        12.34,
        456.7,
        {},
        "run/samples/epoch_0003.png",
    )


def test_the_epoch_line_names_every_figure_and_marks_the_missing_ones():
    line = epoch_line(epoch_end())
    assert line == "epoch 3: D 1.235  G 2.500  D(x) 0.50  D(G(z)) 0.25/0.12  457 img/s  12.3 s"
    assert "aux acc" not in line and "->" not in line
    acgan = epoch_line(epoch_end(aux_acc_real=0.75, aux_acc_fake=None, g_loss=None), sample_path=True)
    assert f"G {MISSING}" in acgan and f"aux acc 0.75/{MISSING}" in acgan
    assert acgan.endswith(" -> run/samples/epoch_0003.png")
    assert "G -  " in epoch_line(epoch_end(g_loss=None), missing="-")


def test_model_text_gives_parameters_and_steps():
    event = RunStarted("run", "cpu", "float32", 0, 0, 2, 7, 16, 1234567, 89, False)
    assert model_text(event) == "G 1,234,567 / D 89 parameters, 7 steps of 16 per epoch"


def test_checkpoint_lines_list_checkpoints_then_ema(ema_run):
    lines = checkpoint_lines(list_run(ema_run))
    assert [line.split()[0] for line in lines] == ["epoch_0001.pt", "epoch_0002.pt", "epoch_0003.pt", "epoch_0003.pt"]
    assert "epoch    2" in lines[1] and "d_loss" in lines[1] and lines[-1].endswith("EMA at epoch 3")


def test_spans_joins_runs_of_epochs():
    assert spans([7, 1, 2, 3, 3]) == "1-3, 7" and spans([]) == ""
