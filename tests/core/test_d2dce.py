import math

import pytest
import torch
from helpers import SPACES, random_dataset, tiny_config
from torch import nn

from studio.core.conditions import ColourSpace
from studio.core.config import TrainConfig
from studio.core.d2dce import ProxyHead, aux_criterion, d2d_ce
from studio.core.rundir import RunDirectory
from studio.core.trainer import Trainer
from studio.errors import ConfigError

# Tiny models: a second intra-op thread only adds waiting.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _unit(*rows):
    return torch.nn.functional.normalize(torch.tensor(rows, dtype=torch.float32), dim=1)


def test_loss_equals_the_hand_computed_value_on_three_images():
    # f0 on its proxy, f1 at cosine 0.8 to its proxy, f2 at cosine 0.6 to its proxy.
    embeddings = _unit([1.0, 0.0], [0.0, 1.0], [0.6, 0.8])
    proxies = _unit([1.0, 0.0], [0.6, 0.8])
    labels = torch.tensor([0, 1, 0])
    t, m_p, m_n = 0.5, 0.98, 0.02
    pos = [min(c - m_p, 0.0) / t for c in (1.0, 0.8, 0.6)]
    # Negatives (other class only): f0.f1 = 0, f1.f2 = 0.8; f0 and f2 share a class.
    neg_01 = max(0.0 - m_n, 0.0) / t
    neg_12 = max(0.8 - m_n, 0.0) / t
    losses = [
        -pos[0] + math.log(math.exp(pos[0]) + math.exp(neg_01)),
        -pos[1] + math.log(math.exp(pos[1]) + math.exp(neg_01) + math.exp(neg_12)),
        -pos[2] + math.log(math.exp(pos[2]) + math.exp(neg_12)),
    ]
    got = d2d_ce(embeddings, proxies, labels, temperature=t, m_p=m_p, m_n=m_n)
    assert got.item() == pytest.approx(sum(losses) / 3, abs=1e-6)
    # Unnormalised inputs are normalised first: the same value.
    assert d2d_ce(embeddings * 3.0, proxies * 0.5, labels, t, m_p, m_n).item() == pytest.approx(got.item(), abs=1e-6)


def test_past_both_margins_the_loss_stops_pushing():
    # Each image at cosine 0.995 to its own proxy (beyond m_p = 0.98), and at most 0.0099 to any image of
    # another class (below m_n = 0.02): both terms are clamped to 0.
    embeddings = _unit([1.0, 0.0, 0.0, 0.1], [0.0, 1.0, 0.0, 0.1], [0.0, 0.0, 1.0, 0.0]).requires_grad_(True)
    proxies = _unit([1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0])
    labels = torch.tensor([0, 1, 2])
    loss = d2d_ce(embeddings, proxies, labels, temperature=0.5)
    # Each image: -log(exp(0) / (exp(0) + 2 * exp(0))), a floor of log(3) that no gradient can lower.
    assert loss.item() == pytest.approx(math.log(3), abs=1e-6)
    loss.backward()
    assert embeddings.grad.abs().max().item() == pytest.approx(0.0, abs=1e-7)

    # Short of the positive margin (cosine 0.958), image 0 is pulled towards its proxy.
    tilted = _unit([1.0, 0.3, 0.0, 0.0], [0.0, 1.0, 0.0, 0.1], [0.0, 0.0, 1.0, 0.0]).requires_grad_(True)
    d2d_ce(tilted, proxies, labels, temperature=0.5).backward()
    assert tilted.grad[0].abs().max().item() > 1e-3


def test_a_lower_temperature_weighs_close_negatives_more():
    embeddings = _unit([1.0, 0.0], [0.8, 0.6])  # two classes, cosine 0.8 apart
    proxies = _unit([1.0, 0.0], [0.8, 0.6])
    labels = torch.tensor([0, 1])
    for t in (1.0, 0.5, 0.1):
        expected = math.log(1.0 + math.exp((0.8 - 0.02) / t))  # positives at cosine 1 > m_p: pos = 0
        assert d2d_ce(embeddings, proxies, labels, temperature=t).item() == pytest.approx(expected, rel=1e-5)
    assert d2d_ce(embeddings, proxies, labels, 0.1) > d2d_ce(embeddings, proxies, labels, 0.5)


def test_images_of_the_same_class_are_never_negatives():
    torch.manual_seed(0)
    embeddings = torch.randn(5, 4)
    proxies = torch.randn(3, 4)
    # One class only: no negatives at all, so the loss is -pos + log(exp(pos)) = 0 however close the images are.
    assert d2d_ce(embeddings, proxies, torch.zeros(5, dtype=torch.long)).item() == pytest.approx(0.0, abs=1e-6)
    # Image 2 (class 0) moved onto image 0 (class 0): the two do not repel, or image 0 would gain a term
    # exp((1 - m_n) / T) = e^2 beside its positive and its one negative (image 1, orthogonal: exp(0)).
    labels = torch.tensor([0, 1, 0])
    proxies = _unit([1.0, 0.0], [0.0, 1.0])
    apart = d2d_ce(_unit([1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]), proxies, labels, m_p=1.0, m_n=0.0)
    together = d2d_ce(_unit([1.0, 0.0], [0.0, 1.0], [1.0, 0.0]), proxies, labels, m_p=1.0, m_n=0.0)
    pos_2 = (-1.0 - 1.0) / 0.5  # image 2 apart: cosine -1 to its proxy
    assert apart.item() == pytest.approx((math.log(2) + math.log(3) - pos_2 + math.log(math.exp(pos_2) + 1)) / 3)
    assert together.item() == pytest.approx((math.log(2) + math.log(3) + math.log(2)) / 3, abs=1e-6)


def _head(sizes, dim=4, seed=0):
    torch.manual_seed(seed)
    return ProxyHead(nn.Flatten(), sizes, dim)


def test_gradient_reaches_the_embeddings_and_the_proxies():
    space = SPACES["categorical"]
    head = _head(space.class_sizes)
    features = torch.randn(6, 4, requires_grad=True)
    labels = torch.tensor([0, 1, 2, 3, 0, 1])
    loss_fn, _ = aux_criterion(tiny_config(family="acgan", aux_loss="d2d-ce"), space)
    loss = loss_fn(head(features), labels)
    assert torch.isfinite(loss)
    loss.backward()
    assert features.grad.abs().sum() > 0
    assert head.proxies.weight.grad.abs().sum() > 0
    # The head's loss is the paper's loss on its embeddings and proxies.
    plain = d2d_ce(features.detach(), head.proxies.weight.detach(), labels, temperature=0.5)
    assert loss.item() == pytest.approx(plain.item(), abs=1e-5)


def test_accuracy_is_the_nearest_proxy_by_cosine():
    space = SPACES["categorical"]
    head = _head(space.class_sizes)
    features = torch.randn(40, 4)
    labels = torch.randint(0, 4, (40,))
    _, accuracy = aux_criterion(tiny_config(family="acgan", aux_loss="d2d-ce"), space)
    f = torch.nn.functional.normalize(features, dim=1)
    v = torch.nn.functional.normalize(head.proxies.weight.detach(), dim=1)
    nearest = (f @ v.T).argmax(1)
    assert accuracy(head(features).detach(), labels).item() == pytest.approx((nearest == labels).float().mean().item())
    # Labels set to the nearest proxy: all right.
    assert accuracy(head(features).detach(), nearest).item() == 1.0


def test_several_attributes_each_get_their_own_embedding_and_proxies():
    space = SPACES["multi-attribute"]  # hair (3) x eyes (2)
    assert space.class_sizes == (3, 2)
    head = _head(space.class_sizes, dim=4)
    features = torch.randn(8, 8)  # two attributes x 4-d embeddings
    labels = space.sample(8, torch.Generator().manual_seed(1))
    loss_fn, accuracy = aux_criterion(tiny_config(family="acgan", aux_loss="d2d-ce"), space)
    out = head(features)
    assert out.shape == (8, 3 + 2 + 8)
    proxies = head.proxies.weight.detach()
    expected = d2d_ce(features[:, :4], proxies[:3], labels[:, 0]) + d2d_ce(features[:, 4:], proxies[3:], labels[:, 1])
    assert loss_fn(out, labels).item() == pytest.approx(expected.item(), abs=1e-5)
    assert 0.0 <= accuracy(out.detach(), labels).item() <= 1.0


def test_d_outputs_cosines_to_its_proxies_then_unit_embeddings():
    from studio.core.d2dce import split_output
    from studio.core.models import Discriminator

    space = SPACES["multi-attribute"]
    cfg = tiny_config(family="acgan", aux_loss="d2d-ce")
    torch.manual_seed(0)
    d = Discriminator(cfg, space)
    assert Discriminator(cfg.replace(aux_loss="ce"), space)(torch.randn(3, 3, 32, 32))[1].shape == (3, 5)
    _, out = d(torch.randn(3, 3, 32, 32))
    cosines, embeddings = split_output(out, space.class_sizes)
    dim = d.aux_head.dim
    assert out.shape == (3, 5 + 2 * dim) and embeddings.shape == (3, 2, dim)
    assert torch.allclose(embeddings.norm(dim=2), torch.ones(3, 2), atol=1e-5)
    v = torch.nn.functional.normalize(d.aux_head.proxies.weight, dim=1)
    expected = torch.cat([embeddings[:, 0] @ v[:3].T, embeddings[:, 1] @ v[3:].T], dim=1)
    assert torch.allclose(cosines, expected, atol=1e-5)


def test_ce_keeps_the_spaces_own_loss_and_accuracy():
    space = SPACES["categorical"]
    loss_fn, accuracy = aux_criterion(tiny_config(family="acgan"), space)
    assert loss_fn == space.aux_loss and accuracy == space.aux_accuracy


@pytest.mark.parametrize(
    "space",
    [SPACES["multi-label"], ColourSpace(["hair", "eyes"])],
    ids=["multi-label", "colour"],
)
def test_d2d_ce_is_refused_where_images_have_no_single_class(space):
    cfg = tiny_config(family="acgan", aux_loss="d2d-ce")
    with pytest.raises(ConfigError) as refused:
        cfg.check_against(space, source="project.json")
    text = str(refused.value)
    assert text.startswith("project.json: aux_loss 'd2d-ce'") and "use aux_loss 'ce'" in text
    assert space.describe() in text
    # The same space trains with ce, and families without a classifier ignore the setting.
    tiny_config(family="acgan").check_against(space)
    tiny_config(family="cgan-concat", aux_loss="d2d-ce").check_against(space)
    for ok in (SPACES["categorical"], SPACES["multi-attribute"]):
        cfg.check_against(ok)


def test_settings_are_checked_and_d2d_ce_changes_d_architecture():
    from studio.core.config import architecture_keys

    with pytest.raises(ConfigError, match="aux_loss is 'arcface'; choose one of ce, d2d-ce"):
        TrainConfig.from_dict({"aux_loss": "arcface"})
    with pytest.raises(ConfigError, match="d2d_temperature is 0.0; it must be at least 0.01"):
        TrainConfig.from_dict({"d2d_temperature": 0.0})
    assert "aux_loss" in architecture_keys("acgan", "d") and "aux_loss" not in architecture_keys("acgan", "g")
    assert "aux_loss" not in architecture_keys("cgan-projection")
    assert "d2d_temperature" not in architecture_keys()


def _train(tmp_path, cfg, space, name, resume_from=None, run=None, max_steps=None):
    run = run or RunDirectory.create(tmp_path, cfg, run_id=name)
    trainer = Trainer(cfg, random_dataset(space), run, None, resume_from, max_steps)
    return trainer, run, trainer.run()


def test_a_tiny_acgan_with_d2d_ce_trains_finite_and_resumes_exactly(tmp_path):
    space = SPACES["multi-attribute"]
    # 2 steps an epoch; the step figures are read back every step.
    cfg = tiny_config(
        family="acgan", aux_loss="d2d-ce", epochs=2, batch_size=16, aux_on_fake=False, collapse_alarm=False
    )
    straight, run, result = _train(tmp_path, cfg, space, "straight")
    assert result.reason == "completed"
    assert isinstance(straight.d.aux_head, ProxyHead)
    steps = [r for r in run.read_metrics() if r["kind"] == "step"]
    assert steps and all(math.isfinite(r["d_loss"]) and math.isfinite(r["g_loss"]) for r in steps)
    assert all(0.0 <= r["aux_acc_real"] <= 1.0 for r in steps)

    _, split, _ = _train(tmp_path, cfg.replace(epochs=1), space, "split")
    resumed, _, result = _train(tmp_path, cfg, space, "split", resume_from=split.checkpoint_path(1), run=split)
    assert result.reason == "completed" and resumed.epoch == 2
    a, b = straight.d.state_dict(), resumed.d.state_dict()
    assert "aux_head.proxies.weight" in a
    assert all(torch.equal(a[k], b[k]) for k in a)

    # A checkpoint of the softmax head is another D: resuming it with d2d-ce is refused by name.
    _, ce_run, _ = _train(tmp_path, cfg.replace(aux_loss="ce"), space, "ce", max_steps=1)
    ce_checkpoint = ce_run.latest_checkpoint().path
    _, _, refused = _train(tmp_path, cfg, space, "ce", resume_from=ce_checkpoint, run=ce_run)
    assert refused.reason == "error" and "aux_loss" in refused.message


def test_d2d_ce_trains_under_bfloat16_autocast(tmp_path):
    space = SPACES["categorical"]
    cfg = tiny_config(family="acgan", aux_loss="d2d-ce", precision="bfloat16", epochs=1, collapse_alarm=False)
    trainer = Trainer(cfg, random_dataset(space), RunDirectory(tmp_path), max_steps=2, write_files=False)
    assert trainer.run().reason == "stopped"
    assert all(torch.isfinite(p).all() for p in trainer.d.parameters())


def test_training_d2d_ce_on_multi_label_data_is_refused_before_it_starts(tmp_path):
    cfg = tiny_config(family="acgan", aux_loss="d2d-ce")
    with pytest.raises(ConfigError, match="aux_loss 'd2d-ce'"):
        Trainer(cfg, random_dataset(SPACES["multi-label"]), RunDirectory(tmp_path), write_files=False)
