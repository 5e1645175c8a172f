"""The PySide6 window. Everything under here may import Qt; nothing outside may.

One module per panel: dataset_panel, model_panel (with binding), runs_panel,
dashboard (training_panel, plots, timeline), log_panel; worker runs the
trainer in a QThread; main_window puts them together; app starts it.
"""

from studio.gui import _pyside_compat

_pyside_compat.install()  # before Qt runs any Python code

from studio.gui.app import create_main_window, run_app  # noqa: E402

__all__ = ["create_main_window", "run_app"]
