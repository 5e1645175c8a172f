"""torchvision sets: MNIST offline, missing files named, CelebA attributes, download only when asked."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import torch
from PIL import Image

from studio.core.conditions import Categorical, MultiAttribute, NoCondition
from studio.data.dataset import dataset_space, fit_images, load_dataset, parse_spec
from studio.data.torchvision_sets import CELEBA_ATTRIBUTES
from studio.errors import DatasetError, StudioWarning


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Nothing here may reach the network: torchvision's downloads fail the test."""
    from torchvision.datasets import utils

    def refuse(*args, **kwargs):
        raise AssertionError("tried to download")

    for name in ("download_url", "download_and_extract_archive", "download_file_from_google_drive"):
        monkeypatch.setattr(utils, name, refuse)
    for module in ("mnist", "cifar", "svhn", "celeba"):
        mod = __import__(f"torchvision.datasets.{module}", fromlist=["x"])
        for name in ("download_url", "download_and_extract_archive", "download_file_from_google_drive"):
            if hasattr(mod, name):
                monkeypatch.setattr(mod, name, refuse)


def write_mnist(root, folder="MNIST", n_train=20, n_test=10, seed=0) -> dict:
    """MNIST's four idx files (torchvision's raw layout) with random digits."""
    rng = np.random.default_rng(seed)
    raw = root / folder / "raw"
    raw.mkdir(parents=True)
    written = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) * 7 % 10).astype(np.uint8)
        (raw / f"{prefix}-images-idx3-ubyte").write_bytes(struct.pack(">IIII", 2051, n, 28, 28) + images.tobytes())
        (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">II", 2049, n) + labels.tobytes())
        written[prefix] = (images, labels)
    return written


SMILING, MALE = CELEBA_ATTRIBUTES.index("Smiling"), CELEBA_ATTRIBUTES.index("Male")


def write_celeba(root, n=6, seed=0) -> np.ndarray:
    """A CelebA folder in torchvision's layout; images 20 x 60 whose middle third is green when smiling."""
    rng = np.random.default_rng(seed)
    base = root / "celeba"
    (base / "img_align_celeba").mkdir(parents=True)
    attrs = rng.choice([-1, 1], size=(n, len(CELEBA_ATTRIBUTES)))
    attrs[:, SMILING] = [1, -1] * (n // 2)
    names = [f"{i + 1:06d}.jpg" for i in range(n)]
    for i, name in enumerate(names):
        pixels = np.zeros((60, 20, 3), dtype=np.uint8)
        pixels[:20] = pixels[40:] = (250, 0, 0)  # cropped away by the centre square
        pixels[20:40] = (0, 230, 0) if attrs[i, SMILING] > 0 else (0, 0, 120)
        Image.fromarray(pixels).save(base / "img_align_celeba" / name, quality=95)

    def table(header: str | None, rows) -> str:
        lines = [str(n), header] if header is not None else []
        lines += [f"{nm} " + " ".join(map(str, r)) for nm, r in zip(names, rows)]
        return "\n".join(lines) + "\n"

    (base / "list_attr_celeba.txt").write_text(table(" ".join(CELEBA_ATTRIBUTES), attrs))
    (base / "identity_CelebA.txt").write_text(table(None, [[i] for i in range(n)]))
    (base / "list_bbox_celeba.txt").write_text(table("image_id x_1 y_1 width height", [[0, 0, 20, 60]] * n))
    landmarks = " ".join(
        f"{part}_{xy}" for part in ("lefteye", "righteye", "nose", "leftmouth", "rightmouth") for xy in "xy"
    )
    (base / "list_landmarks_align_celeba.txt").write_text(table(landmarks, [[5] * 10] * n))
    partition = [[0]] * (n - 3) + [[1], [2], [2]]  # one valid, two test
    (base / "list_eval_partition.txt").write_text(table(None, partition))
    return (attrs + 1) // 2


# --- MNIST -----------------------------------------------------------------------------


def test_real_mnist_loads_without_network(shared_data):
    spec = f"mnist:{shared_data}?split=test"
    space = dataset_space(spec)
    # The same space as the built-in digits, so the digit presets apply unchanged.
    assert space == Categorical([str(i) for i in range(10)], attribute="digit") == dataset_space("builtin:digits")
    data = load_dataset(spec, 32, channels=1)
    assert data.images.shape == (10_000, 1, 32, 32) and data.images.dtype == torch.uint8
    assert data.labels.dtype == torch.int64 and data.labels[:3].tolist() == [7, 2, 1]  # MNIST's first test digits
    assert torch.bincount(data.labels).min() > 800
    # Pointing at the set's own folder works as well.
    assert dataset_space(f"mnist:{shared_data / 'MNIST'}") == space


def test_mnist_files_are_read_by_torchvision_and_resized(tmp_path):
    written = write_mnist(tmp_path)
    data = load_dataset(f"mnist:{tmp_path}", 32, channels=1)
    images, labels = written["train"]
    assert data.images.shape == (20, 1, 32, 32) and data.labels.tolist() == labels.tolist()
    expected = fit_images(torch.from_numpy(images).unsqueeze(1), 32, 1)
    assert torch.equal(data.images, expected)
    rgb = load_dataset(f"mnist:{tmp_path}?split=all", 32, channels=3)
    assert rgb.images.shape == (30, 3, 32, 32) and torch.equal(rgb.images[:, 0], rgb.images[:, 2])


def test_fashion_mnist_names_its_classes(tmp_path):
    write_mnist(tmp_path, folder="FashionMNIST")
    space = dataset_space(f"fashion-mnist:{tmp_path}")
    assert isinstance(space, Categorical) and space.names[0] == "T-shirt/top" and space.names[-1] == "Ankle boot"
    assert len(load_dataset(f"fashion-mnist:{tmp_path}?split=test", 32, channels=1)) == 10


def test_a_second_load_reads_the_cache(tmp_path, monkeypatch):
    from torchvision import datasets

    write_mnist(tmp_path)
    first = load_dataset(f"mnist:{tmp_path}", 32, channels=1)

    def unread(*args, **kwargs):
        raise AssertionError("torchvision read the files again although they are cached")

    monkeypatch.setattr(datasets.MNIST, "__init__", unread)
    again = load_dataset(f"mnist:{tmp_path}", 32, channels=1)
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)


# --- missing and damaged files ----------------------------------------------------------


@pytest.mark.parametrize(
    "spec,expected",
    [
        ("mnist:{root}", "MNIST/raw/train-images-idx3-ubyte"),
        ("fashion-mnist:{root}", "FashionMNIST/raw/train-images-idx3-ubyte"),
        ("cifar10:{root}", "cifar-10-batches-py/data_batch_1"),
        ("svhn:{root}", "train_32x32.mat"),
        ("svhn:{root}?split=test", "test_32x32.mat"),
        ("celeba:{root}?attrs=Smiling", "celeba/img_align_celeba"),
    ],
)
def test_missing_files_are_named_with_where_they_are_expected(tmp_path, spec, expected):
    spec = spec.format(root=tmp_path)
    for attempt in (lambda: dataset_space(spec), lambda: load_dataset(spec, 32)):
        with pytest.raises(DatasetError) as caught:
            attempt()
        text = str(caught.value)
        assert f"{tmp_path}/{expected} is missing" in text
        assert "torchvision's layout" in text and "?download=1" in text


def test_the_first_missing_file_is_the_one_named(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DatasetError, match=r"MNIST/raw/t10k-labels-idx1-ubyte is missing"):
        load_dataset(f"mnist:{tmp_path}?split=train", 32)
    write_celeba(tmp_path / "c")
    (tmp_path / "c" / "celeba" / "list_eval_partition.txt").unlink()
    with pytest.raises(DatasetError, match=r"celeba/list_eval_partition\.txt is missing"):
        dataset_space(f"celeba:{tmp_path / 'c'}")


def test_damaged_files_are_named(tmp_path):
    base = tmp_path / "cifar-10-batches-py"
    base.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch", "batches.meta"]:
        (base / name).write_bytes(b"not a pickle")
    assert dataset_space(f"cifar10:{tmp_path}").names[0] == "airplane"  # names only: nothing is read yet
    with pytest.raises(DatasetError, match=r"cifar-10-batches-py/data_batch_1: damaged or not the official CIFAR-10"):
        load_dataset(f"cifar10:{tmp_path}", 32)
    (tmp_path / "train_32x32.mat").write_bytes(b"not a mat file")
    with pytest.raises(DatasetError, match=r"train_32x32\.mat: "):
        load_dataset(f"svhn:{tmp_path}", 32)


@pytest.mark.parametrize(
    "spec,message",
    [
        ("mnist:", "needs the folder that holds MNIST"),
        ("mnist:/data?split=valid", "MNIST has no split 'valid'; choose train, test, all"),
        ("cifar10:/data?attrs=Smiling", "unknown option 'attrs'"),
        ("svhn:/data?download=perhaps", "download='perhaps' is not a yes/no value"),
        ("celeba:/data?attrs=Smiling,Smiling", "named twice"),
    ],
)
def test_bad_specs_are_explained(spec, message):
    with pytest.raises(DatasetError, match=message):
        parse_spec(spec)


def test_download_happens_only_when_asked(tmp_path, monkeypatch):
    from torchvision import datasets

    calls = []

    def fake_download(self):
        calls.append(self.root)
        write_mnist(tmp_path)  # what a download leaves behind

    monkeypatch.setattr(datasets.MNIST, "download", fake_download)
    with pytest.raises(DatasetError, match="is missing"):
        load_dataset(f"mnist:{tmp_path}", 32)
    assert calls == []
    # Asked for: the space is known before the files exist, and loading fetches them first.
    assert isinstance(dataset_space(f"mnist:{tmp_path}?download=1"), Categorical)
    data = load_dataset(f"mnist:{tmp_path}?download=1", 32, channels=1)
    assert calls and len(data) == 20


# --- CelebA ------------------------------------------------------------------------------


def test_celeba_attributes_condition_the_model(tmp_path):
    truth = write_celeba(tmp_path)
    spec = f"celeba:{tmp_path}?attrs=Smiling,Male&split=all"
    space = dataset_space(spec)
    assert isinstance(space, MultiAttribute)
    assert space.attributes == [("Smiling", ["no", "yes"]), ("Male", ["no", "yes"])]
    data = load_dataset(spec, 16)
    assert data.images.shape == (6, 3, 16, 16) and data.space == space
    assert data.labels.tolist() == truth[:, [SMILING, MALE]].tolist()
    assert data.space.caption(torch.tensor([1, 0])) == "yes Smiling, no Male"
    # The centre square is kept: no red from the top and bottom bands, green exactly when smiling.
    red = data.images[:, 0].float().mean((1, 2))
    green = data.images[:, 1].float().mean((1, 2))
    assert (red < 40).all()
    assert ((green > 150) == (data.labels[:, 0] == 1)).all()


def test_celeba_splits_and_unlabelled_use(tmp_path):
    write_celeba(tmp_path)
    assert len(load_dataset(f"celeba:{tmp_path}?attrs=Smiling", 16)) == 3  # partition 0
    assert len(load_dataset(f"celeba:{tmp_path}?attrs=Smiling&split=test", 16)) == 2
    plain = load_dataset(f"celeba:{tmp_path}", 16)
    assert isinstance(plain.space, NoCondition) and plain.labels.shape == (3, 0)
    every = dataset_space(f"celeba:{tmp_path}?attrs=all")
    assert every.sizes == [2] * 40


def test_a_missing_celeba_image_is_skipped_with_a_studio_warning(tmp_path):
    write_celeba(tmp_path)
    (tmp_path / "celeba" / "img_align_celeba" / "000002.jpg").unlink()
    with pytest.warns(StudioWarning, match=r"skipped 1 unreadable or missing image\(s\): 000002\.jpg"):
        data = load_dataset(f"celeba:{tmp_path}?attrs=Smiling&split=all", 16)
    assert len(data) == 5


def test_unknown_celeba_attribute_lists_the_choices(tmp_path):
    write_celeba(tmp_path)
    with pytest.raises(DatasetError, match=r"no attribute 'Smile' in CelebA; choose from 5_o_Clock_Shadow, .*Smiling"):
        dataset_space(f"celeba:{tmp_path}?attrs=Smile")


def test_every_torchvision_kind_is_a_dataset_source():
    from studio.data.dataset import TORCHVISION_KINDS
    from studio.data.torchvision_sets import TORCHVISION_SETS

    assert set(TORCHVISION_KINDS) == set(TORCHVISION_SETS)
