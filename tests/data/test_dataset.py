import pytest
import torch
from PIL import Image

from studio.core.conditions import Categorical, MultiAttribute, MultiLabel, NoCondition
from studio.data.dataset import cache_dir, dataset_space, fit_images, load_dataset, parse_spec
from studio.errors import DatasetError


@pytest.mark.parametrize(
    "spec,message",
    [
        ("faces", "expected builtin:faces"),
        ("builtin:cats", "no built-in set 'cats'"),
        ("folder:", "needs a path"),
        ("http:x", "unknown source 'http'"),
    ],
)
def test_bad_specs_are_explained(spec, message):
    with pytest.raises(DatasetError, match=message):
        parse_spec(spec)


def test_builtin_sets_have_their_condition_spaces():
    faces = dataset_space("builtin:faces")
    assert isinstance(faces, MultiAttribute) and faces.sizes == [12, 10]
    assert faces.attributes[0][1][:3] == ["orange", "white", "aqua"]
    shapes = dataset_space("builtin:shapes")
    assert isinstance(shapes, MultiLabel) and shapes.dim == 24 and (shapes.min_count, shapes.max_count) == (1, 3)
    assert isinstance(dataset_space("builtin:digits"), Categorical)


def test_builtin_is_cached_and_reloads_identically():
    first = load_dataset("builtin:digits", 32, size=40)
    cached = list(cache_dir().glob("builtin-digits-n40-*.pt"))
    assert len(cached) == 1
    again = load_dataset("builtin:digits", 32, size=40)
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    assert first.images.dtype == torch.uint8 and first.images.shape == (40, 3, 32, 32)


def test_builtin_resized_and_grey():
    faces = load_dataset("builtin:faces", 32, channels=1, size=24)
    assert faces.images.shape == (24, 1, 32, 32) and faces.labels.shape == (24, 2)
    assert faces.extras["colours"].shape == (24, 6)
    counts = dict(faces.class_counts())
    assert sum(v for k, v in counts.items() if k.endswith("hair")) == 24


def test_fit_images_resizes_with_antialiasing():
    images = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    images[:, :, :, ::2] = 255  # stripes average to grey when halved
    out = fit_images(images, 4, 3)
    assert out.shape == (2, 3, 4, 4) and 100 < out.float().mean() < 155


def _folder(root, classes):
    for name, count in classes.items():
        (root / name).mkdir(parents=True)
        for i in range(count):
            Image.new("RGB", (40 + i, 30), (i * 20, 100, 50)).save(root / name / f"{i}.png")


def test_folder_dataset_loads_with_classes(tmp_path):
    _folder(tmp_path, {"cats": 3, "dogs": 2})
    data = load_dataset(f"folder:{tmp_path}", 16)
    assert data.images.shape == (5, 3, 16, 16) and data.space.names == ["cats", "dogs"]
    assert sorted(data.labels.tolist()) == [0, 0, 0, 1, 1]


def test_single_folder_is_an_unlabelled_set(tmp_path):
    _folder(tmp_path, {"faces": 3})
    data = load_dataset(f"folder:{tmp_path}", 16)
    assert isinstance(data.space, NoCondition) and data.labels.shape == (3, 0)


def test_cached_set_is_read_not_redrawn(monkeypatch):
    import studio.data.dataset as dataset_module

    first = load_dataset("builtin:shapes", 64, size=30)

    def no_drawing(*args):
        raise AssertionError("the cached set was drawn again")

    monkeypatch.setattr(dataset_module, "_generate_builtin", no_drawing)
    again = load_dataset("builtin:shapes", 64, size=30)
    assert torch.equal(first.images, again.images)


def test_damaged_cache_is_redrawn():
    first = load_dataset("builtin:digits", 32, size=20)
    (cached,) = cache_dir().glob("builtin-digits-n20-*.pt")
    cached.write_bytes(b"broken")
    again = load_dataset("builtin:digits", 32, size=20)
    assert torch.equal(first.images, again.images)
