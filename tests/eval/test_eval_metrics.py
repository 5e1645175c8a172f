"""Conditional accuracy, the multi-label metric, FID/KID/IS through torchmetrics, and test-condition files."""

from __future__ import annotations

import json

import pytest
import torch

from studio.core.conditions import MultiAttribute, MultiLabel
from studio.data.dataset import ImageDataset
from studio.errors import StudioError
from studio.eval.conditional import conditional_accuracy, load_conditions, real_accuracy
from studio.eval.judge import EvaluationCancelled, score_predictions
from studio.eval.quality import (
    FeatureSpace,
    image_quality,
    inception_features,
    judge_features,
    quality_from_features,
    real_features,
)


def _with_moments(mean: torch.Tensor, cov: torch.Tensor) -> torch.Tensor:
    """Points whose sample mean and (unbiased) covariance are exactly ``mean`` and ``cov``."""
    d = len(mean)
    base = torch.cat([torch.eye(d), -torch.eye(d)]).double() * (2 * d - 1) ** 0.5 / 2**0.5  # mean 0, cov I
    return mean.double() + base @ torch.linalg.cholesky(cov.double()).T


def test_fid_matches_the_closed_form_for_gaussians():
    # N(0, I) vs N(1, 4I) in 2-d: |mu|^2 + tr(I + 4I - 2 * 2I) = 2 + 2
    a = _with_moments(torch.zeros(2), torch.eye(2))
    b = _with_moments(torch.ones(2), 4 * torch.eye(2))
    assert quality_from_features(a, b, ("fid",))["fid"] == pytest.approx(4.0, abs=1e-4)
    # Diagonal covariances: the mean gap plus sum (sqrt s1 - sqrt s2)^2.
    s1, s2 = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 4.0, 1.0])
    a = _with_moments(torch.zeros(3), torch.diag(s1))
    b = _with_moments(torch.tensor([1.0, 0.0, 0.0]), torch.diag(s2))
    expected = 1.0 + ((s1.sqrt() - s2.sqrt()) ** 2).sum().item()
    assert quality_from_features(a, b, ("fid",))["fid"] == pytest.approx(expected, abs=1e-4)


def test_real_images_scored_as_if_generated_match_the_judge(digits, digits_judge, images_generator):
    real = real_accuracy(digits, digits_judge, n=1000)
    fake = conditional_accuracy(images_generator(digits), digits.space, 4, digits_judge, n=1000, dataset=digits)
    assert real.scores["accuracy"] >= 0.98
    assert abs(fake.scores["accuracy"] - real.scores["accuracy"]) < 0.03
    assert fake.n == 1000 and set(fake.per_class) == set(digits.space.names)
    assert fake.judge_id == digits_judge.id and fake.conditions == "drawn as the dataset's labels"


def test_fid_and_kid_are_near_zero_for_the_same_set_and_grow_with_noise(digits, digits_judge, images_generator):
    space = judge_features(digits_judge)
    assert space.name == f"judge:{digits_judge.name}#{digits_judge.id}" and "not across datasets" in space.comparable
    real = real_features(digits, space, n_real=1000)
    assert quality_from_features(real, real, ("fid",))["fid"] == pytest.approx(0.0, abs=1e-6)
    # KID's unbiased estimate needs two disjoint samples of one distribution: then it is 0 within its spread.
    halves = quality_from_features(real[:500], real[500:], ("kid",), kid_subset_size=250)
    assert abs(halves["kid"]) < 3 * halves["kid_std"]
    # Fresh draws of the same set differ only by sampling; noise moves the images off it.
    scores = [
        image_quality(
            images_generator(digits, noise), digits.space, 4, digits, space, ("fid", "kid", "is"), n=500, n_real=1000
        ).metrics
        for noise in (0.0, 0.3, 0.6)
    ]
    assert scores[0]["fid"] < 0.2 * scores[2]["fid"]
    assert scores[0]["fid"] < scores[1]["fid"] < scores[2]["fid"]
    assert scores[0]["kid"] < scores[1]["kid"] < scores[2]["kid"]
    assert scores[2]["kid"] > 10 * abs(halves["kid"])
    # IS in judge features: ten evenly drawn classes read with confidence approach 10; noise makes the judge unsure.
    assert scores[0]["is"] > 7.0 and scores[2]["is"] < scores[0]["is"]


def test_kid_and_is_repeat_for_the_same_features_and_leave_the_global_random_stream_alone():
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(120, 8, generator=g), torch.randn(120, 8, generator=g) + 0.3
    logits = torch.randn(120, 5, generator=g)
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = quality_from_features(real, fake, ("kid", "is"), logits, kid_subsets=10, kid_subset_size=30)
    assert torch.equal(torch.rand(3), expected_next)  # the caller's stream did not move
    again = quality_from_features(real, fake, ("kid", "is"), logits, kid_subsets=10, kid_subset_size=30)
    assert again == first
    other = quality_from_features(real, fake, ("kid", "is"), logits, kid_subsets=10, kid_subset_size=30, seed=1)
    assert other["kid"] != first["kid"]


def test_real_features_are_cached_per_dataset_and_feature_space(digits, digits_judge, _private_cache):
    calls = []

    def features(images):
        calls.append(len(images))
        return images.flatten(1)[:, :4]

    space = FeatureSpace("probe", features, None, "this test", "probe-cache")
    first = real_features(digits, space, n_real=50)
    assert sum(calls) == 50 and list((_private_cache / "stats").glob("probe-cache-*.pt"))
    assert torch.equal(real_features(digits, space, n_real=50), first) and sum(calls) == 50
    # A damaged cache file is recomputed, never trusted.
    for path in (_private_cache / "stats").glob("probe-cache-*.pt"):
        path.write_bytes(b"garbage")
    assert torch.equal(real_features(digits, space, n_real=50), first) and sum(calls) == 100
    # Same spec and size, other images (a folder whose files changed): measured afresh.
    changed = ImageDataset(255 - digits.images, digits.labels, digits.space, digits.spec)
    assert not torch.equal(real_features(changed, space, n_real=50), first) and sum(calls) == 150


def test_inception_score_needs_class_logits(digits, images_generator):
    space = FeatureSpace("probe", lambda x: x.flatten(1)[:, :8], None, "this test", "probe-is")
    with pytest.raises(StudioError, match="IS needs class logits"):
        image_quality(images_generator(digits), digits.space, 4, digits, space, ("is",), n=20, n_real=20)


def test_inception_weights_that_are_not_there_or_not_weights_are_named(tmp_path):
    weights = tmp_path / "inception.pth"
    with pytest.raises(StudioError, match="inception.pth: no such Inception weights file"):
        inception_features(weights)
    # torch-fidelity would unpickle the file as it is; a file holding more than tensors never reaches it.
    torch.save({"conv.weight": torch.zeros(1), "hook": MultiLabel(["a", "b"], 1, 1)}, weights)
    with pytest.raises(StudioError, match="inception.pth: refused to load, it holds more than weights"):
        inception_features(weights)
    weights.write_bytes(b"not weights")
    with pytest.raises(StudioError, match="inception.pth: damaged or not a PyTorch weights file"):
        inception_features(weights)
    torch.save({"conv.weight": torch.zeros(1)}, weights)
    with pytest.raises(StudioError, match="cannot load the Inception weights from .*inception.pth"):
        inception_features(weights, with_logits=False)


def test_evaluation_stops_when_asked(digits, digits_judge, images_generator):
    with pytest.raises(EvaluationCancelled, match="conditional accuracy cancelled"):
        conditional_accuracy(images_generator(digits), digits.space, 4, digits_judge, n=100, should_stop=lambda: True)


def test_multi_label_metric_on_hand_made_cases():
    space = MultiLabel(["a", "b", "c", "d"], 1, 3)
    labels = torch.tensor([[1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 1, 1]], dtype=torch.float32)
    logits = torch.tensor(
        [
            [5.0, 4.0, -1.0, -2.0],  # both requested objects in the top 2: 2 of 2; reads a, b
            [3.0, -1.0, 2.0, -3.0],  # top 1 is 'a', 'c' was asked: 0 of 1; reads a, c
            [3.0, 2.0, 1.0, -1.0],  # top 3 a, b, c; asked a, c, d: 2 of 3; reads a, b, c
        ]
    )
    scores = score_predictions(space, logits, labels)
    # The i-CLEVR evaluator counts objects: 4 found of 6 requested (not the mean of 1, 0, 2/3 per image).
    assert scores["accuracy"] == pytest.approx(4 / 6)
    # F1 of what the judge reads (logit > 0): tp 2 + 1 + 2, fp 0 + 1 + 1, fn 0 + 0 + 1 -> 10 / 13
    assert scores["f1"] == pytest.approx(10 / 13)
    perfect = score_predictions(space, labels * 10 - 5, labels)
    assert perfect == {"accuracy": pytest.approx(1.0), "f1": pytest.approx(1.0)}


def test_multi_attribute_scores_each_attribute():
    space = MultiAttribute([("hair", ["red", "blue"]), ("eyes", ["black", "brown", "green"])])
    labels = torch.tensor([[0, 1], [1, 2], [1, 0]])
    logits = torch.tensor([[3.0, 0, 0, 5, 0], [0, 3.0, 0, 0, 4], [3.0, 0, 9, 0, 0]])
    scores = score_predictions(space, logits, labels)
    assert scores == {"hair": pytest.approx(2 / 3), "eyes": pytest.approx(1.0), "all": pytest.approx(2 / 3)}


def test_test_conditions_load_from_json(tmp_path, shared_data):
    space = MultiLabel(json.loads((shared_data / "iclevr" / "objects.json").read_text()), 1, 3)
    labels = load_conditions(shared_data / "iclevr" / "test.json", space)
    assert labels.shape == (32, 24) and labels.sum() == 72  # the 72 objects the recipe's 84.31% is of
    assert labels.sum(1).min() >= 1 and labels.sum(1).max() <= 3
    first = json.loads((shared_data / "iclevr" / "test.json").read_text())[0]
    assert space.caption(labels[0]).split(", ") == sorted(first, key=space.names.index)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([["gray cube"], ["golden pyramid"]]))
    with pytest.raises(StudioError, match="bad.json: condition 2"):
        load_conditions(bad, space)
    bad.write_text("{not json")
    with pytest.raises(StudioError, match=r"bad\.json: damaged list of conditions \(.* at line 1"):
        load_conditions(bad, space)
    # Nested too deeply for json (a RecursionError inside it): the same one-line error naming the file.
    bad.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(StudioError) as info:
        load_conditions(bad, space)
    assert str(info.value) == f"{bad}: damaged list of conditions (nested too deeply to read)"


def test_appends_from_several_writers_keep_every_row(tmp_path):
    import os
    import threading

    from filelock import FileLock

    from studio.eval.results import append_results, load_results, make_row

    def writer(k: int) -> None:  # the window and a command-line evaluation of the same run
        for i in range(20):
            append_results(tmp_path, [make_row(f"g{k}", "", "g", i, "fid", float(i), 1)])

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = load_results(tmp_path)
    assert sorted((r["generator"], r["epoch"]) for r in rows) == sorted(
        (f"g{k}", i) for k in range(4) for i in range(20)
    )
    lock = tmp_path / "evaluation" / "results.lock"
    probe = FileLock(lock)
    probe.acquire(timeout=0)  # free at once: each append released it (Timeout otherwise)
    probe.release()
    # The file a writer that died left behind holds no lock: the next append goes through.
    os.utime(lock, (0, 0))
    append_results(tmp_path, [make_row("late", "", "g", 1, "fid", 1.0, 1)])
    assert load_results(tmp_path)[-1]["generator"] == "late"
    # While another writer holds the lock, an append waits for it rather than writing over its rows.
    held = FileLock(lock)
    held.acquire()
    waiting = threading.Thread(target=append_results, args=(tmp_path, [make_row("after", "", "g", 2, "fid", 2.0, 1)]))
    waiting.start()
    waiting.join(0.3)
    assert waiting.is_alive() and load_results(tmp_path)[-1]["generator"] == "late"
    held.release()
    waiting.join()
    assert load_results(tmp_path)[-1]["generator"] == "after"


def test_damaged_results_are_one_error_naming_the_file_and_left_as_they_are(tmp_path):
    from studio.eval.results import append_results, load_results, make_row, results_path

    path = results_path(tmp_path)
    path.parent.mkdir(parents=True)
    deep = "[" * 100_000 + "]" * 100_000
    path.write_text(deep)
    with pytest.raises(StudioError) as info:
        load_results(tmp_path)
    assert str(info.value) == f"{path}: damaged evaluation results (nested too deeply to read); it was left as it is"
    with pytest.raises(StudioError, match="nested too deeply"):
        append_results(tmp_path, [make_row("g", "", "g", 1, "fid", 1.0, 1)])
    assert path.read_text() == deep


def test_a_nan_figure_is_stored_as_null_in_strict_json(tmp_path):
    from studio.eval.results import append_results, load_results, make_row, results_path

    def refuse(word: str):
        raise ValueError(f"not strict JSON: {word}")

    # A KID of too few images comes out NaN; Python's json would write a bare NaN no other reader takes.
    append_results(
        tmp_path,
        [
            make_row("g", "", "g", 1, "kid", float("nan"), 2),
            make_row("g", "", "g", 1, "fid", float("inf"), 2),
            make_row("g", "", "g", 1, "is", 1.5, 2),
        ],
    )
    text = results_path(tmp_path).read_text()
    rows = json.loads(text, parse_constant=refuse)
    assert [r["value"] for r in rows] == [None, None, 1.5]
    assert [r["value"] for r in load_results(tmp_path)] == [None, None, 1.5]
    # The spreadsheet copy shows an empty cell, and a later append keeps the row as it was.
    assert results_path(tmp_path).with_suffix(".csv").read_text().splitlines()[1].split(",")[6] == ""
    append_results(tmp_path, [make_row("g", "", "g", 2, "kid", 0.25, 2)])
    assert [r["value"] for r in load_results(tmp_path)] == [None, None, 1.5, 0.25]
