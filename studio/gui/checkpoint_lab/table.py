"""The lab's checkpoint table: one row per training checkpoint, its epoch, time saved and logged figures."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractItemView, QTableWidget, QTableWidgetItem
from superqt.utils import signals_blocked

from studio.app.reporting import MISSING, figure
from studio.core.averaging import CheckpointEntry

__all__ = ["COLUMNS", "evaluation_figures", "fill_table", "select_rows", "selected_paths"]

COLUMNS = ("Epoch", "Saved", "D loss", "G loss", "Aux acc", "Metrics")
# Figures the trainer logs per epoch that get columns of their own; anything
# else logged for an epoch (evaluation results) goes to the Metrics column.
_TRAINING_FIGURES = ("d_loss", "g_loss", "aux_acc_real")
_NOT_SHOWN = {"d_lr", "g_lr", "seconds", "images_per_second", "d_x", "d_g_z1", "d_g_z2", "aux_acc_fake"}


def evaluation_figures(rows: list[dict]) -> dict[str, dict[str, tuple[float, int]]]:
    """{checkpoint file name: {metric: (value, N)}} of each checkpoint's own G, the newest figure per metric
    (a training checkpoint and its slim snapshot share the name); per-class figures (``cond_acc:<class>``,
    ``ifid:<class>``) stay in the Evaluation tab."""
    found: dict[str, dict[str, tuple[float, int]]] = {}
    for row in rows:  # oldest first: a later figure replaces an earlier one
        metric, value = str(row.get("metric", "")), row.get("value")
        if row.get("which") != "g" or ":" in metric or not isinstance(value, (int, float)):
            continue
        name = Path(str(row.get("checkpoint", ""))).name
        found.setdefault(name, {})[metric] = (float(value), int(row.get("n") or 0))
    return found


def _kept_mark(entry: CheckpointEntry) -> str:
    """' · pinned' or ' · full' where the full, resumable checkpoint is kept; nothing for a snapshot only."""
    if not entry.resumable:
        return ""
    return " · pinned" if entry.pinned else " · full"


_KEPT_TIP = (
    "full: the resumable checkpoint (G, D, optimisers) is kept, among the last keep_checkpoints or pinned "
    "(right-click to pin or unpin; pinned ones are never deleted). No mark: only the epoch's slim generator "
    "snapshot is kept, enough to average, sample, export and evaluate"
)


def _fill_row(table: QTableWidget, row: int, entry: CheckpointEntry, scored: dict | None = None) -> None:
    epoch = str(entry.epoch) if entry.complete_epoch else f"{entry.epoch} (step {entry.step_in_epoch})"
    figures = entry.metrics
    other = {k: v for k, v in figures.items() if k not in _TRAINING_FIGURES and k not in _NOT_SHOWN}
    texts_of = [f"{k} {v:.4g}" for k, v in other.items() if k not in (scored or {})]
    for key, (value, n) in (scored or {}).items():
        texts_of.append(f"{key.upper() if key in ('fid', 'kid', 'is') else key} {value:.4g} (N {n:,})")
    metrics = "  ".join(texts_of) or MISSING
    texts = [
        epoch,
        entry.saved_text + _kept_mark(entry),
        figure(figures, "d_loss"),
        figure(figures, "g_loss"),
        figure(figures, "aux_acc_real", ".2f"),
        metrics,
    ]
    for col, text in enumerate(texts):
        item = QTableWidgetItem(text)
        if col in (0, 2, 3, 4):
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        table.setItem(row, col, item)
    first = table.item(row, 0)
    first.setData(Qt.ItemDataRole.UserRole, str(entry.path))
    first.setToolTip(str(entry.path) + ("" if entry.complete_epoch else "\nwritten in the middle of an epoch"))
    all_figures = "\n".join(f"{k}: {v:.5g}" for k, v in figures.items()) or "no figures logged for this epoch"
    for col in range(2, len(COLUMNS)):
        table.item(row, col).setToolTip(all_figures)
    table.item(row, 1).setToolTip(_KEPT_TIP)


def fill_table(table: QTableWidget, entries: list[CheckpointEntry], keep: set[str], results=None) -> None:
    """One row per entry; the rows of the paths in ``keep`` selected, without a selection signal.

    ``results`` (the run's evaluation rows) fill the Metrics column with each checkpoint's newest figures.
    """
    scored = evaluation_figures(results or [])
    with signals_blocked(table):
        table.clearSelection()
        mode = table.selectionMode()
        table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)  # selectRow adds
        table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            _fill_row(table, row, entry, scored.get(Path(entry.path).name))
            if str(entry.path) in keep:
                table.selectRow(row)
        table.setSelectionMode(mode)


def select_rows(table: QTableWidget, wanted: set[str]) -> None:
    """Select exactly the rows of the paths in ``wanted``, without a selection signal."""
    with signals_blocked(table):
        table.clearSelection()
        mode = table.selectionMode()
        table.setSelectionMode(QAbstractItemView.SelectionMode.MultiSelection)
        for row in range(table.rowCount()):
            if table.item(row, 0).data(Qt.ItemDataRole.UserRole) in wanted:
                table.selectRow(row)
        table.setSelectionMode(mode)


def selected_paths(table: QTableWidget) -> list[Path]:
    rows = sorted({index.row() for index in table.selectionModel().selectedRows()})
    return [Path(table.item(r, 0).data(Qt.ItemDataRole.UserRole)) for r in rows]
