"""The runs table: every run of the project in one sortable, filterable table, several selectable at once.

One row per run (from :func:`studio.app.run_compare.run_row`): name, tags,
state, epochs done of planned, best and last score, images per second, disk
use, and one column per setting that differs between the project's runs.
Below it, the settings that differ between the selected runs and their
evaluation figures side by side. Selecting several rows asks the window to
compare them on the dashboard.
"""

from __future__ import annotations

import math
from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from studio.app.run_compare import config_diff, evaluation_table, higher_is_better, metric_label
from studio.core import jsonio

__all__ = ["RunsTableModel", "RunsFilter", "RunsTablePanel", "RunSettingsDialog", "format_bytes"]

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
PATH_ROLE = Qt.ItemDataRole.UserRole + 2
BASE_COLUMNS = ("Name", "Tags", "State", "Epochs", "Best score", "Last score", "Images/s", "Disk")
_NUMBER_COLUMNS = {BASE_COLUMNS.index(c) for c in ("Epochs", "Best score", "Last score", "Images/s", "Disk")}
_STATE_COLOURS = {"running": "#1f6fb4", "failed": "#b22222", "error": "#b22222", "unreadable": "#b22222"}


def format_bytes(n: int | None) -> str:
    if n is None:
        return "–"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"  # pragma: no cover


def _value_text(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_value_text(v) for v in value)
    if value is None:
        return "–"
    return str(value)


def _sort_key(value):
    """Numbers sort as numbers, text as text; missing last."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return (2, 0.0, "")
    if isinstance(value, bool):
        return (1, 0.0, str(value))
    if isinstance(value, (int, float)):
        return (0, float(value), "")
    return (1, 0.0, _value_text(value).lower())


class RunsTableModel(QAbstractTableModel):
    """Rows: run_row dicts; columns: BASE_COLUMNS then the settings that differ across the runs."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rows: list[dict] = []
        self.diff_keys: list[str] = []

    def set_rows(self, rows: list[dict]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        configs = [r.get("config") or {} for r in self.rows]
        self.diff_keys = list(config_diff(configs)) if len(configs) > 1 else []
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(BASE_COLUMNS) + len(self.diff_keys)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation != Qt.Orientation.Horizontal:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return BASE_COLUMNS[section] if section < len(BASE_COLUMNS) else self.diff_keys[section - len(BASE_COLUMNS)]
        if role == Qt.ItemDataRole.FontRole and section >= len(BASE_COLUMNS):
            font = QFont()
            font.setItalic(True)  # a setting, not a figure of the run
            return font
        if role == Qt.ItemDataRole.ToolTipRole:
            if section >= len(BASE_COLUMNS):
                return "A setting whose value differs between the project's runs"
            return {
                "Best score": "The best figure of the run's headline metric over every generator evaluated "
                "(conditional accuracy: higher is better; FID and KID: lower)",
                "Last score": "The figure of the newest epoch evaluated",
                "Images/s": "Training speed of the run's last finished epoch",
                "Disk": "Space the run folder takes: checkpoints, snapshots, grids, metrics",
            }.get(BASE_COLUMNS[section])
        return None

    def _cell(self, row: dict, column: int):
        """(display text, sort value, tooltip) of one cell."""
        if column >= len(BASE_COLUMNS):
            key = self.diff_keys[column - len(BASE_COLUMNS)]
            value = (row.get("config") or {}).get(key)
            return _value_text(value), value, f"{key} = {_value_text(value)}"
        name = BASE_COLUMNS[column]
        scores = row.get("scores") or []
        if name == "Name":
            note = row.get("note") or ""
            return row["name"], row["name"].lower(), f"{row.get('path', '')}" + (f"\n{note}" if note else "")
        if name == "Tags":
            text = ", ".join(row.get("tags") or [])
            return text, text.lower(), text
        if name == "State":
            return row.get("state", ""), row.get("state", ""), row.get("note") or row.get("state", "")
        if name == "Epochs":
            done, planned = row.get("epochs_done") or 0, row.get("epochs_planned") or 0
            planned = max(done, planned)
            return (f"{done} of {planned}" if planned else "?"), done, f"{done} complete epochs of {planned} planned"
        if name in ("Best score", "Last score"):
            if not scores:
                return "–", None, "Not evaluated yet (Evaluation tab, or: python -m studio evaluate RUN)"
            s = scores[0]
            value, of = (s.best, s.best_of) if name == "Best score" else (s.last, s.last_of)
            others = "\n".join(
                f"{o.metric}: best {o.best:.4g} ({o.best_of}), last {o.last:.4g} ({o.last_of})" for o in scores
            )
            # Sorting puts the best first either way: FID and KID sort by their negative.
            sort = value if higher_is_better(s.metric) else -value
            return s.text(value), sort, f"{of}\n{others}"
        if name == "Images/s":
            rate = row.get("images_per_second")
            return ("–" if not rate else f"{rate:,.0f}"), rate, "images per second in the last finished epoch"
        if name == "Disk":
            size = row.get("disk_bytes")
            return format_bytes(size), size, f"{size:,} bytes" if size is not None else ""
        return "", None, ""  # pragma: no cover

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        column = index.column()
        if role == PATH_ROLE:
            return row.get("path")
        if role in (Qt.ItemDataRole.DisplayRole, SORT_ROLE, Qt.ItemDataRole.ToolTipRole):
            text, sort, tip = self._cell(row, column)
            if role == Qt.ItemDataRole.DisplayRole:
                return text
            if role == SORT_ROLE:
                return _sort_key(sort)
            return tip
        if role == Qt.ItemDataRole.TextAlignmentRole and column in _NUMBER_COLUMNS:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole and column == 2:
            colour = _STATE_COLOURS.get(row.get("state", ""))
            return QBrush(QColor(colour)) if colour else None
        return None


class RunsFilter(QSortFilterProxyModel):
    """Rows whose tags include the chosen tag and whose name, tags or note contain the typed text."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.tag = ""
        self.text = ""
        self.setSortRole(SORT_ROLE)

    def set_tag(self, tag: str) -> None:
        self._refilter(lambda: setattr(self, "tag", tag))

    def set_text(self, text: str) -> None:
        self._refilter(lambda: setattr(self, "text", text.strip().lower()))

    def _refilter(self, change) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.9 and later
            self.beginFilterChange()
            change()
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            change()
            self.invalidateRowsFilter()

    def filterAcceptsRow(self, source_row: int, source_parent) -> bool:
        row = self.sourceModel().rows[source_row]
        tags = [t.lower() for t in row.get("tags") or []]
        if self.tag and self.tag.lower() not in tags:
            return False
        if self.text:
            haystack = " ".join([str(row.get("name", "")), str(row.get("note", "")), *tags, str(row.get("id", ""))])
            return self.text in haystack.lower()
        return True

    def lessThan(self, left, right) -> bool:
        return left.data(SORT_ROLE) < right.data(SORT_ROLE)


class RunSettingsDialog(QDialog):
    """A run's saved settings, read-only, with a button that copies them into the project."""

    useRequested = Signal(str)  # the run's path

    def __init__(self, row: dict, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runSettingsDialog")
        self.setWindowTitle(f"Settings of run {row.get('name')}")
        self.path = str(row.get("path", ""))
        text = QPlainTextEdit(jsonio.dumps(row.get("config") or {}))
        text.setObjectName("runSettingsText")
        text.setReadOnly(True)
        text.setFont(QFont("monospace"))
        note = QLabel(
            f"The settings run <b>{row.get('name')}</b> was trained with (its config.json), read-only. "
            "<i>Use these settings</i> puts them in the project's Dataset and Model tabs; the project "
            "file changes when you save it."
        )
        note.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.use_button = buttons.addButton("Use these settings", QDialogButtonBox.ButtonRole.AcceptRole)
        self.use_button.setObjectName("useSettingsButton")
        self.use_button.setToolTip(
            "Copy every setting of this run into the project (your current settings are replaced)"
        )
        self.use_button.setEnabled(bool(row.get("config")))
        buttons.rejected.connect(self.reject)
        self.use_button.clicked.connect(self._use)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(text, 1)
        layout.addWidget(buttons)
        self.resize(560, 640)

    def _use(self) -> None:
        self.useRequested.emit(self.path)
        self.accept()


class RunsTablePanel(QWidget):
    """The Runs tab of the main area: the table, its filters, the selected runs' differences and scores."""

    selectionChanged = Signal(list)  # paths of the selected runs, in table order
    useSettingsRequested = Signal(str)  # a run's path
    compareRequested = Signal(list)  # paths: show them on the dashboard
    refreshRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runsTablePanel")
        self.model = RunsTableModel(self)
        self.proxy = RunsFilter(self)
        self.proxy.setSourceModel(self.model)

        self.filter_edit = QLineEdit()
        self.filter_edit.setObjectName("runsFilter")
        self.filter_edit.setPlaceholderText("Filter by name, tag or note")
        self.filter_edit.setClearButtonEnabled(True)
        self.tag_combo = QComboBox()
        self.tag_combo.setObjectName("runsTagFilter")
        self.tag_combo.setToolTip("Show only the runs with this tag")
        self.tag_combo.addItem("All tags", "")
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.setObjectName("refreshRunsTableButton")
        self.refresh_button.setToolTip("Read every run folder again (runs trained elsewhere, new evaluations)")
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.filter_edit, 2)
        top.addWidget(QLabel("Tag"))
        top.addWidget(self.tag_combo, 1)
        top.addWidget(self.refresh_button)

        self.table = QTableView()
        self.table.setObjectName("runsTable")
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.setToolTip(
            "One row per run. Ctrl- or Shift-click several rows to compare them: their curves overlay on the "
            "Training tab's plots and their sample grids line up there."
        )
        self.table.doubleClicked.connect(lambda _: self.open_settings())

        self.settings_button = QPushButton("Settings…")
        self.settings_button.setObjectName("runSettingsButton")
        self.settings_button.setToolTip("The selected run's saved settings (read-only), with 'Use these settings'")
        self.compare_button = QPushButton("Show on dashboard")
        self.compare_button.setObjectName("compareRunsButton")
        self.compare_button.setToolTip("The Training tab with the selected runs' curves and sample grids")
        self.summary = QLabel()
        self.summary.setObjectName("runsTableSummary")
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.settings_button)
        buttons.addWidget(self.compare_button)
        buttons.addStretch(1)
        buttons.addWidget(self.summary)

        self.diff_table = QTableWidget()
        self.diff_table.setObjectName("configDiffTable")
        self.diff_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.diff_table.verticalHeader().setVisible(True)
        self.diff_table.setToolTip("The settings whose values differ between the selected runs")
        self.eval_table = QTableWidget()
        self.eval_table.setObjectName("compareEvaluationTable")
        self.eval_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.eval_table.verticalHeader().setVisible(False)
        self.eval_table.setToolTip(
            "The newest figure of each metric for every generator evaluated in the selected runs"
        )
        self.diff_title = QLabel("<b>Settings that differ</b>")
        self.eval_title = QLabel("<b>Evaluation figures</b>")
        lower = QSplitter(Qt.Orientation.Horizontal)
        for title, table in ((self.diff_title, self.diff_table), (self.eval_title, self.eval_table)):
            box = QWidget()
            column = QVBoxLayout(box)
            column.setContentsMargins(0, 0, 0, 0)
            column.addWidget(title)
            column.addWidget(table, 1)
            lower.addWidget(box)

        upper = QWidget()
        upper_layout = QVBoxLayout(upper)
        upper_layout.setContentsMargins(0, 0, 0, 0)
        upper_layout.addLayout(top)
        upper_layout.addWidget(self.table, 1)
        upper_layout.addLayout(buttons)
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.addWidget(upper)
        self.splitter.addWidget(lower)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 4)
        layout.addWidget(self.splitter)

        self.filter_edit.textChanged.connect(self.proxy.set_text)
        self.tag_combo.currentIndexChanged.connect(lambda _: self.proxy.set_tag(self.tag_combo.currentData() or ""))
        self.table.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.settings_button.clicked.connect(self.open_settings)
        self.compare_button.clicked.connect(lambda: self.compareRequested.emit(self.selected_paths()))
        self.refresh_button.clicked.connect(self.refreshRequested.emit)
        self._dialog: RunSettingsDialog | None = None
        self._update_lower()

    # --- rows -------------------------------------------------------------------------------------
    def set_rows(self, rows: list[dict]) -> None:
        """Show ``rows`` (run_row dicts), keeping the selected runs selected when they are still there."""
        selected = self.selected_paths()
        columns = [self.model.headerData(c, Qt.Orientation.Horizontal) for c in range(self.model.columnCount())]
        self.table.selectionModel().blockSignals(True)
        try:
            self.model.set_rows(rows)
            self._fill_tags()
            self.select_paths(selected, emit=False)
        finally:
            self.table.selectionModel().blockSignals(False)
        if columns != [self.model.headerData(c, Qt.Orientation.Horizontal) for c in range(self.model.columnCount())]:
            # New columns: fit them; otherwise the widths the user dragged stay.
            self.table.resizeColumnsToContents()
            for column in range(self.model.columnCount()):
                self.table.setColumnWidth(column, min(self.table.columnWidth(column), 260))
        self.summary.setText(f"{len(rows)} runs")
        if selected != self.selected_paths():
            self._on_selection_changed()
        else:
            self._update_lower()

    def _fill_tags(self) -> None:
        current = self.tag_combo.currentData() or ""
        tags = sorted({t for r in self.model.rows for t in r.get("tags") or []}, key=str.lower)
        self.tag_combo.blockSignals(True)
        self.tag_combo.clear()
        self.tag_combo.addItem("All tags", "")
        for tag in tags:
            self.tag_combo.addItem(tag, tag)
        index = self.tag_combo.findData(current)
        self.tag_combo.setCurrentIndex(max(index, 0))
        self.tag_combo.blockSignals(False)
        self.tag_combo.setEnabled(bool(tags))
        self.proxy.set_tag(self.tag_combo.currentData() or "")

    def row_of(self, path) -> dict | None:
        for row in self.model.rows:
            if Path(row.get("path", "")) == Path(path):
                return row
        return None

    # --- selection --------------------------------------------------------------------------------
    def selected_paths(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [self.proxy.index(r, 0).data(PATH_ROLE) for r in rows]

    def select_paths(self, paths, emit: bool = True) -> None:
        wanted = {str(Path(p)) for p in paths}
        model = self.table.selectionModel()
        if not emit:
            model.blockSignals(True)
        try:
            model.clearSelection()
            from PySide6.QtCore import QItemSelection, QItemSelectionModel

            selection = QItemSelection()
            for r in range(self.proxy.rowCount()):
                index = self.proxy.index(r, 0)
                if str(Path(index.data(PATH_ROLE))) in wanted:
                    selection.select(index, self.proxy.index(r, self.proxy.columnCount() - 1))
            model.select(selection, QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows)
        finally:
            if not emit:
                model.blockSignals(False)

    def _on_selection_changed(self, *_) -> None:
        self._update_lower()
        self.selectionChanged.emit(self.selected_paths())

    def _update_lower(self) -> None:
        paths = self.selected_paths()
        rows = [r for r in (self.row_of(p) for p in paths) if r is not None]
        self.settings_button.setEnabled(len(rows) == 1)
        self.compare_button.setEnabled(bool(rows))
        self._fill_diff(rows)
        self._fill_evaluation(rows)

    def _fill_diff(self, rows: list[dict]) -> None:
        t = self.diff_table
        t.clear()
        if len(rows) < 2:
            t.setRowCount(0)
            t.setColumnCount(0)
            self.diff_title.setText("<b>Settings that differ</b> (select two or more runs)")
            return
        diff = config_diff([r.get("config") or {} for r in rows])
        self.diff_title.setText(
            f"<b>Settings that differ</b> between the {len(rows)} selected runs: {len(diff)}"
            if diff
            else f"<b>Settings that differ</b>: none, the {len(rows)} runs share every setting"
        )
        t.setColumnCount(len(rows))
        t.setHorizontalHeaderLabels([r["name"] for r in rows])
        t.setRowCount(len(diff))
        t.setVerticalHeaderLabels(list(diff))
        for i, values in enumerate(diff.values()):
            for j, value in enumerate(values):
                t.setItem(i, j, QTableWidgetItem(_value_text(value)))
        t.resizeColumnsToContents()

    def _fill_evaluation(self, rows: list[dict]) -> None:
        t = self.eval_table
        t.clear()
        if not rows:
            t.setRowCount(0)
            t.setColumnCount(0)
            return
        try:
            table = evaluation_table([r["path"] for r in rows], [r["name"] for r in rows])
        except Exception:  # noqa: BLE001 - figures we cannot read leave the table empty
            table = None
        if table is None or not table.rows:
            t.setRowCount(0)
            t.setColumnCount(0)
            self.eval_title.setText("<b>Evaluation figures</b>: none yet for the selected runs")
            return
        self.eval_title.setText("<b>Evaluation figures</b> (newest of each; N: generated images scored)")
        headers = ["Run", "Generator", *(metric_label(m) for m in table.metrics), "N"]
        t.setColumnCount(len(headers))
        t.setHorizontalHeaderLabels(headers)
        for j, metric in enumerate(table.metrics, start=2):
            better = "higher is better" if higher_is_better(metric) else "lower is better"
            t.horizontalHeaderItem(j).setToolTip(f"{metric} ({better})")
        t.setRowCount(len(table.rows))
        for i, row in enumerate(table.rows):
            cells = [row["run"], row["generator"]]
            cells += [_value_text(row["values"].get(m)) if m in row["values"] else "–" for m in table.metrics]
            cells.append(table.n_text(row))
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if 2 <= j < len(cells) - 1:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                t.setItem(i, j, item)
        t.resizeColumnsToContents()

    # --- a run's settings ---------------------------------------------------------------------------
    def open_settings(self) -> RunSettingsDialog | None:
        paths = self.selected_paths()
        row = self.row_of(paths[0]) if len(paths) == 1 else None
        if row is None:
            return None
        dialog = RunSettingsDialog(row, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.useRequested.connect(self.useSettingsRequested.emit)
        self._dialog = dialog
        dialog.open()
        return dialog
