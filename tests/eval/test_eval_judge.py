"""Judges: training to near-perfect held-out accuracy, files that round-trip, user TorchScript classifiers."""

from __future__ import annotations

import pytest
import torch
from helpers import random_dataset

from studio.core.conditions import Categorical, MultiLabel
from studio.errors import StudioError
from studio.eval.judge import (
    EvaluationCancelled,
    JudgeNet,
    TorchScriptJudge,
    default_epochs,
    load_judge,
    save_judge,
    train_judge,
)


def test_judge_reaches_098_on_held_out_digits_and_round_trips(digits_judge, tmp_path):
    assert digits_judge.heldout["accuracy"] >= 0.98
    assert digits_judge.heldout_n == 400
    path = save_judge(digits_judge, tmp_path / "judge.pt")
    again = load_judge(path)
    images = torch.rand(4, 3, 32, 32) * 2 - 1
    assert torch.allclose(again.logits(images), digits_judge.logits(images), atol=1e-5)
    assert again.heldout == digits_judge.heldout and again.space == digits_judge.space
    assert again.id == digits_judge.id and again.name == "judge.pt"
    with pytest.raises(StudioError, match="judge.pt: already exists"):
        save_judge(digits_judge, path, overwrite=False)


def test_judge_reads_other_sizes_and_grey_images(digits_judge):
    # G at 64 px or in grey is scored after resizing / channel expansion, not refused.
    assert digits_judge.logits(torch.zeros(3, 1, 64, 64)).shape == (3, 10)


def test_a_judge_file_that_would_run_code_is_refused(tmp_path):
    bad = tmp_path / "evil.pt"
    torch.save({"format": "gan-studio/judge", "payload": Categorical(["a", "b"])}, bad)
    with pytest.raises(StudioError, match="evil.pt: refused to load"):
        load_judge(bad)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a judge")
    with pytest.raises(StudioError, match="junk.pt: damaged or not a PyTorch file"):
        load_judge(junk)


def test_a_version_1_judge_still_loads_with_its_average_pooling(tmp_path):
    net = JudgeNet(3, 2, width=4, pool="avg")
    state = {
        "format": "gan-studio/judge",
        "version": 1,
        "arch": {k: v for k, v in net.arch.items() if k != "pool"},
        "state": net.state_dict(),
        "space": Categorical(["a", "b"]).to_dict(),
        "image_size": 16,
        "channels": 3,
    }
    torch.save(state, tmp_path / "old.pt")
    judge = load_judge(tmp_path / "old.pt")
    assert judge.net.arch["pool"] == "avg"
    x = torch.rand(2, 3, 16, 16) * 2 - 1
    assert torch.allclose(judge.logits(x), net.eval()(x), atol=1e-6)


def test_cancelled_training_raises_and_writes_nothing(tmp_path):
    dataset = random_dataset(Categorical(["a", "b"]), n=40, size=16)
    calls = []

    def stop() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(EvaluationCancelled, match="judge training cancelled"):
        train_judge(dataset, epochs=3, width=4, batch_size=8, should_stop=stop)
    with pytest.raises(StudioError, match="too few"):
        train_judge(random_dataset(Categorical(["a", "b"]), n=10, size=16), width=4)


def test_progress_reports_fractions_up_to_one():
    seen = []
    train_judge(
        random_dataset(MultiLabel(list("abcdef"), 1, 3), n=40, size=16),
        epochs=2,
        width=4,
        batch_size=2,
        progress=lambda text, fraction: seen.append((text, fraction)),
    )
    assert seen[-1][1] == pytest.approx(1.0) and all(0 < f <= 1 for _, f in seen)
    assert seen[0][0].startswith("training the judge: epoch 1/2")


def _scripted(tmp_path, out_dim: int):
    """An untrained judge network saved as TorchScript, as a user's own classifier would be."""
    torch.manual_seed(0)
    net = JudgeNet(3, out_dim, width=4).eval()
    path = tmp_path / f"classifier{out_dim}.pt"
    torch.jit.script(net).save(str(path))
    return net, path


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_torchscript_judge_applies_its_stated_size_and_normalisation(tmp_path):
    space = Categorical([str(i) for i in range(10)])
    net, path = _scripted(tmp_path, 10)
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    judge = TorchScriptJudge(path, space, input_size=32, mean=mean, std=std)
    images = torch.rand(5, 3, 32, 32) * 2 - 1
    expected = net(((images + 1) / 2 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1))
    assert torch.allclose(judge.logits(images), expected, atol=1e-5)
    assert judge.logits(torch.rand(2, 3, 64, 64)).shape == (2, 10)  # resized to its 32 px
    assert not judge.has_features and len(judge.id) == 12
    # A studio judge loader points a TorchScript file to the right door.
    with pytest.raises(StudioError, match="a TorchScript classifier, not a studio judge"):
        load_judge(path)


@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated")
def test_torchscript_judge_with_the_wrong_output_says_so(tmp_path):
    _, path = _scripted(tmp_path, 5)
    judge = TorchScriptJudge(path, MultiLabel([f"o{i}" for i in range(24)], 1, 3), input_size=32)
    with pytest.raises(StudioError, match=r"classifier5.pt: gives output \(2, 5\); multi-label\(24, 1..3\) needs"):
        judge.logits(torch.zeros(2, 3, 32, 32))
    with pytest.raises(StudioError, match="missing.pt: no such TorchScript classifier"):
        TorchScriptJudge(tmp_path / "missing.pt", Categorical(["a", "b"]), 32)
    with pytest.raises(StudioError, match="1 or 3 normalisation values"):
        TorchScriptJudge(path, Categorical(["a", "b"]), 32, mean=(0.5, 0.5), std=(0.5, 0.5))


def test_small_sets_get_more_epochs_so_every_judge_trains_about_as_long():
    assert default_epochs(54000) == 5  # MNIST's 60,000: the floor
    assert default_epochs(10800) == 6  # a built-in set's 12,000: 2,000 steps of 32
    assert default_epochs(7200) == 9  # the 8,000 real anime faces
    assert default_epochs(50) == 50  # the ceiling
    seen = []
    train_judge(
        random_dataset(Categorical(["a", "b"]), n=40, size=16),
        width=4,
        batch_size=18,
        progress=lambda text, fraction: seen.append(text),
    )
    assert "epoch 50/50" in seen[-1]
