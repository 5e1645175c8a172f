"""Keep PySide6 builds that under-count references to None/True/False from crashing Python 3.11.

Some PySide6 wheels (6.12.0 on Python 3.11 here) return ``None``, ``True``
and ``False`` without taking a reference: every call of a void method
(``processEvents()``, ``setData()``, a Python slot run by a timer), every
``emit()`` and every QVariant that converts to ``None`` takes one reference
away.  From Python 3.12 on these three objects are immortal and the fault is
harmless -- which is likely why it slipped through -- but on 3.11 a live
plot drains ``None`` within minutes and CPython aborts with "none_dealloc:
deallocating None".

The repair gives the three singletons the immortality they have on 3.12: a
reserve of references so large that no session can use it up.  It is applied
only on Python < 3.12 and only when a probe sees the fault, so a correct
PySide6 is left alone.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

__all__ = ["pyside_drops_references", "install"]

_PROBES = 32
# 2**40 calls is decades of a busy GUI; far below any overflow of Py_ssize_t.
_RESERVE = 1 << 40
_installed = False


class _Probe(QObject):
    ping = Signal()


def _lost(value, action) -> int:
    before = sys.getrefcount(value)
    for _ in range(_PROBES):
        action()
    return before - sys.getrefcount(value)


def pyside_drops_references() -> bool:
    """True when void calls or emits of this PySide6 take references from None or True."""
    probe = _Probe()
    lost_none = _lost(None, lambda: probe.setObjectName("probe"))
    lost_bool = _lost(True, lambda: probe.ping.emit()) + _lost(False, lambda: probe.ping.emit())
    return lost_none >= _PROBES // 2 or lost_bool >= _PROBES // 2


def install() -> bool:
    """Apply the repair when needed; True when it is in place."""
    global _installed
    if _installed:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False  # immortal singletons: nothing can be freed
    if not pyside_drops_references():
        return False
    for singleton in (None, True, False):
        # ob_refcnt is the first field of every CPython object.
        refcount = ctypes.c_ssize_t.from_address(id(singleton))
        refcount.value += _RESERVE
    _installed = True
    return True
