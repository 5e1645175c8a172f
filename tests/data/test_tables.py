"""Label tables: CSV tags onto hair x eyes, JSON object lists onto multi-label, bad rows skipped by line."""

from __future__ import annotations

import json
import warnings

import pytest
import torch
from PIL import Image

from studio.core.conditions import MultiAttribute, MultiLabel
from studio.data.dataset import dataset_space, load_dataset, parse_spec
from studio.data.tables import read_table
from studio.errors import DatasetError, StudioWarning


def _image(path, colour, size=(20, 24)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)


def _anime_like(root, lines: list[str], images: dict[str, tuple]) -> str:
    """A tags.csv with ``lines`` and images/<name> of one colour each."""
    for name, colour in images.items():
        _image(root / "images" / name, colour)
    (root / "tags.csv").write_text("\n".join(lines) + "\n")
    return f"table:{root / 'tags.csv'}"


RED, BLUE, GREY = (220, 20, 20), (20, 20, 220), (128, 128, 128)


def test_csv_tags_map_onto_hair_by_eyes(tmp_path):
    spec = _anime_like(
        tmp_path,
        ["0,red hair blue eyes", "1,blue hair red eyes", "2,light blue hair blue eyes", "3,red hair red eyes"],
        {"0.jpg": RED, "1.png": BLUE, "2.jpg": BLUE, "3.jpg": RED},
    )
    space = dataset_space(spec)
    assert isinstance(space, MultiAttribute)
    # Attributes in the order they appear in the tags; values sorted, multi-word values kept whole.
    assert space.attributes == [("hair", ["blue", "light blue", "red"]), ("eyes", ["blue", "red"])]
    data = load_dataset(spec, 16)
    assert data.images.shape == (4, 3, 16, 16) and data.images.dtype == torch.uint8
    assert data.space == space
    assert data.labels.tolist() == [[2, 0], [0, 1], [1, 0], [2, 1]]
    # Each image is its row's: the red ones are rows 0 and 3.
    assert data.images[0, 0].float().mean() > 200 and data.images[1, 2].float().mean() > 200
    assert data.space.caption(data.labels[2]) == "light blue hair, blue eyes"


def test_bad_rows_are_skipped_and_reported_by_line(tmp_path):
    lines = [
        "id,tags",  # a header row is not data
        "0,red hair blue eyes",
        "1,red hair blue eyes",  # line 3: no image 1
        "2,red hair blue eyes smiling",  # line 4: a trailing unknown tag
        "3,red hair",  # line 5: no eyes
        "4,blue hair red eyes",
        "5,eyes blue hair red",  # line 7: an attribute word with no value before it
        "6,blue hair blue eyes",
    ]
    spec = _anime_like(tmp_path, lines, {f"{i}.png": RED for i in (0, 2, 3, 4, 5, 6)})
    with pytest.warns(UserWarning) as caught:
        data = load_dataset(spec, 16)
    messages = [str(w.message) for w in caught]
    skipped = [w for w in caught if "skipped" in str(w.message)]
    assert len(skipped) == 1, messages
    # A StudioWarning: the command line prints it as one "warning: ..." line.
    assert skipped[0].category is StudioWarning
    text = str(skipped[0].message)
    assert "skipped 4 of 7 rows" in text and "lines 3, 4, 5, 7" in text
    assert "image '1' is not in" in text and "unknown tag 'smiling'" in text
    assert len(data) == 3 and data.labels.tolist() == [[1, 0], [0, 1], [0, 0]]


def test_a_row_whose_tags_are_only_separators_is_skipped_not_a_crash(tmp_path):
    # A spreadsheet export with an extra empty column, and one image left untagged.
    lines = ["0,red hair blue eyes,", "1,blue hair red eyes,", "2,red hair red eyes,", "3,,", "4,blue hair blue eyes,"]
    spec = _anime_like(tmp_path, lines, {f"{i}.png": RED for i in range(5)})
    assert dataset_space(spec).attributes == [("hair", ["blue", "red"]), ("eyes", ["blue", "red"])]
    with pytest.warns(UserWarning, match="line 4"):
        data = load_dataset(spec, 16)
    assert len(data) == 4


def test_value_lists_fix_the_order_and_refuse_other_values(tmp_path):
    spec = _anime_like(
        tmp_path,
        ["0,red hair blue eyes", "1,blue hair red eyes", "2,green hair red eyes"],
        {"0.png": RED, "1.png": BLUE, "2.png": GREY},
    )
    ordered = spec + "?hair=red,blue&eyes=red,blue"
    space = dataset_space(ordered)
    assert space.attributes == [("hair", ["red", "blue"]), ("eyes", ["red", "blue"])]
    with pytest.warns(UserWarning, match=r"skipped 1 of 3 rows \(lines 3\).*unknown hair value 'green'"):
        data = load_dataset(ordered, 16)
    assert data.labels.tolist() == [[0, 1], [1, 0]]


def test_a_table_where_nothing_maps_is_refused(tmp_path):
    spec = _anime_like(tmp_path, ["10,red hair blue eyes", "11,blue hair red eyes"], {"0.png": RED})
    with pytest.raises(DatasetError, match=r"tags\.csv: none of its 2 rows maps.*line 1: image '10' is not in"):
        dataset_space(spec)


def test_missing_table_and_image_folder_are_named(tmp_path):
    with pytest.raises(DatasetError, match=r"nowhere\.csv: no such label table"):
        dataset_space(f"table:{tmp_path / 'nowhere.csv'}")
    (tmp_path / "t.csv").write_text("0,red hair blue eyes\n")
    with pytest.raises(DatasetError, match=r"image folder .*pics .*does not exist"):
        dataset_space(f"table:{tmp_path / 't.csv'}?images=pics")
    with pytest.raises(DatasetError, match="unknown option 'colour'"):
        dataset_space(f"table:{tmp_path / 't.csv'}?colour=1")
    with pytest.raises(DatasetError, match="needs a CSV or JSON file"):
        parse_spec("table:")


def test_tags_without_clear_attributes_ask_for_them(tmp_path):
    spec = _anime_like(tmp_path, ["0,cat", "1,dog", "2,cat sitting"], {f"{i}.png": RED for i in range(3)})
    with pytest.raises(DatasetError, match=r"cannot tell attribute words.*\?attributes=hair,eyes"):
        dataset_space(spec)


def test_csv_as_labels_and_an_unreadable_image(tmp_path):
    root = tmp_path
    for i in range(3):
        _image(root / f"{i}.png", RED)
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    (root / "t.csv").write_text('0,"cat;dog"\n1,dog\n2,"bird, cat"\nbroken,cat\n')
    spec = f"table:{root / 't.csv'}?space=multi-label"
    space = dataset_space(spec)
    assert isinstance(space, MultiLabel) and space.names == ["bird", "cat", "dog"]
    assert (space.min_count, space.max_count) == (1, 2)
    with pytest.warns(StudioWarning, match=r"skipped 1 unreadable image.*broken\.png"):
        data = load_dataset(spec, 16)
    assert data.labels.tolist() == [[0, 1, 1], [0, 0, 1], [1, 1, 0]]


def _iclevr_like(root, entries: dict[str, list[str]], objects: dict[str, int] | None) -> str:
    for i, name in enumerate(entries):
        _image(root / "images" / name, (40 * i % 255, 90, 160), size=(32, 24))
    (root / "train.json").write_text(json.dumps(entries))
    if objects is not None:
        (root / "objects.json").write_text(json.dumps(objects))
    return f"table:{root / 'train.json'}"


def test_json_object_lists_map_onto_multi_label(tmp_path):
    objects = {"gray cube": 0, "red cube": 1, "blue sphere": 2, "cyan cylinder": 3}
    entries = {
        "CLEVR_train_000001_0.png": ["red cube"],
        "CLEVR_train_000001_1.png": ["red cube", "blue sphere"],
        "CLEVR_train_000001_2.png": ["red cube", "blue sphere", "cyan cylinder"],
        "CLEVR_train_000002_0.png": ["pink pyramid"],  # not an object of objects.json
    }
    spec = _iclevr_like(tmp_path, entries, objects)
    (tmp_path / "images" / "CLEVR_train_000001_1.png").unlink()  # a missing image
    space = dataset_space(spec)
    assert isinstance(space, MultiLabel) and space.names == list(objects)  # in objects.json's index order
    assert (space.min_count, space.max_count) == (1, 3)
    with pytest.warns(UserWarning) as caught:
        data = load_dataset(spec, 16)
    text = " ".join(str(w.message) for w in caught)
    assert "skipped 2 of 4 entries" in text and "'CLEVR_train_000001_1.png'" in text
    assert "unknown label 'pink pyramid'" in text
    assert data.labels.tolist() == [[0, 1, 0, 0], [0, 1, 1, 1]]
    assert data.space.caption(data.labels[1]) == "red cube, blue sphere, cyan cylinder"


def test_iclevr_label_files_with_synthetic_images(tmp_path, shared_data):
    train = json.loads((shared_data / "iclevr" / "train.json").read_text())
    names = list(train)[:12]
    objects = json.loads((shared_data / "iclevr" / "objects.json").read_text())
    spec = _iclevr_like(tmp_path, {n: train[n] for n in names}, objects)
    data = load_dataset(spec, 16)
    assert isinstance(data.space, MultiLabel) and data.space.dim == 24 and len(data) == 12
    # Each multi-hot row holds exactly the objects i-CLEVR lists, at objects.json's indices.
    for row, name in zip(data.labels, names):
        assert sorted(row.nonzero().flatten().tolist()) == sorted(objects[o] for o in train[name])


def test_json_errors_name_the_file(tmp_path):
    (tmp_path / "bad.json").write_text('{"a.png": ["red cube"],\n "b.png": }')
    with pytest.raises(DatasetError, match=r"bad\.json: damaged JSON label table \(.* at line 2"):
        dataset_space(f"table:{tmp_path / 'bad.json'}")
    (tmp_path / "list.json").write_text('["a.png"]')
    with pytest.raises(DatasetError, match=r"list\.json: expected an object of image file -> labels"):
        dataset_space(f"table:{tmp_path / 'list.json'}")


@pytest.mark.parametrize("name", ["train.json", "objects.json"])
def test_json_nested_too_deeply_is_one_error_naming_the_file(tmp_path, name):
    # json raises RecursionError (not a decode error) on such a file: it must still read as damage, in one line.
    _image(tmp_path / "images" / "a.png", RED)
    (tmp_path / "train.json").write_text(json.dumps({"a.png": ["red cube"]}))
    (tmp_path / "objects.json").write_text(json.dumps({"red cube": 0, "gray sphere": 1}))
    (tmp_path / name).write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DatasetError) as info:
        dataset_space(f"table:{tmp_path / 'train.json'}")
    message = str(info.value)
    assert message.startswith(f"{tmp_path / name}: damaged JSON") and "nested too deeply" in message
    assert "\n" not in message


def test_second_load_comes_from_the_cache_and_a_changed_table_is_read_again(tmp_path, monkeypatch):
    import studio.data.folder as folder

    spec = _anime_like(tmp_path, ["0,red hair blue eyes", "1,blue hair red eyes"], {"0.png": RED, "1.png": BLUE})
    first = load_dataset(spec, 16)

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again although the cache holds these images")

    monkeypatch.setattr(folder, "_load", no_decoding)
    again = load_dataset(spec, 16)
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    monkeypatch.undo()
    (tmp_path / "tags.csv").write_text("0,red hair blue eyes\n1,blue hair red eyes\n1,blue hair blue eyes\n")
    changed = load_dataset(spec, 16)
    assert len(changed) == 3 and changed.space.attributes[1][1] == ["blue", "red"]


def test_anime_table_without_network(shared_data, tmp_path):
    tags = shared_data / "anime-faces" / "tags.csv"
    space = dataset_space(f"table:{tags}")
    # Looks like the built-in faces (hair, then eyes), so the hair x eyes presets apply.
    assert isinstance(space, MultiAttribute) and space.sizes == [12, 10]
    assert [a for a, _ in space.attributes] == ["hair", "eyes"]
    assert "blonde" in space.attributes[0][1] and "yellow" in space.attributes[1][1]
    full = read_table(str(tags))
    assert len(full.files) == 8000 and not full.skipped
    # Decoding all 8,000 takes seconds: the real images of 64 rows spread over the table, in a table of their own.
    head = tags.read_text().splitlines()[::125]
    (tmp_path / "head.csv").write_text("\n".join(head) + "\n")
    spec = f"table:{tmp_path / 'head.csv'}?images={shared_data / 'anime-faces' / 'images'}"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the real rows all map
        data = load_dataset(spec, 32)
    assert data.images.shape == (64, 3, 32, 32) and data.images.float().std() > 20
    first_id, first_tags = head[0].split(",")
    hair, _, eyes, _ = first_tags.split()
    assert data.space.caption(data.labels[0]) == f"{hair} hair, {eyes} eyes"


def test_a_table_trains(tmp_path):
    from helpers import tiny_config

    from studio.core.rundir import RunDirectory
    from studio.core.trainer import Trainer

    colours = {f"{i}.png": (RED if i % 2 else BLUE) for i in range(16)}
    lines = [f"{i},{'red' if i % 2 else 'blue'} hair {'blue' if i % 4 < 2 else 'red'} eyes" for i in range(16)]
    spec = _anime_like(tmp_path, lines, colours)
    config = tiny_config(dataset=spec, family="acgan", image_size=32, batch_size=8, epochs=1)
    data = load_dataset(spec, 32)
    result = Trainer(config, data, RunDirectory(tmp_path / "run"), max_steps=2, write_files=False).run()
    assert result.step == 2
