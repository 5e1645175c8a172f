"""Evaluation: judges, conditional accuracy, FID/KID/IS and stored results."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from studio.core.conditions import Categorical, MultiAttribute, MultiLabel
from studio.data.dataset import load_dataset
from studio.errors import StudioError
from studio.eval.conditional import conditional_accuracy, load_conditions, real_accuracy
from studio.eval.judge import load_judge, save_judge, score_predictions, train_judge
from studio.eval.quality import FeatureSpace, frechet_distance, image_quality, judge_features
from studio.eval.results import append_results, load_results, make_row


@pytest.fixture(scope="module")
def digits():
    return load_dataset("builtin:digits", 32, 3, size=4000)


@pytest.fixture(scope="module")
def digits_judge(digits):
    return train_judge(digits, epochs=8, width=16, seed=0)


def test_frechet_distance_matches_the_closed_form_for_gaussians():
    # N(0, I) vs N(1, 4I) in 2-d: |mu|^2 + tr(I + 4I - 2 * 2I) = 2 + 2
    assert frechet_distance(torch.zeros(2), torch.eye(2), torch.ones(2), 4 * torch.eye(2)) == pytest.approx(4.0)
    # diagonal covariances: sum (s1 - s2)^2 over standard deviations, plus the mean gap
    s1, s2 = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 4.0, 1.0])
    expected = 1.0 + ((s1.sqrt() - s2.sqrt()) ** 2).sum().item()
    got = frechet_distance(torch.zeros(3), torch.diag(s1), torch.tensor([1.0, 0, 0]), torch.diag(s2))
    assert got == pytest.approx(expected, rel=1e-6)


class _ImagesGenerator(nn.Module):
    """Stands in for G: returns real images of the requested class, plus optional noise."""

    def __init__(self, dataset, noise: float = 0.0, seed: int = 0):
        super().__init__()
        self.images = dataset.images.float().div(127.5).sub(1.0)
        self.labels = dataset.labels
        self.noise = noise
        self.anchor = nn.Parameter(torch.zeros(1))  # so that next(parameters()) names a device
        self.gen = torch.Generator().manual_seed(seed)

    def forward(self, z, cond):
        wanted = cond.argmax(1)
        out = []
        for k in wanted.tolist():
            pool = (self.labels == k).nonzero().flatten()
            out.append(self.images[pool[torch.randint(len(pool), (1,), generator=self.gen)]][0])
        images = torch.stack(out)
        return (images + self.noise * torch.randn(images.shape, generator=self.gen)).clamp(-1, 1)


def test_judge_reaches_098_on_held_out_digits_and_round_trips(digits_judge, tmp_path):
    assert digits_judge.heldout["accuracy"] >= 0.98
    path = save_judge(digits_judge, tmp_path / "judge.pt")
    again = load_judge(path)
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    assert torch.allclose(again.logits(images), digits_judge.logits(images), atol=1e-5)
    assert again.heldout == digits_judge.heldout and again.space == digits_judge.space


def test_a_judge_file_that_would_run_code_is_refused(tmp_path):
    bad = tmp_path / "evil.pt"
    torch.save({"format": "gan-studio/judge", "payload": Categorical(["a", "b"])}, bad)
    with pytest.raises(StudioError, match="evil.pt: refused to load"):
        load_judge(bad)


def test_real_images_scored_as_if_generated_match_the_judge(digits, digits_judge):
    real = real_accuracy(digits, digits_judge, n=1000)
    fake = conditional_accuracy(_ImagesGenerator(digits), digits.space, 4, digits_judge, n=1000, dataset=digits)
    assert abs(fake.scores["accuracy"] - real.scores["accuracy"]) < 0.03
    assert fake.n == 1000 and set(fake.per_class) == set(digits.space.names)


def test_fid_of_a_set_against_itself_is_near_zero_and_grows_with_noise(digits, digits_judge):
    space = judge_features(digits_judge)
    real = space.features(digits.images[:800].float().div(127.5).sub(1.0)).double()
    assert frechet_distance(real.mean(0), real.T.cov(), real.mean(0), real.T.cov()) == pytest.approx(0, abs=1e-6)
    # Fresh draws of the same set differ only by sampling; noise moves the images off it.
    scores = [
        image_quality(_ImagesGenerator(digits, noise), digits.space, 4, digits, space, ("fid", "kid"),
                      n=600, n_real=1200).metrics
        for noise in (0.0, 0.3, 0.6)
    ]
    assert scores[0]["fid"] < 0.1 * scores[2]["fid"]
    assert scores[0]["fid"] < scores[1]["fid"] < scores[2]["fid"]
    assert scores[0]["kid"] < scores[1]["kid"] < scores[2]["kid"]


def test_inception_score_needs_class_logits(digits):
    space = FeatureSpace("probe", lambda x: x.flatten(1)[:, :8], None, "this test", "probe-is")
    with pytest.raises(StudioError, match="IS needs class logits"):
        image_quality(_ImagesGenerator(digits), digits.space, 4, digits, space, ("is",), n=20, n_real=20)


def test_multi_label_metric_on_hand_made_cases():
    space = MultiLabel(["a", "b", "c", "d"], 1, 3)
    labels = torch.tensor([[1, 1, 0, 0], [0, 0, 1, 0], [1, 0, 1, 1]], dtype=torch.float32)
    logits = torch.tensor(
        [
            [5.0, 4.0, 1.0, 0.0],  # both requested objects in the top 2: 2/2
            [3.0, 0.0, 2.0, 0.0],  # top 1 is 'a', 'c' was asked: 0/1
            [3.0, 2.0, 1.0, 0.0],  # top 3 a, b, c; asked a, c, d: 2/3
        ]
    )
    scores = score_predictions(space, logits, labels)
    assert scores["accuracy"] == pytest.approx((1 + 0 + 2 / 3) / 3)
    # top-k decoding: tp 4, fp 2, fn 2 -> F1 = 8 / 12
    assert scores["f1"] == pytest.approx(8 / 12)


def test_multi_attribute_scores_each_attribute():
    space = MultiAttribute([("hair", ["red", "blue"]), ("eyes", ["black", "brown", "green"])])
    labels = torch.tensor([[0, 1], [1, 2], [1, 0]])
    logits = torch.tensor([[3.0, 0, 0, 5, 0], [0, 3.0, 0, 0, 4], [3.0, 0, 9, 0, 0]])
    scores = score_predictions(space, logits, labels)
    assert scores == {"hair": pytest.approx(2 / 3), "eyes": pytest.approx(1.0), "all": pytest.approx(2 / 3)}


def test_test_conditions_load_from_json(tmp_path, shared_data):
    space = MultiLabel(json.loads((shared_data / "iclevr" / "objects.json").read_text()), 1, 3)
    labels = load_conditions(shared_data / "iclevr" / "test.json", space)
    assert labels.shape == (32, 24) and labels.sum(1).min() >= 1 and labels.sum(1).max() <= 3
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([["gray cube"], ["golden pyramid"]]))
    with pytest.raises(StudioError, match="bad.json: condition 2"):
        load_conditions(bad, space)


def test_results_append_and_survive_reloading(tmp_path):
    run = tmp_path / "run"
    append_results(run, [make_row("epoch 1", "a.pt", "g", 1, "fid", 12.5, 100, "judge:x", "this set")])
    append_results(run, [make_row("EMA", "a.pt", "ema", 1, "cond_acc", 0.9, 100)])
    rows = load_results(run)
    assert [r["metric"] for r in rows] == ["fid", "cond_acc"] and rows[0]["value"] == 12.5
    csv_lines = (run / "evaluation" / "results.csv").read_text().splitlines()
    assert csv_lines[0].startswith("time,generator") and len(csv_lines) == 3
    (run / "evaluation" / "results.json").write_text("{broken")
    with pytest.raises(StudioError, match="results.json: damaged"):
        append_results(run, [])
    assert (run / "evaluation" / "results.json").read_text() == "{broken"
