"""The collapse alarm's figures per epoch, for a healthy run and runs made to collapse on purpose.

    python benchmarks/collapse_alarm.py acgan-digits --epochs 8 --size 3000
    python benchmarks/collapse_alarm.py acgan-digits --epochs 8 --size 3000 --ignore-z-from 4
    python benchmarks/collapse_alarm.py acgan-digits --epochs 8 --size 3000 --set d_lr=0.005
    python benchmarks/collapse_alarm.py acgan-digits --epochs 8 --ignore-condition-from 5

Prints, per epoch: D(x), D(G(z)), the steps D's separation has stayed above
the alarm's threshold, the diversity share in the judge's features (when the
dataset's judge is stored) and in 16x16 pixels, the judge's accuracy, and
any alarm raised. ``--ignore-z-from E`` makes G ignore z from epoch E on
(every noise vector replaced by one fixed vector), the collapse the alarm
must see. ``--ignore-condition-from E`` makes G draw every image with the
condition of the first one from epoch E on (G stops following the condition:
the judge's accuracy falls while diversity may not). The alarm only reports
here (on_alarm none).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import torch

    from studio.app.run_health import judging_for_run
    from studio.core.device import resolve_device
    from studio.core.events import EpochEnd, RunAlarm, RunStarted
    from studio.core.monitor import HealthProbe
    from studio.core.rundir import RunDirectory
    from studio.core.trainer import Trainer
    from studio.data.dataset import load_dataset
    from studio.presets import load_preset

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("preset")
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--size", type=int, default=0, help="dataset_size (0: the set's default)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    p.add_argument("--ignore-z-from", type=int, default=0, metavar="E")
    p.add_argument("--ignore-condition-from", type=int, default=0, metavar="E")
    p.add_argument("--no-judge", action="store_true", help="measure in pixels only")
    args = p.parse_args()

    config = load_preset(args.preset).config
    changes = {"epochs": args.epochs, "dataset_size": args.size, "on_alarm": "none"}
    for item in args.set:
        key, _, value = item.partition("=")
        changes[key] = json.loads(value)
    config = config.replace(**changes)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    dataset = load_dataset(config.dataset, config.image_size, config.channels, config.dataset_size)
    device = resolve_device(config.device)
    judging = None if args.no_judge else judging_for_run(config, dataset, device, print)
    pixels = HealthProbe(dataset, dataset.space, config.nz, None, seed=config.seed)
    run = RunDirectory.create(tempfile.mkdtemp(prefix="collapse-"), config, run_id="run")
    state = {"ignore": False, "ignore_condition": False}
    holder = {}

    def on_event(event) -> None:
        if isinstance(event, RunStarted):
            g = holder["trainer"].g
            fixed = torch.randn(1, config.nz, generator=torch.Generator().manual_seed(1)).to(device)

            def same_z(module, inputs):
                z, cond = inputs
                if state["ignore"]:
                    z = fixed.expand_as(z).contiguous()
                if state["ignore_condition"] and len(cond):
                    cond = cond[:1].expand_as(cond).contiguous()
                return z, cond

            g.register_forward_pre_hook(same_z)
            print(
                f"{len(dataset)} images, {event.steps_per_epoch} steps per epoch, features: "
                f"{'judge' if judging and judging.features else 'pixels'}"
            )
            print("epoch  D(x)  D(G(z))  gap_held  div_judge  div_pixels  judge_acc  seconds")
        elif isinstance(event, EpochEnd):
            m = event.means
            pix = pixels.measure(holder["trainer"].g)["diversity"]
            div = m.get("diversity") if judging and judging.features else None
            acc = m.get("judge_acc")
            print(
                f"{event.epoch:5d}  {m['d_x']:.3f}  {m['d_g_z1']:.3f}  {m.get('d_gap_steps', 0):8d}  "
                f"{'-' if div is None else f'{div:.3f}':>9}  {pix:10.3f}  {'-' if acc is None else f'{acc:.3f}':>9}"
                f"  {event.seconds:7.1f}",
                flush=True,
            )
            if args.ignore_z_from and event.epoch + 1 >= args.ignore_z_from:
                state["ignore"] = True
            if args.ignore_condition_from and event.epoch + 1 >= args.ignore_condition_from:
                state["ignore_condition"] = True
        elif isinstance(event, RunAlarm):
            print(f"  ALARM ({event.kind}) at epoch {event.epoch}: {event.message}", flush=True)

    trainer = Trainer(config, dataset, run, on_event, judging=judging)
    holder["trainer"] = trainer
    started = time.perf_counter()
    finished = trainer.run()
    print(f"{finished.reason} after {time.perf_counter() - started:.0f} s; run folder {run.path}")


if __name__ == "__main__":
    main()
