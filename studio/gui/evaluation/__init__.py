"""The evaluation panel: score a run's generators, keep the figures with the run, plot them over epochs.

    generators   the selected run's checkpoints, saved averages and EMA (any set)
    metrics      conditional accuracy, FID, KID, IS, precision/recall, intra-class FID, CAS; judge or
                 Inception features; N;
                 test-condition files (i-CLEVR's test.json); a judge file instead of the dataset's
    results      every row of RUN/evaluation/results.json, newest first, and a plot of each
                 metric over the epochs of the run's checkpoints
    judge        'Train judge' trains and stores the dataset's judge and shows its held-out accuracy
    during training  optionally, every K epochs, the new checkpoint is scored in the background

The work is the application layer's, the same calls the command line makes
(:func:`studio.app.evaluation.evaluate_generators`, :func:`studio.app.evaluation.train_judge`);
here it runs in a worker thread with a progress bar and Cancel. The core saves the figures
in the run, and the panel reads them back from there, so what is shown is what is kept.

    panel.py     EvaluationPanel: the run, the selection, the settings, starting jobs and showing what they made
    widgets.py   the controls, built onto the panel under their object names
    view.py      the results table and the plots over epochs
    results.py   curves and scores from the rows kept (no widgets)
    wording.py   core errors worded for the window, from their code and fields
"""

from studio.gui.evaluation.panel import EvaluationPanel
from studio.gui.evaluation.results import curve_data, describe_scores
from studio.gui.evaluation.view import COLUMNS
from studio.gui.evaluation.widgets import METRIC_CHOICES
from studio.gui.evaluation.wording import for_the_window

__all__ = ["EvaluationPanel", "METRIC_CHOICES", "COLUMNS", "curve_data", "describe_scores", "for_the_window"]
