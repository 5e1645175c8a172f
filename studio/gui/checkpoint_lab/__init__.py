"""The checkpoint lab: a run's checkpoints, averaging them, comparing generators, exporting one.

    table        every training checkpoint: epoch, time saved, the figures logged for it
    selection    any set of rows, the last N epochs, or an epoch range A-B
    Average      the selected generators averaged (BatchNorm re-estimated by default),
                 saved into the run beside its checkpoints, then compared
    comparison   the same noise and conditions through the last checkpoint, the average and the EMA
    export       any generator of the run alone: state dict, TorchScript or ONNX

The work is the application layer's, the same calls the command line makes
(:mod:`studio.app.checkpoints`: the listing, the selection, averaging;
:mod:`studio.app.compare`: the comparison and its sheet; :mod:`studio.app.exporting`);
here each runs in a worker thread with a progress bar and Cancel, and only
plain results come back.

    panel.py         CheckpointLab: the run, the selection, starting jobs and showing what they made
    widgets.py       the controls, built onto the panel under their object names
    table.py         the checkpoint table
    compare_view.py  CompareView: the grids side by side
    export.py        export formats and the file names suggested
"""

from studio.gui.checkpoint_lab.compare_view import CompareView
from studio.gui.checkpoint_lab.export import EXPORT_FORMATS
from studio.gui.checkpoint_lab.panel import CheckpointLab
from studio.gui.checkpoint_lab.table import COLUMNS

__all__ = ["CheckpointLab", "CompareView", "EXPORT_FORMATS", "COLUMNS"]
