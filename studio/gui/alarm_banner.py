"""The dashboard's collapse-alarm banner: what the run's health checks saw, and since which epoch."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from studio.app.reporting import alarm_line

__all__ = ["AlarmBanner"]

_STYLE = "QLabel#alarmBanner { background: #fde2e1; color: #8a1c1c; border: 1px solid #d62728; padding: 4px 6px; }"


class AlarmBanner(QLabel):
    """Hidden until a run raises an alarm (live or read from its metrics); the newest alarm is shown."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("alarmBanner")
        self.setStyleSheet(_STYLE)
        self.setWordWrap(True)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.alarms: list = []  # RunAlarm events or alarm rows, oldest first
        self.hide()

    def clear(self) -> None:
        self.alarms = []
        self.setText("")
        self.setToolTip("")
        self.hide()

    def add(self, alarm) -> None:
        """Show a :class:`~studio.core.events.RunAlarm` (or a metrics row of kind 'alarm')."""
        self.alarms.append(alarm)
        lines = [alarm_line(_as_event(a)) for a in self.alarms]
        more = f" ({len(lines)} alarms in this run; hover for all)" if len(lines) > 1 else ""
        self.setText(lines[-1] + more)
        self.setToolTip("\n".join(lines) + "\n\nSee the sample grids from the alarm's epoch on the timeline.")
        self.show()

    def set_rows(self, rows: list[dict]) -> None:
        """The alarms a run's metrics recorded (rows of kind 'alarm'); none hides the banner."""
        self.clear()
        for row in rows:
            self.add(row)

    def marks(self) -> list[tuple[int, str]]:
        """(the epoch each alarm's sign began, its line), for the timeline."""
        return [(int(_as_event(a).since_epoch), alarm_line(_as_event(a))) for a in self.alarms]


class _RowAlarm:
    """A metrics row of kind 'alarm' read with the attributes of a RunAlarm."""

    def __init__(self, row: dict):
        self.kind = str(row.get("alarm", "alarm"))
        self.epoch = int(row.get("epoch") or 0)
        self.since_epoch = int(row.get("since_epoch") or self.epoch)
        self.message = str(row.get("message", ""))
        self.action = str(row.get("action", "none"))
        self.marked = str(row.get("marked") or "")


def _as_event(alarm):
    return _RowAlarm(alarm) if isinstance(alarm, dict) else alarm
