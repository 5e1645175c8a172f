"""One way of counting a run's epochs, for every text the window and the command line show.

"N of M epochs done" counts complete epochs against the planned total; the epoch in
progress is named by its number ("step 18 of epoch 1"), as checkpoint files are
(``epoch_0001_step_000018.pt``: 18 steps into epoch 1). Continuing a run to more
epochs records the new plan in its ``config.json``, so a continued run never reads
"16 of 6"; runs continued before that rule still show a plan of at least what they did.
"""

from __future__ import annotations

import time
from pathlib import Path

__all__ = [
    "planned_epochs",
    "done_text",
    "progress_texts",
    "counts_text",
    "finish_text",
    "time_left_text",
    "record_planned_epochs",
]


def planned_epochs(done: int, planned: int) -> int:
    """The total a run aims at: its settings' epochs, or what it has done when it was continued further."""
    return max(int(done), int(planned))


def done_text(done: int, planned: int) -> str:
    """'3 of 6 epochs done'."""
    return f"{done} of {planned_epochs(done, planned)} epochs done"


def progress_texts(done: int, planned: int, epoch_step: int, steps_per_epoch: int, step: int, total_steps: int):
    """(epoch bar, run bar) texts of a run with ``done`` complete epochs and ``epoch_step`` steps into the next."""
    planned = planned_epochs(done, planned)
    if done >= planned:
        epoch_text = f"epoch {done} done"
    else:
        epoch_text = f"epoch {done + 1}: step {epoch_step:,} of {steps_per_epoch:,}"
    run_text = f"{done} of {planned} epochs done (step {step:,} of {total_steps:,})"
    return epoch_text, run_text


def counts_text(done: int, planned: int, step: int, steps_per_epoch: int | None = None) -> str:
    """'0 of 4 epochs done, at step 18 of epoch 1': the complete epochs, and how far into the next one."""
    text = done_text(done, planned)
    into = step - done * steps_per_epoch if steps_per_epoch else 0
    if 0 < into < (steps_per_epoch or 0):
        text += f", at step {into:,} of epoch {done + 1}"
    return text


def finish_text(reason: str, done: int, planned: int, step: int, steps_per_epoch: int | None = None) -> str:
    """How a run ended: 'run stopped: 0 of 4 epochs done, at step 18 of epoch 1 (18 steps in all)'."""
    what = {"completed": "run completed", "stopped": "run stopped", "error": "run failed"}.get(reason, f"run {reason}")
    return f"{what}: {counts_text(done, planned, step, steps_per_epoch)} ({step:,} steps in all)"


def time_left_text(seconds: float | None, now: float | None = None) -> str:
    """'19 min left, done at 21:14' (the clock time only for waits of a minute or more)."""
    if seconds is None or seconds != seconds or seconds < 0:
        return ""
    if seconds < 60:
        return f"{max(1, round(seconds))} s left"
    minutes = round(seconds / 60)
    if minutes < 60:
        left = f"{minutes} min left"
    else:
        hours, minutes = divmod(minutes, 60)
        left = f"{hours} h {minutes:02d} min left"
    end = time.localtime((time.time() if now is None else now) + seconds)
    day = "" if seconds < 12 * 3600 else time.strftime("%a ", end)
    return f"{left}, done at {day}{time.strftime('%H:%M', end)}"


def record_planned_epochs(run, epochs: int) -> bool:
    """Write ``epochs`` as ``run``'s planned total into its config.json (atomically) when it differs.

    Only the ``epochs`` entry changes; every other setting stays as the run was made.
    Returns whether the file changed.
    """
    from studio.core.atomic import atomic_write_json
    from studio.core.jsonio import read_json

    path = Path(run.config_path)
    data = read_json(path, what="run settings file")
    if not isinstance(data, dict) or data.get("epochs") == epochs:
        return False
    data["epochs"] = int(epochs)
    atomic_write_json(path, data)
    return True


def saved_progress(run, planned: int, last_step: int) -> tuple[int, int, int, int, int]:
    """(done, planned, steps into the next epoch, steps per epoch, step) of a run from its files,
    so a reopened run shows its progress rather than blank bars."""
    from studio.app.checkpoints import RunState

    done = RunState.of(run).epochs_done
    ends = [r for r in run.read_metrics(warn=False) if r.get("kind") == "epoch" and r.get("epoch")]
    steps_per_epoch = 0
    if ends:
        first = ends[0]
        steps_per_epoch = max(1, round(float(first.get("step", 0)) / float(first["epoch"])))
    step = max(int(last_step), int(ends[-1].get("step", 0)) if ends else 0)
    if not steps_per_epoch:
        steps_per_epoch = max(step, 1)
    into = max(0, min(step - done * steps_per_epoch, steps_per_epoch))
    return done, planned_epochs(done, planned), into, steps_per_epoch, step
