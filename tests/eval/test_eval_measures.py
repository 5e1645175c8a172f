"""Precision, recall, density, coverage; intra-class FID; the classification accuracy score."""

from __future__ import annotations

import pytest
import torch

from studio.cli import main
from studio.core.conditions import Categorical, MultiAttribute, MultiLabel
from studio.errors import StudioError
from studio.eval.cas import classification_accuracy_score
from studio.eval.evaluate import EvaluationRequest, evaluate, format_table, generator_ref
from studio.eval.judge import EvaluationCancelled
from studio.eval.measures import class_groups, prdc
from studio.eval.quality import intra_class_fid
from studio.eval.results import load_results


def test_prdc_of_a_small_case_worked_by_hand():
    # k = 1. Real balls: each real point reaches its nearest real neighbour, radius 1.
    # Generated balls: 0.5 reaches 10 (radius 9.5); 10 and 10.2 reach each other (0.2).
    real = torch.tensor([[0.0], [1.0], [2.0], [3.0]])
    fake = torch.tensor([[0.5], [10.0], [10.2]])
    out = prdc(real, fake, k=1)
    assert out["precision"] == pytest.approx(1 / 3)  # only 0.5 lies in a real ball
    assert out["density"] == pytest.approx(2 / 3)  # 0.5 lies in two real balls (0 and 1): 2 / 3 images / k
    assert out["recall"] == pytest.approx(1.0)  # every real point lies in the ball of 0.5
    assert out["coverage"] == pytest.approx(0.5)  # 0 and 1 have a generated point within 1; 2 and 3 do not


def test_prdc_of_identical_sets_is_one_and_of_far_apart_sets_zero():
    x = torch.randn(300, 16, generator=torch.Generator().manual_seed(0))
    same = prdc(x, x.clone(), k=5)
    assert same["precision"] == same["recall"] == same["coverage"] == 1.0
    assert same["density"] == pytest.approx(1.0, abs=0.01)
    far = prdc(x, x + 1000.0, k=5)
    assert far == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_does_not_depend_on_the_block_size_and_needs_more_images_than_k():
    g = torch.Generator().manual_seed(1)
    real, fake = torch.randn(70, 8, generator=g), torch.randn(50, 8, generator=g) * 1.3 + 0.2
    whole = prdc(real, fake, k=3)
    assert prdc(real, fake, k=3, block=7) == pytest.approx(whole)
    assert 0.0 < whole["precision"] < 1.0 and 0.0 < whole["coverage"] < 1.0
    with pytest.raises(StudioError, match="more than 5 images on each side"):
        prdc(real[:5], fake, k=5)


def test_classes_group_by_class_or_attribute_value_and_other_spaces_are_refused():
    cats = Categorical(["cat", "dog", "fox"])
    groups = class_groups(cats, torch.tensor([0, 2, 2, 1]))
    assert [c for c, _ in groups] == ["cat", "dog", "fox"] and groups[2][1].tolist() == [False, True, True, False]
    faces = MultiAttribute([("hair", ["red", "blue"]), ("eyes", ["green", "brown", "black"])])
    groups = class_groups(faces, torch.tensor([[0, 2], [1, 2]]))
    assert [c for c, _ in groups] == ["red hair", "blue hair", "green eyes", "brown eyes", "black eyes"]
    assert groups[4][1].tolist() == [True, True]
    with pytest.raises(StudioError, match="intra-class FID needs classes or attribute values"):
        class_groups(MultiLabel(["a", "b", "c"]), torch.zeros(2, 3))


def test_intra_class_fid_finds_the_one_class_that_is_off():
    g = torch.Generator().manual_seed(0)
    space = Categorical(["a", "b", "c", "rare"])
    labels = torch.arange(3).repeat_interleave(200)
    real = torch.randn(600, 4, generator=g) + labels[:, None].float() * 5
    fake = real.clone()
    fake[labels == 1] += 1.0  # class b shifted by 1 in each of 4 dimensions: FID |mean gap|^2 = 4
    mean, per_class, skipped = intra_class_fid(real, labels, fake, labels, space)
    assert per_class["a"]["fid"] == pytest.approx(0.0, abs=1e-5) and per_class["c"]["fid"] == pytest.approx(0, abs=1e-5)
    assert per_class["b"]["fid"] == pytest.approx(4.0, abs=1e-4)
    assert per_class["b"]["n"] == 200 and per_class["b"]["n_real"] == 200
    assert mean == pytest.approx(4.0 / 3, abs=1e-4) and skipped == ["rare"]


class _Colours:
    """A labelled set of 16 px images whose class is their colour: red, green or blue, with noise."""

    def __init__(self, n: int, seed: int):
        g = torch.Generator().manual_seed(seed)
        self.labels = torch.randint(3, (n,), generator=g)
        self.images = _colour_images(self.labels, g).add(1).mul(127.5).round().to(torch.uint8)
        self.space = Categorical(["red", "green", "blue"])
        self.spec, self.image_size, self.channels = "colours", 16, 3

    def __len__(self) -> int:
        return len(self.labels)


def _colour_images(classes: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    images = torch.full((len(classes), 3, 16, 16), -0.6)
    images[torch.arange(len(classes)), classes] = 0.6
    return (images + 0.2 * torch.randn(images.shape, generator=g)).clamp(-1, 1)


class _ColourGenerator(torch.nn.Module):
    """Stands in for G: draws the colour asked for, or with ``shift`` the next colour."""

    def __init__(self, shift: int = 0):
        super().__init__()
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.shift = shift
        self.gen = torch.Generator().manual_seed(5)

    def forward(self, z, cond):
        return _colour_images((cond.argmax(1) + self.shift) % 3, self.gen)


def test_cas_is_high_for_images_of_the_asked_class_and_near_zero_for_the_wrong_class():
    real = _Colours(150, seed=1)
    test = torch.arange(len(real))
    messages = []
    right = classification_accuracy_score(
        _ColourGenerator(), real.space, 4, real, test, n=320, epochs=8, progress=lambda m, f: messages.append(m)
    )
    wrong = classification_accuracy_score(_ColourGenerator(shift=1), real.space, 4, real, test, n=320, epochs=8)
    assert right.headline > 0.9 and right.n == 320 and right.n_real == 150 and right.epochs == 8
    assert wrong.headline < 0.1 and wrong.generated_scores["accuracy"] > 0.9  # it learnt G's images, not the classes
    assert any(m.startswith("CAS: training a classifier on generated images") for m in messages)
    with pytest.raises(EvaluationCancelled):
        classification_accuracy_score(_ColourGenerator(), real.space, 4, real, test, n=100, should_stop=lambda: True)


@pytest.fixture(scope="module")
def tiny_run_and_judge(tmp_path_factory):
    root = tmp_path_factory.mktemp("measures")
    argv = ["new", str(root / "project"), "--preset", "tiny-demo", "--dataset", "builtin:digits"]
    for s in ("dataset_size=200", "image_size=32", "ngf=8", "ndf=8", "nz=16", "batch_size=40", "epochs=1"):
        argv += ["--set", s]
    assert main([*argv, "--set", "precision=float32", "--set", "device=cpu"]) == 0
    assert main(["train", str(root / "project"), "--quiet"]) == 0
    judge = root / "judge.pt"
    argv = ["judge", "train", "builtin:digits", "--size", "200", "--epochs", "1", "--width", "8", "--quiet"]
    assert main([*argv, "--out", str(judge)]) == 0
    return next((root / "project" / "runs").iterdir()), str(judge)


def test_evaluate_names_each_new_figure_with_its_feature_space_and_n(tiny_run_and_judge, capsys):
    run, judge = tiny_run_and_judge
    request = EvaluationRequest(
        metrics=("prdc", "ifid", "cas"), n=80, n_real=60, judge_path=judge, cas_epochs=1, prdc_k=3
    )
    lines = []
    rows = evaluate([generator_ref(run / "checkpoints" / "epoch_0001.pt")], request, log=lines.append)
    by_metric = {r["metric"]: r for r in rows}
    for metric in ("precision", "recall", "density", "coverage", "ifid"):
        assert by_metric[metric]["feature_space"].startswith("judge:") and by_metric[metric]["n"] == 80
        assert by_metric[metric]["n_real"] == 60
    assert "k = 3 nearest neighbours" in by_metric["coverage"]["comparable"]
    per_class = [r for r in rows if r["metric"].startswith("ifid:")]
    assert per_class and sum(r["n"] for r in per_class) <= 80 and all(r["n_real"] >= 2 for r in per_class)
    assert by_metric["cas"]["n"] == 80 and by_metric["cas"]["n_real"] == 60
    assert by_metric["cas"]["feature_space"] == "classifier trained on generated images"
    assert any("60 real images, N 80 generated, k = 3" in line for line in lines)
    assert any("intra-class FID per class (N generated/real)" in line for line in lines)
    stored = {r["metric"] for r in load_results(run)}
    assert {"precision", "ifid", "cas"} <= stored
    table = format_table(rows)
    assert "precision, recall, density, coverage, ifid: judge:judge.pt features, N 80 generated vs 60 real" in table


def test_bad_prdc_settings_and_metric_names_are_refused_before_any_work(tiny_run_and_judge, monkeypatch):
    run, judge = tiny_run_and_judge
    ref = generator_ref(run / "checkpoints" / "epoch_0001.pt")
    monkeypatch.setattr("studio.data.dataset.load_dataset", lambda *a, **k: pytest.fail("loaded the dataset"))
    with pytest.raises(StudioError, match="prdc k"):
        evaluate([ref], EvaluationRequest(metrics=("prdc",), prdc_k=0), log=lambda text: None)
    with pytest.raises(StudioError, match="unknown metric"):
        evaluate([ref], EvaluationRequest(metrics=("precision",)), log=lambda text: None)
