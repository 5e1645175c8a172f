"""The studio's main window: projects, the setup panels, the training dashboard, the log.

    left dock "Setup"   Dataset (dataset_panel/) | Model (model_panel.py) | Runs (runs_panel.py)
    centre tabs         Training: TrainingDashboard (dashboard.py): controls, plots.py, timeline.py
                        Runs table (runs_table.py): every run; several selected compare on the
                        dashboard (compare_view.py, plot_tools.py)
                        Checkpoint lab (checkpoint_lab/), Condition explorer (explorer.py),
                        Evaluation (evaluation/): all follow the run selected in the Runs tab
                        Queue (queue_panel.py): the project's queue and its sweeps' results
    bottom dock "Log"   LogView (log_panel.py)

The window makes the calls ``studio.cli`` makes (:mod:`studio.app`): a run
is a :class:`~studio.app.training.TrainRequest` trained by
:class:`~studio.app.training.Training`, resuming follows
:func:`~studio.app.training.resume_run_request`'s rules, a project comes from
:func:`~studio.app.training.new_project`; but the training runs in a QThread
(worker.py).  A project is loaded completely with ``Project.load`` before it
replaces the current one, so a damaged file changes nothing.

The package: window.py (the MainWindow class, its layout and state),
actions.py, project.py, runs.py, compare.py, training.py, export.py, queue.py (mixins
MainWindow inherits), common.py (what they share).
"""

from studio.gui.main_window.common import APP_TITLE as APP_TITLE
from studio.gui.main_window.common import EXAMPLE_PROJECT, example_project_path
from studio.gui.main_window.window import MainWindow

__all__ = ["MainWindow", "EXAMPLE_PROJECT", "example_project_path"]
