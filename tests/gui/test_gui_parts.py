"""The window's parts on their own: metric buffers, smoothing, redraw throttle, timeline, worker thread."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PIL import Image

from studio.gui.history import MetricHistory, ema


def test_history_grows_by_doubling_and_stays_finite():
    h = MetricHistory(["a", "b"], capacity=4)
    for i in range(1000):
        h.append(i, {"a": float(i), "b": None if i % 3 else math.nan if i == 6 else float(-i)})
    assert len(h) == 1000
    assert np.array_equal(h.x(), np.arange(1000))
    assert np.array_equal(h.y("a"), np.arange(1000))
    assert np.isfinite(h.y("b")).all()
    assert h.y("b")[7] == h.y("b")[3] == -3.0  # gaps keep the last finite value
    assert h.has_values("b")
    empty = MetricHistory(["c"])
    empty.append(0, {"c": None})
    assert not empty.has_values("c")


@pytest.mark.parametrize("weight", [0.0, 0.3, 0.9, 0.99, 0.999])
def test_ema_matches_the_recurrence(weight):
    rng = np.random.default_rng(1)
    values = rng.normal(size=9000).cumsum()
    expected = np.empty_like(values)
    s = 0.0
    for i, v in enumerate(values):
        s = weight * s + (1 - weight) * v
        expected[i] = s / (1 - weight ** (i + 1)) if weight else v
    assert np.allclose(ema(values, weight), expected, rtol=1e-9, atol=1e-9)


def test_plots_draw_buffered_reports_at_the_timer_not_per_report(qtbot):
    from studio.gui.plots import REDRAW_INTERVAL_MS, TrainingPlots

    assert REDRAW_INTERVAL_MS >= 100  # at most ten redraws a second, however fast reports come

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.show()
    redraws = []
    plots.redrawn.connect(lambda: redraws.append(len(plots.curve_data("lossPlot", "d_loss")[0])))
    steps = 2000
    for step in range(1, steps + 1):  # reports arriving with no event processing in between: buffered only
        plots.add(step, {"d_loss": 1.0 / step, "g_loss": math.nan, "d_x": 0.5}, {"g_lr": 2e-4, "d_lr": 2e-4})
    assert redraws == []
    qtbot.waitUntil(lambda: len(redraws) >= 1, timeout=5000)
    assert redraws == [steps]  # one redraw drew every buffered report
    qtbot.wait(3 * REDRAW_INTERVAL_MS)
    assert redraws == [steps]  # nothing new: the timer's ticks draw nothing
    assert np.isfinite(plots.curve_data("lossPlot", "g_loss")[1]).all()


def test_timeline_reads_old_frames_back_and_exports(tmp_path):
    from studio.gui.timeline import SampleTimeline, TimelineFrame, export_gif, export_png

    timeline = SampleTimeline()
    for epoch in range(1, 13):
        grid = np.full((20, 30, 3), epoch * 10, dtype=np.uint8)
        path = tmp_path / f"epoch_{epoch:04d}.png"
        Image.fromarray(grid).save(path)
        timeline.add(TimelineFrame(epoch, 2, 3, ["red hair", "blue hair"], ["a", "b", "c"], str(path), grid))
    assert len(timeline) == 12
    assert timeline.frames[0].grid is None  # old pixels dropped from memory
    assert timeline.image(0)[0, 0, 0] == 10  # and read back from the PNG
    assert timeline.frames[-1].grid is not None

    size = export_png(tmp_path / "one.png", timeline.image(11), timeline.frames[11], scale=4, captions=False)
    assert size == (120, 80)
    w, h = export_png(tmp_path / "cap.png", timeline.image(11), timeline.frames[11], scale=2, captions=True)
    assert w > 60 and h > 40
    snapshot = timeline.snapshot()
    timeline.add(TimelineFrame(13, 2, 3, [], [], None, np.zeros((20, 30, 3), dtype=np.uint8)))
    assert len(snapshot) == 12  # frames added meanwhile are not the export's
    seen = []
    assert (
        export_gif(tmp_path / "all.gif", snapshot, scale=1, captions=True, progress=lambda text, f: seen.append(f))
        == 12
    )
    with Image.open(tmp_path / "all.gif") as gif:
        assert gif.n_frames == 12
    assert len(seen) >= 12 and seen == sorted(seen) and 0 < seen[-1] < 1
    # Cancelled part way: nothing is written.
    assert (
        export_gif(
            tmp_path / "cancelled.gif",
            snapshot,
            should_stop=lambda: len(seen) > 15,
            progress=lambda text, f: seen.append(f),
        )
        is None
    )
    assert not (tmp_path / "cancelled.gif").exists()


def test_sample_view_keeps_captions_legible(qtbot):
    from studio.gui.timeline import SampleView, TimelineFrame

    view = SampleView()
    qtbot.addWidget(view)
    view.resize(500, 500)
    view.show()
    grid = np.zeros((12 * 34 + 2, 10 * 34 + 2, 3), dtype=np.uint8)
    frame = TimelineFrame(1, 12, 10, [f"colour{i} hair" for i in range(12)], [f"colour{i} eyes" for i in range(10)])
    view.set_frame(grid, frame)
    view.set_zoom(-1)  # the whole grid in the view ('Fit' never goes below 100% and scrolls instead)
    left, top, rotated = view.canvas.margins()
    assert rotated  # too narrow for horizontal column captions at this zoom
    assert left > 40 and top > 40
    size = view.canvas.sizeHint()
    assert size.width() <= view.viewport().width() + 1 and size.height() <= view.viewport().height() + 1
    view.set_zoom(4.0)
    assert not view.canvas.margins()[2]  # wide cells: captions lie flat


def test_worker_reports_a_bad_dataset_and_its_thread_ends(qtbot, tmp_path):
    from studio.app.training import TrainRequest
    from studio.core.config import TrainConfig
    from studio.core.events import RunError, RunFinished
    from studio.core.rundir import RunDirectory
    from studio.gui.worker import TrainingWorker, join_thread

    config = TrainConfig(dataset=f"folder:{tmp_path / 'missing'}", family="dcgan", image_size=32)
    run = RunDirectory.create(tmp_path / "runs", config)
    worker = TrainingWorker(TrainRequest(config, run=run))
    events = []
    worker.event.connect(events.append)
    with qtbot.waitSignal(worker.finished, timeout=10_000):
        thread = worker.start()
    assert join_thread(thread, 5000)
    qtbot.waitUntil(lambda: any(isinstance(e, RunFinished) for e in events), timeout=2000)
    errors = [e for e in events if isinstance(e, RunError)]
    assert errors and "missing" in errors[0].message


def test_workers_are_deleted_on_the_gui_thread(qtbot):
    # Deleted in their own thread, a worker's destructor would wait for the GIL
    # while holding a Qt lock the GUI thread may want: a deadlock seen in a
    # dataset load. Qt must delete it back on the GUI thread.
    import shiboken6
    from PySide6.QtCore import Qt, QThread

    from studio.gui.worker import Worker, join_thread

    gui = QThread.currentThread()
    deleted_on = []
    worker = Worker(lambda progress: 42)
    worker.destroyed.connect(
        lambda *_: deleted_on.append(QThread.currentThread() is gui), Qt.ConnectionType.DirectConnection
    )
    returned = []
    worker.returned.connect(returned.append)
    thread = worker.start()
    assert join_thread(thread, 5000)
    qtbot.waitUntil(lambda: not shiboken6.isValid(worker), timeout=5000)
    assert returned == [42]
    assert deleted_on == [True]


class _Sink:
    """Collects a worker's signals on the GUI thread (slots of a GUI-thread QObject arrive queued)."""

    def __init__(self):
        from PySide6.QtCore import QObject, Slot

        events = self.events = []

        class Receiver(QObject):
            @Slot()
            def started(self):
                events.append(("started",))

            @Slot(str, float)
            def progress(self, text, fraction):
                events.append(("progress", text, fraction))

            @Slot(object)
            def returned(self, value):
                events.append(("returned", value))

            @Slot(object)
            def errored(self, exc):
                events.append(("errored", exc))

            @Slot(object)
            def finished(self, value):
                events.append(("finished", value))

        self.receiver = Receiver()

    def connect(self) -> dict:
        r = self.receiver
        return {
            "started": r.started,
            "progress": r.progress,
            "returned": r.returned,
            "errored": r.errored,
            "finished": r.finished,
        }

    def names(self) -> list[str]:
        return [e[0] for e in self.events]


def test_a_worker_calls_one_function_with_progress_and_cancel(qtbot):
    import threading

    from studio.gui.worker import create_worker

    gui = threading.current_thread()
    ran_in = []
    go = threading.Event()

    def job(a, b, progress, should_stop):  # the core's convention: progress and should_stop by name
        ran_in.append(threading.current_thread())
        progress("halfway", 0.5)
        go.wait(5)
        return a + b, should_stop()

    sink = _Sink()
    worker = create_worker(job, 2, b=3, _connect=sink.connect())
    worker.cancel()
    go.set()
    assert worker.wait(5000)
    qtbot.waitUntil(lambda: "finished" in sink.names(), timeout=5000)
    assert sink.names() == ["started", "progress", "returned", "finished"]
    assert sink.events[1] == ("progress", "halfway", 0.5)
    assert sink.events[2] == ("returned", (5, True)) and sink.events[3] == ("finished", (5, True))
    assert ran_in and ran_in[0] is not gui and worker.cancelled

    def plain(x):  # takes neither: gets neither
        return x * 2

    sink2 = _Sink()
    assert create_worker(plain, 21, _connect=sink2.connect()).wait(5000)
    qtbot.waitUntil(lambda: "finished" in sink2.names(), timeout=5000)
    assert ("returned", 42) in sink2.events


def test_a_worker_reports_an_error_with_its_traceback(qtbot):
    from studio.gui.worker import create_worker, error_text

    def broken():
        raise ValueError("no such thing")

    sink = _Sink()
    assert create_worker(broken, _connect=sink.connect()).wait(5000)
    qtbot.waitUntil(lambda: "finished" in sink.names(), timeout=5000)
    assert sink.names() == ["started", "errored", "finished"]
    exc = sink.events[1][1]
    assert sink.events[2] == ("finished", None)
    text, details = error_text(exc)
    assert text == "ValueError: no such thing" and "broken" in details


def test_a_panel_job_shows_progress_and_says_how_it_ended(qtbot):
    import threading

    from PySide6.QtWidgets import QLabel, QProgressBar, QWidget

    from studio.errors import StudioError
    from studio.gui.worker import PanelJob

    panel = QWidget()
    qtbot.addWidget(panel)
    bar, status, logged, failures, done, ended = QProgressBar(panel), QLabel(panel), [], [], [], []
    jobs = PanelJob(panel, bar, status, logged.append, lambda exc: failures.append(jobs.failure(exc, "Work", "Job")))
    jobs.ended.connect(ended.append)

    def count(n, progress, should_stop):
        for i in range(n):
            progress(f"step {i}", (i + 1) / n)
        return n

    assert jobs.start("count", "Counting…", count, 4, done=done.append)
    assert jobs.busy and not jobs.start("again", "", count, 1, done=done.append)  # one at a time
    qtbot.waitUntil(lambda: ended == ["count"], timeout=5000)
    assert done == [4] and not jobs.busy and bar.value() == 100 and status.text() == "step 3"

    def refuse(progress, should_stop):
        raise StudioError("a.pt: not a checkpoint")

    assert jobs.start("refuse", "Reading…", refuse, done=done.append)
    qtbot.waitUntil(lambda: len(ended) == 2, timeout=5000)
    assert failures == [("a.pt: not a checkpoint", "")] and bar.value() == 0  # a failed job does not read as done

    release = threading.Event()

    def held(progress, should_stop):
        release.wait(5)
        if should_stop():
            raise StudioError("stopped")
        return "made"

    assert jobs.start("held", "Holding…", held, done=done.append)
    assert jobs.cancel() and status.text() == "Cancelling…"
    release.set()
    qtbot.waitUntil(lambda: len(ended) == 3, timeout=5000)
    assert failures[-1] is None and status.text() == "Work cancelled" and logged == ["Job cancelled"]
    assert bar.value() == 0 and done == [4]
    assert not jobs.cancel()  # nothing runs


def test_core_errors_carry_a_code_and_fields_and_keep_their_message():
    import pickle

    from studio.errors import ConfigError, StudioError

    plain = StudioError("x.pt: damaged")
    assert str(plain) == "x.pt: damaged" and plain.code == "" and plain.fields == {}
    coded = ConfigError("lr 2: too large; use --lr 0.0002", code="config.too_large", key="lr", value=2)
    assert str(coded) == "lr 2: too large; use --lr 0.0002"
    assert coded.code == "config.too_large" and coded.fields == {"key": "lr", "value": 2}
    copy = pickle.loads(pickle.dumps(coded))  # a data loader's process sends it whole
    assert type(copy) is ConfigError and str(copy) == str(coded)
    assert copy.code == coded.code and copy.fields == coded.fields
