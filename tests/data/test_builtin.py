"""Built-in procedural datasets: determinism, shapes, and labels that match the pixels."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from studio.data.builtin import _parallel
from studio.data.builtin.digits import STYLES, _glyph_mask, generate_digits
from studio.data.builtin.faces import (
    COLOUR_JITTER,
    EYE_COLOURS,
    HAIR_COLOURS,
    generate_faces,
)
from studio.data.builtin.shapes import COLOURS, OBJECT_NAMES, generate_shapes

OBJECTS_JSON = Path(__file__).parents[3] / "shared/data/iclevr/objects.json"


def _near(images: np.ndarray, rgb, tol: float) -> np.ndarray:
    """Per image, how many pixels lie within ``tol`` (RGB distance) of ``rgb``."""
    flat = images.reshape(len(images), -1, 3).astype(np.float32)
    rgb = np.asarray(rgb, np.float32).reshape(-1, 1, 3)
    return (np.linalg.norm(flat - rgb, axis=-1) < tol).sum(axis=1)


@pytest.fixture(scope="module")
def faces():
    return generate_faces(60, seed=11, workers=1)


@pytest.fixture(scope="module")
def shapes():
    return generate_shapes(60, seed=11, workers=1)


# ---------------------------------------------------------------- generic


@pytest.mark.parametrize("generate", [generate_faces, generate_shapes, generate_digits])
def test_same_seed_same_output_other_seed_differs(generate):
    first = generate(8, seed=5, workers=1)
    again = generate(8, seed=5, workers=1)
    other = generate(8, seed=6, workers=1)
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("generate", [generate_faces, generate_shapes, generate_digits])
def test_output_does_not_depend_on_worker_count(generate, monkeypatch):
    monkeypatch.setattr(_parallel, "SERIAL_BELOW", 0)  # force a real pool even for n=40
    serial = generate(40, seed=3, workers=1)
    pooled = generate(40, seed=3, workers=2)
    for a, b in zip(serial, pooled):
        np.testing.assert_array_equal(a, b)


@pytest.mark.skipif("spawn" not in multiprocessing.get_all_start_methods(), reason="no spawn")
def test_spawned_workers_give_the_same_output(monkeypatch):
    # The GUI generates data while other threads run, where spawn is used.
    monkeypatch.setattr(_parallel, "SERIAL_BELOW", 0)
    monkeypatch.setattr(_parallel, "_context", lambda: multiprocessing.get_context("spawn"))
    serial = generate_faces(12, seed=3, size=32, workers=1)
    spawned = generate_faces(12, seed=3, size=32, workers=2)
    for a, b in zip(serial, spawned):
        np.testing.assert_array_equal(a, b)


def test_prefix_of_a_larger_set_is_the_smaller_set():
    small = generate_digits(5, seed=9, workers=1)
    large = generate_digits(12, seed=9, workers=1)
    np.testing.assert_array_equal(small[0], large[0][:5])


@pytest.mark.parametrize("generate", [generate_faces, generate_shapes, generate_digits])
def test_zero_images(generate):
    images = generate(0, seed=0, workers=1)[0]
    assert images.shape[0] == 0 and images.dtype == np.uint8


# ---------------------------------------------------------------- faces


def test_colour_tables():
    assert [name for name, _ in HAIR_COLOURS] == [
        "orange",
        "white",
        "aqua",
        "gray",
        "green",
        "red",
        "purple",
        "pink",
        "blue",
        "black",
        "brown",
        "blonde",
    ]
    assert [name for name, _ in EYE_COLOURS] == [
        "black",
        "orange",
        "pink",
        "yellow",
        "aqua",
        "purple",
        "green",
        "brown",
        "red",
        "blue",
    ]
    for table in (HAIR_COLOURS, EYE_COLOURS):
        rgb = np.array([c for _, c in table], np.float32)
        gaps = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1) + np.eye(len(rgb)) * 1e3
        assert gaps.min() > 4 * COLOUR_JITTER  # jitter can never blur two classes


def test_faces_shapes_and_dtypes(faces):
    images, labels, colours = faces
    assert images.shape == (60, 64, 64, 3) and images.dtype == np.uint8
    assert labels.shape == (60, 2) and labels.dtype == np.int64
    assert colours.shape == (60, 6) and colours.dtype == np.float32
    assert labels[:, 0].min() >= 0 and labels[:, 0].max() < len(HAIR_COLOURS)
    assert labels[:, 1].min() >= 0 and labels[:, 1].max() < len(EYE_COLOURS)
    assert 0.0 <= colours.min() and colours.max() <= 1.0


def test_faces_other_size():
    images, labels, colours = generate_faces(3, seed=1, size=32, workers=1)
    assert images.shape == (3, 32, 32, 3)


def test_face_colours_are_the_named_colours(faces):
    _, labels, colours = faces
    hair = np.array([HAIR_COLOURS[i][1] for i in labels[:, 0]], np.float32)
    eye = np.array([EYE_COLOURS[i][1] for i in labels[:, 1]], np.float32)
    assert np.abs(colours[:, :3] * 255 - hair).max() <= COLOUR_JITTER + 0.5
    assert np.abs(colours[:, 3:] * 255 - eye).max() <= COLOUR_JITTER + 0.5


def test_faces_show_their_hair_and_eye_colour(faces):
    images, _, colours = faces
    for k in range(len(images)):
        one = images[k : k + 1]
        hair = _near(one, colours[k, :3] * 255, 35)[0]  # allows the shaded back hair
        eye = _near(one, colours[k, 3:] * 255, 25)[0]
        assert hair >= 200, f"face {k}: only {hair} hair-coloured pixels"
        assert eye >= 20, f"face {k}: only {eye} iris-coloured pixels"


def test_face_labels_are_roughly_balanced():
    _, labels, _ = generate_faces(240, seed=2, size=16, workers=1)
    hair = np.bincount(labels[:, 0], minlength=12)
    eye = np.bincount(labels[:, 1], minlength=10)
    assert hair.min() >= 6 and eye.min() >= 8


# ---------------------------------------------------------------- shapes


def test_object_names_follow_iclevr_order():
    if not OBJECTS_JSON.is_file():
        pytest.skip(f"i-CLEVR objects.json not found at {OBJECTS_JSON}")
    index = json.loads(OBJECTS_JSON.read_text())
    assert OBJECT_NAMES == sorted(index, key=index.get)
    assert [index[name] for name in OBJECT_NAMES] == list(range(24))


def test_object_names_are_colour_times_shape():
    assert len(OBJECT_NAMES) == 24 and len(set(OBJECT_NAMES)) == 24
    for i, name in enumerate(OBJECT_NAMES):
        assert name == f"{COLOURS[i % 8][0]} {('cube', 'sphere', 'cylinder')[i // 8]}"


def test_shapes_shapes_and_counts(shapes):
    images, labels = shapes
    assert images.shape == (60, 64, 64, 3) and images.dtype == np.uint8
    assert labels.shape == (60, 24) and labels.dtype == np.uint8
    assert set(np.unique(labels)) <= {0, 1}
    counts = labels.sum(axis=1)
    assert counts.min() >= 1 and counts.max() <= 3
    assert set(counts.tolist()) == {1, 2, 3}


def test_shapes_object_count_limits():
    _, labels = generate_shapes(20, seed=4, min_objects=3, max_objects=5, workers=1)
    counts = labels.sum(axis=1)
    assert counts.min() >= 3 and counts.max() <= 5


def test_shapes_show_exactly_the_labelled_colours(shapes):
    images, labels = shapes
    present = labels.reshape(-1, 3, 8).max(axis=1).astype(bool)  # colour in any shape
    for c, (name, rgb) in enumerate(COLOURS):
        counts = _near(images, rgb, 30)
        shown = counts[present[:, c]]
        absent = counts[~present[:, c]]
        assert shown.size == 0 or shown.min() >= 12, f"{name} object hardly visible"
        assert absent.size == 0 or absent.max() < 10, f"{name} pixels without a {name} object"


def test_shapes_bad_limits():
    with pytest.raises(ValueError):
        generate_shapes(2, seed=0, min_objects=3, max_objects=2)


# ---------------------------------------------------------------- digits


def test_digits_shapes_and_balance():
    images, labels = generate_digits(300, seed=8, workers=1)
    assert images.shape == (300, 32, 32, 3) and images.dtype == np.uint8
    assert labels.shape == (300,) and labels.dtype == np.int64
    assert labels.min() >= 0 and labels.max() <= 9
    counts = np.bincount(labels, minlength=10)
    assert counts.min() >= 15 and counts.max() <= 50


def test_digits_stand_out_from_background():
    images, _ = generate_digits(40, seed=8, workers=1)
    luma = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    spread = np.percentile(luma.reshape(40, -1), 99, axis=1) - np.percentile(luma.reshape(40, -1), 1, axis=1)
    assert spread.min() > 60


@pytest.mark.parametrize("style", STYLES)
def test_every_style_draws_ten_different_glyphs(style):
    masks = []
    for digit in range(10):
        rng = np.random.default_rng(0)  # same placement for every digit
        mask = np.asarray(_glyph_mask(rng, digit, style, 128), np.float32)
        assert mask.max() > 200, f"{style} {digit}: empty glyph"
        masks.append(mask / 255)
    for a in range(10):
        for b in range(a + 1, 10):
            assert np.abs(masks[a] - masks[b]).mean() > 0.02, f"{style}: {a} looks like {b}"
