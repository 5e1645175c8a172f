"""Pinning full checkpoints from the lab's table: a right-click menu over :mod:`studio.app.retention`.

A pinned full checkpoint is never deleted by retention (the run's
``keep_checkpoints``); rows whose full checkpoint is already gone (only the
epoch's generator snapshot is kept) offer nothing to pin.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMenu, QMessageBox

from studio.app.retention import pin_checkpoint, unpin_checkpoint
from studio.errors import StudioError

__all__ = ["install_pin_menu", "set_pinned"]


def set_pinned(lab, entry, pinned: bool) -> bool:
    """Pin or unpin the full checkpoint of ``entry``; refresh the table. False (and a message) on refusal."""
    if lab.run is None or entry.full_path is None:
        return False
    try:
        (pin_checkpoint if pinned else unpin_checkpoint)(lab.run, entry.full_path.name)
    except (StudioError, OSError) as exc:
        QMessageBox.warning(lab, "Pin checkpoint", str(exc))
        lab.refresh()
        return False
    lab.refresh()
    return True


def _entry_at(lab, pos):
    index = lab.table.indexAt(pos)
    if not index.isValid() or index.row() >= len(lab.entries):
        return None
    return lab.entries[index.row()]


def _menu(lab, pos) -> None:
    entry = _entry_at(lab, pos)
    if entry is None:
        return
    menu = QMenu(lab.table)
    if entry.full_path is None:
        action = menu.addAction("Only the generator snapshot is kept (nothing to pin)")
        action.setEnabled(False)
    elif entry.pinned:
        menu.addAction("Unpin full checkpoint", lambda: set_pinned(lab, entry, False))
    else:
        menu.addAction("Pin full checkpoint (never deleted)", lambda: set_pinned(lab, entry, True))
    menu.popup(lab.table.viewport().mapToGlobal(pos))


def install_pin_menu(lab) -> None:
    """Give ``lab``'s checkpoint table a right-click menu to pin and unpin full checkpoints."""
    lab.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    lab.table.customContextMenuRequested.connect(lambda pos: _menu(lab, pos))
