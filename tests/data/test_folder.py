"""Reading a class-per-subfolder image folder."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from PIL import Image

from studio.data.folder import FolderImages, read_image_folder
from studio.errors import DatasetError, StudioWarning


def _save(path, size, colour, fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path, format=fmt)


@pytest.fixture
def dataset(tmp_path):
    root = tmp_path / "pets"
    _save(root / "dogs" / "a.png", (40, 30), (200, 10, 10))
    _save(root / "dogs" / "b.JPG", (20, 50), (10, 200, 10), fmt="JPEG")
    _save(root / "cats" / "c.bmp", (16, 16), (10, 10, 200))
    _save(root / "cats" / "deep" / "d.webp", (33, 17), (250, 250, 250))
    (root / "cats" / "notes.txt").write_text("not an image")
    (root / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    return root


def test_reads_classes_sizes_and_labels(dataset):
    with pytest.warns(StudioWarning, match=r"skipped 1 .*broken\.png"):
        data = read_image_folder(dataset, size=24)
    assert isinstance(data, FolderImages)
    assert data.class_names == ["cats", "dogs"]
    assert data.images.shape == (4, 24, 24, 3) and data.images.dtype == np.uint8
    assert data.labels.dtype == np.int64
    assert sorted(data.labels.tolist()) == [0, 0, 1, 1]
    assert data.skipped == ["cats/broken.png"]
    # every image is a flat colour, so the crop must keep that colour
    means = {tuple(np.round(im.reshape(-1, 3).mean(0) / 50).astype(int)) for im in data.images}
    assert (4, 0, 0) in means and (0, 4, 0) in means and (0, 0, 4) in means


def test_grey_output_and_progress(dataset):
    calls = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = read_image_folder(dataset, size=8, channels=1, progress=lambda done, total: calls.append((done, total)))
    assert data.images.shape == (4, 8, 8, 1)
    assert calls and calls[-1] == (5, 5)


def test_centre_crop_keeps_the_middle(tmp_path):
    image = Image.new("RGB", (90, 30), (0, 0, 255))
    image.paste((255, 0, 0), (30, 0, 60, 30))  # red middle third
    (tmp_path / "only").mkdir()
    image.save(tmp_path / "only" / "wide.png")
    data = read_image_folder(tmp_path, size=10)
    assert data.images.shape == (1, 10, 10, 3)
    assert data.images[0, :, :, 0].min() > 200 and data.images[0, :, :, 2].max() < 60


def test_missing_folder(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(DatasetError, match="does not exist") as info:
        read_image_folder(missing, size=16)
    assert str(missing) in str(info.value)


def test_file_instead_of_folder(tmp_path):
    path = tmp_path / "x.png"
    _save(path, (4, 4), (0, 0, 0))
    with pytest.raises(DatasetError, match="not a folder") as info:
        read_image_folder(path, size=16)
    assert str(path) in str(info.value)


def test_empty_folder(tmp_path):
    with pytest.raises(DatasetError, match="empty") as info:
        read_image_folder(tmp_path, size=16)
    assert str(tmp_path) in str(info.value)


def test_images_without_class_folders(tmp_path):
    _save(tmp_path / "a.png", (8, 8), (1, 2, 3))
    _save(tmp_path / "b.png", (8, 8), (1, 2, 3))
    with pytest.raises(DatasetError, match="label-less") as info:
        read_image_folder(tmp_path, size=16)
    message = str(info.value)
    assert str(tmp_path) in message and "subfolder per class" in message


def test_class_folders_without_images(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "readme.md").write_text("hi")
    with pytest.raises(DatasetError, match="no image files") as info:
        read_image_folder(tmp_path, size=16)
    assert str(tmp_path) in str(info.value)


def test_skipped_images_warn_as_studio_warnings(tmp_path):
    # The command line prints a StudioWarning as one "warning: ..." line; the texts stay as they were.
    _save(tmp_path / "dogs" / "a.png", (16, 16), (200, 10, 10))
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        read_image_folder(tmp_path, size=16)
    assert [(w.category, str(w.message)) for w in caught] == [
        (StudioWarning, f"image folder {tmp_path}: skipped 1 unreadable file(s): cats/broken.png"),
        (StudioWarning, f"image folder {tmp_path}: class folder(s) without readable images: cats"),
    ]


def test_nothing_readable(tmp_path):
    (tmp_path / "cats").mkdir()
    (tmp_path / "cats" / "a.png").write_bytes(b"nope")
    (tmp_path / "cats" / "b.jpg").write_bytes(b"")
    with pytest.raises(DatasetError, match="could be read") as info:
        read_image_folder(tmp_path, size=16)
    assert str(tmp_path) in str(info.value)


def test_transparency_is_flattened_onto_white(tmp_path):
    (tmp_path / "logos").mkdir()
    Image.new("RGBA", (12, 12), (0, 0, 0, 0)).save(tmp_path / "logos" / "clear.png")
    Image.new("I;16", (12, 12), 65535).save(tmp_path / "logos" / "deep.png")
    rgb = read_image_folder(tmp_path, size=6)
    grey = read_image_folder(tmp_path, size=6, channels=1)
    assert rgb.images.min() >= 250 and grey.images.min() >= 250
