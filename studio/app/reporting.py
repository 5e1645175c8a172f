"""Text both front ends show: the per-epoch log line, a run's size, a run's checkpoints.

The command line prints these lines, the window puts them in its log; the
wording lives here once so the two never drift apart.
"""

from __future__ import annotations

__all__ = ["MISSING", "alarm_line", "best_lines", "epoch_line", "model_text", "figure", "checkpoint_lines", "spans"]

MISSING = "–"  # a figure the epoch did not have (no G step, no auxiliary classifier)


def figure(values: dict, key: str, fmt: str = ".3f", missing: str = MISSING) -> str:
    """``values[key]`` formatted, or ``missing`` when it is absent or None."""
    value = values.get(key)
    return missing if value is None else format(value, fmt)


def epoch_line(event, sample_path: bool = False, missing: str = MISSING) -> str:
    """One line per finished epoch (an :class:`~studio.core.events.EpochEnd`): losses, D's outputs, speed.

    ``sample_path`` adds where the epoch's sample grid was written; ``missing``
    stands for a figure the epoch lacks (the command line prints ASCII, which
    every terminal encoding can write).
    """
    m = event.means

    def f(key: str, fmt: str = ".3f") -> str:
        return figure(m, key, fmt, missing)

    line = (
        f"epoch {event.epoch}: D {f('d_loss')}  G {f('g_loss')}  D(x) {f('d_x', '.2f')}  "
        f"D(G(z)) {f('d_g_z1', '.2f')}/{f('d_g_z2', '.2f')}"
    )
    if m.get("aux_acc_real") is not None:
        line += f"  aux acc {f('aux_acc_real', '.2f')}/{f('aux_acc_fake', '.2f')}"
    line += f"  {event.images_per_second:.0f} img/s  {event.seconds:.1f} s"
    if sample_path and event.sample_path:
        line += f" -> {event.sample_path}"
    return line


def model_text(event) -> str:
    """What a run trains (a :class:`~studio.core.events.RunStarted`): parameters, steps per epoch, augmentation."""
    augment = getattr(event, "augment", "")
    return (
        f"G {event.g_parameters:,} / D {event.d_parameters:,} parameters, "
        f"{event.steps_per_epoch} steps of {event.batch_size} per epoch"
    ) + (f", DiffAugment {augment}" if augment and augment != "off" else "")


def checkpoint_lines(listing) -> list[str]:
    """A run's checkpoints as the lab lists them (a :class:`~studio.app.checkpoints.RunListing`).

    Each epoch's generator: file, epoch, whether the full (resumable) checkpoint is kept ('full',
    'pinned') or only the slim snapshot ('snap'), time saved, the epoch's losses and any
    evaluation figures; then the run's EMA and saved averages.
    """
    from studio.core.events import METRIC_NAMES

    lines = [] if listing.entries else [f"  no checkpoints in {listing.run.checkpoints_dir}"]
    shown = ("d_loss", "g_loss", "aux_acc_real", "aux_acc_fake")
    routine = set(METRIC_NAMES) | {"g_lr", "d_lr", "seconds", "images_per_second"}
    for e in listing.entries:
        figures = "  ".join(f"{k} {e.metrics[k]:.3f}" for k in shown if isinstance(e.metrics.get(k), (int, float)))
        figures += "".join(f"  {k} {e.metrics[k]:.4g}" for k in sorted(set(e.metrics) - routine))
        step = "" if e.complete_epoch else f" step {e.step_in_epoch}"
        # full: resumable (the last K, and pinned ones); snap: the epoch's slim generator snapshot only.
        kept = ("pinned" if e.pinned else "full") if e.resumable else "snap"
        lines.append(f"  {e.path.name:28s} epoch {e.epoch:4d}{step}  {kept:6s}  {e.saved_text}  {figures}".rstrip())
    for ref in listing.generators:
        if ref.kind != "checkpoint":
            lines.append(f"  {ref.path.name:28s} {ref.label}")
    return lines + best_lines(listing.run)


def best_lines(run) -> list[str]:
    """The best generators a run kept by its measured score (checkpoints/best/), and the one marked for use."""
    from studio.core.monitor import BEST_DIR, best_index
    from studio.errors import StudioError

    try:
        index = best_index(run.checkpoints_dir)
    except StudioError as exc:
        return [f"  best generators: {exc}"]
    lines = []
    if index["entries"]:
        lines.append(f"  best by {index['best_by']} (average them with --best N):")
    for e in index["entries"]:
        scores = "  ".join(f"{k} {v:.4g}" for k, v in e.get("scores", {}).items() if isinstance(v, (int, float)))
        which = "EMA" if e["which"] == "ema" else "G"
        lines.append(f"    {BEST_DIR}/{e['file']:24s} epoch {e['epoch']:4d}  {which}  {scores}")
    marked = index.get("marked")
    if marked:
        where = f"{marked.get('file')} (epoch {marked.get('epoch')})"
        lines.append(f"  marked for use: {where}: {marked.get('reason', '')}")
    return lines


def spans(epochs) -> str:
    """[1, 2, 3, 7] -> '1-3, 7'."""
    epochs = sorted(set(epochs))
    parts, i = [], 0
    while i < len(epochs):
        j = i
        while j + 1 < len(epochs) and epochs[j + 1] == epochs[j] + 1:
            j += 1
        parts.append(str(epochs[i]) if i == j else f"{epochs[i]}-{epochs[j]}")
        i = j + 1
    return ", ".join(parts)


_ALARM_ACTIONS = {
    "stop": "the run stops with a checkpoint",
    "stop-and-mark-best": "the run stops with a checkpoint",
}


def alarm_line(event) -> str:
    """One line for a :class:`~studio.core.events.RunAlarm`: what was seen, since when, and what happens now."""
    line = f"ALARM at epoch {event.epoch}: {event.message}"
    if event.action in _ALARM_ACTIONS:
        line += f"; {_ALARM_ACTIONS[event.action]}"
    if event.marked:
        line += f"; marked as the one to use: {event.marked}"
    return line
