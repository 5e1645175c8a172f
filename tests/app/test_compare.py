"""The comparison sheet: which generators, what each is called, and the same noise through each."""

import numpy as np
import pytest
from PIL import Image

from studio.app.checkpoints import AverageRequest, average
from studio.app.common import Cancelled, OutputExists
from studio.app.compare import (
    CompareRequest,
    average_and_compare,
    compare,
    comparison_generators,
    sheet_label,
)
from studio.core.averaging import GeneratorRef
from studio.core.explore import NoiseSettings, class_rows
from studio.errors import StudioError
from studio.eval.evaluate import generator_ref


@pytest.fixture(scope="module")
def averaged(ema_run):
    """Two saved averages of the run: epochs 1-2, then 2-3 (the newest)."""
    paths = [
        average(AverageRequest(ema_run, epochs=span, bn_batches=2, bn_batch_size=4)).path for span in ("1-2", "2-3")
    ]
    yield paths
    for path in paths:
        path.unlink()


def test_one_label_formula_names_the_last_checkpoint(ema_run, averaged):
    labels = [label for label, _ in comparison_generators(ema_run)]
    assert labels == ["last checkpoint (epoch 3)", "average of epochs 2-3", "EMA at epoch 3"]
    everything = [label for label, _ in comparison_generators(ema_run, "all")]
    assert everything == [
        "last checkpoint (epoch 3)",
        "average of epochs 1-2",
        "average of epochs 2-3",
        "EMA at epoch 3",
    ]
    chosen = [label for label, _ in comparison_generators(ema_run, [averaged[0]])]
    assert chosen == ["last checkpoint (epoch 3)", "average of epochs 1-2", "EMA at epoch 3"]
    ref = GeneratorRef(averaged[0], "g", "average of epochs 1-2", "average")
    assert sheet_label(ref) == "average of epochs 1-2"


def test_a_chosen_generator_comes_first_unless_it_is_shown_already(ema_run, averaged):
    older = generator_ref(ema_run.checkpoint_path(1))
    labels = [label for label, _ in comparison_generators(ema_run, "newest", older)]
    assert labels == ["epoch_0001.pt", "last checkpoint (epoch 3)", "average of epochs 2-3", "EMA at epoch 3"]
    ema = generator_ref(ema_run.checkpoint_path(3), ema=True)
    assert len(comparison_generators(ema_run, "newest", ema)) == 3
    with pytest.raises(StudioError, match="'newest', 'all'"):
        comparison_generators(ema_run, "latest")


def test_compare_draws_the_same_grid_through_each_generator(ema_run, averaged, tmp_path):
    seen = []
    comparison = compare(
        CompareRequest(ema_run, samples=3, noise=NoiseSettings(seed=5)),
        progress=lambda text, fraction: seen.append((text, fraction)),
    )
    assert comparison.titles == ["last checkpoint (epoch 3)", "average of epochs 2-3", "EMA at epoch 3"]
    assert comparison.layout.rows == 4 and comparison.layout.cols == 3 and comparison.seed == 5
    arrays = comparison.arrays()
    assert len({a.shape for a in arrays}) == 1 and arrays[0].dtype == np.uint8
    assert not np.array_equal(arrays[0], arrays[1])  # the average draws other images from the same noise
    assert seen[0] == ("drawing last checkpoint (epoch 3)", 0.0) and seen[-1][1] == 1.0
    assert comparison.title() == f"{ema_run.run_id}: {comparison.layout.title}, seed 5"

    path = tmp_path / "sheet.png"
    image = comparison.save(path)
    assert Image.open(path).size == image.size and image.width > 3 * arrays[0].shape[1]
    with pytest.raises(OutputExists, match="already exists"):
        comparison.save(path)


def test_a_generator_in_memory_is_drawn_as_it_is(ema_run, averaged):
    from studio.core.averaging import load_generator

    last = comparison_generators(ema_run)[0][1]
    other, _, _ = load_generator(GeneratorRef(ema_run.checkpoint_path(1)))
    drawn = compare(CompareRequest(ema_run, averages=[averaged[1]], samples=2))
    swapped = compare(CompareRequest(ema_run, averages=[averaged[1]], samples=2, loaded={last.path: other}))
    first = compare(CompareRequest(ema_run, chosen=generator_ref(ema_run.checkpoint_path(1)), samples=2))
    assert np.array_equal(swapped.arrays()[0], first.arrays()[0])
    assert not np.array_equal(swapped.arrays()[0], drawn.arrays()[0])


def test_a_layout_of_another_space_or_a_stop_is_refused(ema_run, averaged, project):
    from helpers import SPACES

    other = SPACES["multi-label"]
    with pytest.raises(StudioError, match="condition space differs"):
        compare(CompareRequest(ema_run, space=other, layout=class_rows(SPACES["categorical"], None, 2)))
    with pytest.raises(Cancelled, match="comparison cancelled"):
        compare(CompareRequest(ema_run), should_stop=lambda: True)
    with pytest.raises(StudioError, match="no generators to compare yet"):
        compare(CompareRequest(project.runs_dir / "nothing"))


def test_a_fresh_average_is_compared_from_memory_and_a_stop_keeps_it(ema_run):
    request = AverageRequest(
        ema_run, checkpoints=["epoch_0001.pt", "epoch_0003.pt"], bn_batches=2, bn_batch_size=4, unique_name=True
    )
    outcome, comparison = average_and_compare(request, seed=3)
    try:
        assert comparison.titles == ["last checkpoint (epoch 3)", "average 2 epochs 0001-0003", "EMA at epoch 3"]
        assert comparison.refs[1].path == outcome.path and comparison.seed == 3
    finally:
        outcome.path.unlink()

    def stop_after_saving():
        return any(p.name.startswith("average_2_") for p in ema_run.checkpoints_dir.iterdir())

    outcome, comparison = average_and_compare(request, should_stop=stop_after_saving)
    try:
        assert comparison is None and outcome.path.is_file()
    finally:
        outcome.path.unlink()
