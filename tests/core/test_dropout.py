"""ByteDropout: nn.Dropout's statistics from a cheaper CPU mask."""

import pytest
import torch

from studio.core.models.dropout import ByteDropout, byte_keep_mask


@pytest.mark.parametrize("cut", [1, 64, 128, 200, 255])
def test_keep_rate_is_the_share_of_bytes_at_or_above_the_cut(cut):
    torch.manual_seed(0)
    keep = byte_keep_mask(torch.Size([2_000_000]), cut)
    expected = (256 - cut) / 256
    # 2e6 Bernoulli draws: the standard error is below 3.6e-4
    assert abs(keep.float().mean().item() - expected) < 2e-3


def test_mask_bytes_are_uniform_and_independent_of_position():
    """The biased top byte of each 64-bit word must not reach the mask."""
    torch.manual_seed(1)
    keep = byte_keep_mask(torch.Size([700_000, 7]), 128)
    # Every one of the seven byte positions keeps half its elements; the top byte would keep none.
    rates = keep.float().mean(dim=0)
    assert torch.all((rates - 0.5).abs() < 5e-3), rates


def test_output_keeps_the_expectation_and_scales_what_it_keeps():
    torch.manual_seed(2)
    drop = ByteDropout(0.3).train()
    x = torch.ones(1_000_000)
    y = drop(x)
    scale = 256 / (256 - round(0.3 * 256))
    values = torch.unique(y).tolist()
    assert values[0] == 0.0 and values[1] == pytest.approx(scale) and len(values) == 2
    assert abs(y.mean().item() - 1.0) < 5e-3
    assert abs((y == 0).float().mean().item() - round(0.3 * 256) / 256) < 2e-3


def test_gradient_is_the_mask():
    torch.manual_seed(3)
    x = torch.randn(8, 4, 5, 5, requires_grad=True)
    y = ByteDropout(0.25).train()(x)
    y.sum().backward()
    mask = y.detach() / x.detach()
    assert torch.allclose(x.grad, mask)
    assert torch.unique(x.grad).tolist() == [0.0, pytest.approx(256 / 192)]


def test_eval_mode_and_zero_rate_pass_the_input_through():
    x = torch.randn(3, 7)
    assert torch.equal(ByteDropout(0.5).eval()(x), x)
    assert torch.equal(ByteDropout(0.0).train()(x), x)


def test_seeded_masks_repeat_and_differ_between_seeds():
    drop = ByteDropout(0.5).train()
    x = torch.ones(1000)
    torch.manual_seed(4)
    a = drop(x)
    torch.manual_seed(4)
    b = drop(x)
    torch.manual_seed(5)
    c = drop(x)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_inplace_variant_changes_its_input():
    torch.manual_seed(6)
    x = torch.ones(10_000)
    out = ByteDropout(0.5, inplace=True).train()(x)
    assert out.data_ptr() == x.data_ptr()
    assert (x == 0).any() and (x == 2).any()
