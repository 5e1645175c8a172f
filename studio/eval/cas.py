"""Classification accuracy score (Ravuri & Vinyals 2019): learn the classes from generated images alone.

A classifier (the judge's network and training, :func:`studio.eval.judge.train_judge`)
is trained on ``n`` generated images labelled with the conditions they were
drawn for, then scored on real images it never saw. A generator whose images
show their conditions and the real variety within each class gives a
classifier that reads real images well; one that collapses or draws the wrong
class does not. The same network trained on real images (the dataset judge's
held-out accuracy) is the ceiling to compare with.

The training is bounded: the judge's schedule (5 epochs, or as many as make
2,000 steps of 32 images, at most 50), or ``epochs``; progress is reported per
10 steps and ``should_stop`` is polled at each.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from studio.eval.conditional import draw_conditions, generate_batches
from studio.eval.judge import Progress, check_stop, default_epochs, headline, score_predictions, train_judge

__all__ = ["CasResult", "classification_accuracy_score"]


@dataclass
class CasResult:
    scores: dict[str, float]  # on real images, as a judge's scores: accuracy, or per attribute and all
    generated_scores: dict[str, float]  # on held-out generated images (what the classifier learnt of G's images)
    n: int  # generated images it trained and was checked on
    n_real: int  # real images it was tested on
    epochs: int
    seconds: float

    @property
    def headline(self) -> float:
        return headline(self.scores)


class _GeneratedImages:
    """Generated images as a labelled set the judge's training takes (uint8, as if saved to files)."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, space):
        self.images = images
        self.labels = labels
        self.space = space
        self.spec = "generated images"
        self.channels = images.shape[1]
        self.image_size = images.shape[-1]

    def __len__(self) -> int:
        return len(self.images)


def classification_accuracy_score(
    generator: torch.nn.Module,
    space,
    nz: int,
    dataset,
    real_index: torch.Tensor,
    n: int = 2000,
    epochs: int | None = None,
    batch_size: int = 250,
    seed: int = 0,
    device: str | torch.device = "cpu",
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> CasResult:
    """Train a classifier on ``n`` images of ``generator`` and score it on the real images ``real_index`` names."""
    labels = draw_conditions(space, n, dataset, seed + 23)
    images = []
    for _, batch in generate_batches(
        generator, space, nz, labels, batch_size, seed + 29, progress, should_stop, "CAS: generating images"
    ):
        images.append(batch.add(1).mul_(127.5).round_().clamp_(0, 255).to(torch.uint8).cpu())
    generated = _GeneratedImages(torch.cat(images), labels, space)

    def training_progress(message: str, fraction: float) -> None:
        if progress is not None:
            progress(message.replace("training the judge", "CAS: training a classifier on generated images"), fraction)

    classifier = train_judge(
        generated,
        epochs=epochs,
        seed=seed,
        device=device,
        progress=training_progress,
        should_stop=should_stop,
    )
    check_stop(should_stop, "classification accuracy score")
    real = dataset.images[real_index].float().div(127.5).sub(1.0)
    scores = score_predictions(space, classifier.logits(real), dataset.labels[real_index])
    n_train = len(generated) - classifier.heldout_n
    epochs = epochs or default_epochs(n_train, max(2, min(32, n_train)))
    return CasResult(
        scores, dict(classifier.heldout), len(generated), len(real_index), epochs, classifier.train_seconds
    )
