"""Label tables: a folder of images and a CSV or JSON file that labels them.

::

    table:PATH/tags.csv     rows "id,tags":  0,blonde hair blue eyes      -> multi-attribute (hair x eyes)
    table:PATH/train.json   {"a.png": ["red cube", "gray sphere"], ...}   -> multi-label (i-CLEVR)

Options after ``?`` (relative paths are relative to the table's folder):

    images=DIR              where the images are; default PATH/images/ when it exists, else PATH/
    attributes=hair,eyes    CSV: the attribute words of the tags, in order; by default guessed: of the
                            words in most rows, those that read the most rows as VALUE ATTRIBUTE
                            phrases, ordered as they appear
    hair=aqua,black,...     the values of one attribute, in this order; rows with other values are
                            skipped.  By default an attribute's values are those in the table, sorted
    objects=FILE            JSON: the label names, as {"name": index} or ["name", ...]; by default
                            objects.json beside the table, else the names in the table, sorted
    space=multi-label       read CSV tags as a list of labels (split at , ; |) instead of "VALUE ATTRIBUTE" pairs

An id names a file in the image folder with or without its extension (``0``
finds ``0.jpg``).  A tag string is a run of ``VALUE ATTRIBUTE`` phrases, e.g.
``light blue hair red eyes``; a value may have several words.  Rows that
name a missing image or a tag the table cannot map are skipped, and one
warning gives their count and first line numbers; a table where no row maps
is refused.  Sorted value names make the space independent of row order:
the same table always gives the same condition space.
"""

from __future__ import annotations

import csv
import os
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np
import torch

from studio.core import jsonio
from studio.core.conditions import ConditionSpace, MultiAttribute, MultiLabel
from studio.data.folder import IMAGE_EXTENSIONS
from studio.data.sources import cached_tensors, check_options, file_stamp, option_list, split_options
from studio.errors import DatasetError, StudioWarning

__all__ = ["LabelTable", "TableSpec", "parse_table_spec", "read_table", "table_space", "load_table"]

SPACES = ("multi-attribute", "multi-label")
_HEADER_IDS = {"id", "file", "filename", "file_name", "image", "image_id", "name", "path"}
_RESERVED = ("images", "attributes", "objects", "space")
# Attribute words are guessed from the first rows, among this many frequent words.
_DETECT_ROWS = 500
_CANDIDATES = 6
_SHOWN = 5
_LABEL_SPLIT = re.compile(r"[,;|]")


@dataclass(frozen=True)
class TableSpec:
    path: Path
    options: dict = field(hash=False)
    spec: str = ""

    def resolve(self, text: str) -> Path:
        p = Path(text).expanduser()
        return p if p.is_absolute() else self.path.parent / p


@dataclass
class LabelTable:
    """The rows of a table that map to an image and a label, and why the others do not."""

    path: Path
    images_dir: Path
    files: list[str]  # one image path per kept row (strings: thousands of Paths cost a GUI-visible moment)
    labels: torch.Tensor  # per the space: (N, A) int64 or (N, K) float
    space: ConditionSpace
    total: int  # rows read (a header row not counted)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (where, why), e.g. ("line 4", "...")

    def skipped_message(self) -> str:
        """One warning: how many rows were skipped, the first few places and reasons."""
        n = len(self.skipped)
        lines = [w for w, _ in self.skipped]
        unit = "rows" if lines and lines[0].startswith("line") else "entries"
        places = ", ".join(w.removeprefix("line ") for w, _ in self.skipped[:_SHOWN])
        more = f" and {n - _SHOWN} more" if n > _SHOWN else ""
        reasons = "; ".join(f"{w}: {why}" for w, why in self.skipped[:3])
        label = "lines" if unit == "rows" else "entries"
        return f"{self.path}: skipped {n} of {self.total} {unit} ({label} {places}{more}) -- {reasons}"


def parse_table_spec(value: str) -> TableSpec:
    """Check the spec's syntax (no file is touched)."""
    spec = f"table:{value}"
    path, options = split_options(value)
    if not path.strip():
        raise DatasetError(f"dataset {spec!r}: table: needs a CSV or JSON file, e.g. table:~/data/anime/tags.csv")
    space = options.get("space", "")
    if space and space not in SPACES:
        raise DatasetError(f"dataset {spec!r}: space={space} is not one of {', '.join(SPACES)}")
    return TableSpec(Path(path.strip()).expanduser(), options, spec)


# --- rows -------------------------------------------------------------------------


@dataclass
class _Row:
    where: str  # "line 4" or "entry 'a.png'"
    key: str  # the image id
    tags: str | list[str]


def _read_rows(path: Path) -> tuple[list[_Row], bool]:
    """The table's rows, and whether it is JSON."""
    if path.suffix.lower() == ".json":
        return _read_json(path), True
    return _read_csv(path), False


def _read_csv(path: Path) -> list[_Row]:
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    rows: list[_Row] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f, delimiter=delimiter)
            first = True
            for fields in reader:
                if not any(x.strip() for x in fields):
                    continue
                if first:
                    first = False
                    if fields[0].strip().lower() in _HEADER_IDS:
                        continue  # a header row
                where = f"line {reader.line_num}"
                # Unquoted commas inside the tags split them into more fields: join them again.
                tags = delimiter.join(fields[1:]) if len(fields) > 1 else ""
                rows.append(_Row(where, fields[0].strip(), tags))
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not a UTF-8 text table ({exc.reason} at byte {exc.start})") from None
    except csv.Error as exc:
        raise DatasetError(f"{path}: not a readable CSV table ({exc})") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    return rows


def _read_json(path: Path) -> list[_Row]:
    data = jsonio.read_json(path, DatasetError, "JSON label table", encoding="utf-8-sig")
    if not isinstance(data, dict):
        raise DatasetError(
            f'{path}: expected an object of image file -> labels, e.g. {{"a.png": ["red cube"]}}, '
            f"not a {type(data).__name__}"
        )
    return [_Row(f"entry {key!r}", str(key), value) for key, value in data.items()]


class _ImageIndex:
    """The image folder listed once: ids find files with or without their extension."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.by_name: dict[str, str] = {}
        self.by_stem: dict[str, str] = {}
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise DatasetError(f"image folder {folder} cannot be listed ({exc.strerror or exc})") from None
        for entry in entries:
            suffix = os.path.splitext(entry.name)[1].lower()
            if suffix in IMAGE_EXTENSIONS and not entry.name.startswith(".") and entry.is_file():
                self.by_name[entry.name] = entry.path
                self.by_stem.setdefault(os.path.splitext(entry.name)[0], entry.path)

    def find(self, key: str) -> str | None:
        if "/" in key or "\\" in key:
            path = self.folder / key
            return str(path) if path.is_file() else None
        return self.by_name.get(key) or self.by_stem.get(key)


# --- tags -> labels ---------------------------------------------------------------------


def _words(tags: str) -> list[str]:
    return tags.replace(",", " ").replace(";", " ").split()


def _detect_attributes(rows: list[_Row]) -> list[str]:
    """The attribute words: of the words in most rows that rarely start one, the set that
    parses the most rows as VALUE ATTRIBUTE phrases, ordered by where they stand."""
    texts = [r.tags for r in rows if isinstance(r.tags, str) and _words(r.tags)][:_DETECT_ROWS]
    present: Counter[str] = Counter()
    first: Counter[str] = Counter()
    position: dict[str, float] = {}
    for text in texts:
        words = _words(text)
        first[words[0]] += 1
        for word in dict.fromkeys(words):
            present[word] += 1
            position[word] = position.get(word, 0.0) + words.index(word) / len(words)
    n = len(texts)
    candidates = [w for w, c in present.most_common() if c >= n / 2 and first[w] <= n / 4][:_CANDIDATES]
    best: tuple[int, int] = (0, 0)
    chosen: list[str] = []
    for k in range(1, len(candidates) + 1):
        for subset in combinations(candidates, k):
            parsed = sum(isinstance(_phrases(t, list(subset)), dict) for t in texts)
            if (parsed, k) > best:
                best, chosen = (parsed, k), list(subset)
    if best[0] <= n / 2:
        return []  # no reading explains most rows
    return sorted(chosen, key=lambda w: position[w] / present[w])


def _phrases(tags: str, attributes: list[str]) -> dict[str, str] | str:
    """'light blue hair red eyes' -> {'hair': 'light blue', 'eyes': 'red'}, or why not."""
    wanted = set(attributes)
    found: dict[str, str] = {}
    pending: list[str] = []
    for word in _words(tags):
        if word in wanted:
            if not pending:
                return f"'{word}' has no value before it in {tags!r}"
            if word in found:
                return f"two values of {word} in {tags!r}"
            found[word] = " ".join(pending)
            pending = []
        else:
            pending.append(word)
    if pending:
        return f"unknown tag {' '.join(pending)!r} in {tags!r} (not followed by {' or '.join(attributes)})"
    missing = [a for a in attributes if a not in found]
    if missing:
        return f"no {missing[0]} in {tags!r}" if tags.strip() else "no tags"
    return found


def _object_names(table: TableSpec) -> list[str] | None:
    """Label names in index order from objects=FILE, or objects.json beside the table."""
    given = table.options.get("objects")
    path = table.resolve(given) if given else table.path.parent / "objects.json"
    if not given and (not path.is_file() or path.resolve() == table.path.resolve()):
        return None
    if not path.exists():
        raise DatasetError(f"{path}: no such label list (objects={given})")
    data = jsonio.read_json(path, DatasetError, "JSON label list", encoding="utf-8-sig")
    if isinstance(data, list) and all(isinstance(n, str) for n in data):
        names = list(data)
    elif isinstance(data, dict) and all(isinstance(i, int) for i in data.values()):
        if sorted(data.values()) != list(range(len(data))):
            raise DatasetError(f"{path}: the label indices should be 0..{len(data) - 1}, each once")
        names = sorted(data, key=data.__getitem__)
    else:
        raise DatasetError(f'{path}: expected {{"name": index, ...}} or ["name", ...]')
    if len(set(names)) != len(names):
        raise DatasetError(f"{path}: a label name appears twice")
    return names


def _label_list(row: _Row, json_table: bool) -> list[str] | str:
    if isinstance(row.tags, list):
        if not all(isinstance(t, str) for t in row.tags):
            return "expected a list of label names"
        names = [t.strip() for t in row.tags if t.strip()]
    elif isinstance(row.tags, str):
        names = [t.strip() for t in _LABEL_SPLIT.split(row.tags) if t.strip()]
    else:
        return "expected a list of label names" if json_table else "no tags"
    return names if names else "no labels"


def read_table(value: str) -> LabelTable:
    """Parse the table and find each row's image (no image is decoded)."""
    table = parse_table_spec(value)
    path = table.path
    if not path.is_file():
        raise DatasetError(
            f"{path}: no such label table; point the spec at the CSV or JSON file, e.g. "
            f"table:/data/anime-faces/tags.csv (images in its folder's images/ unless ?images=DIR)"
        )
    if "images" in table.options:
        images_dir = table.resolve(table.options["images"])
    else:
        images_dir = path.parent / "images" if (path.parent / "images").is_dir() else path.parent
    if not images_dir.is_dir():
        raise DatasetError(f"image folder {images_dir} (images= of {path.name}) does not exist")
    rows, json_table = _read_rows(path)
    if not rows:
        example = '{"a.png": ["red cube"]}' if json_table else "'0,blonde hair blue eyes'"
        raise DatasetError(f"{path}: no rows; expected entries such as {example}")
    space = table.options.get("space") or (
        "multi-label" if json_table and any(isinstance(r.tags, list) for r in rows[:100]) else "multi-attribute"
    )
    index = _ImageIndex(images_dir)
    skipped: list[tuple[str, str]] = []
    found: list[tuple[_Row, str]] = []
    for row in rows:
        image = index.find(row.key)
        if image is None:
            skipped.append((row.where, f"image {row.key!r} is not in {images_dir}"))
        else:
            found.append((row, image))
    if space == "multi-label":
        check_options(table.spec, table.options, ("images", "objects", "space"))
        result = _multi_label(table, found, json_table, skipped)
    else:
        result = _multi_attribute(table, rows, found, skipped)
    files, labels, condition = result
    order = {r.where: i for i, r in enumerate(rows)}
    skipped.sort(key=lambda s: order.get(s[0], 0))
    if not files:
        reasons = "; ".join(f"{w}: {why}" for w, why in skipped[:3])
        raise DatasetError(f"{path}: none of its {len(rows)} rows maps to an image and known labels -- {reasons}")
    return LabelTable(path, images_dir, files, labels, condition, len(rows), skipped)


def _multi_attribute(table: TableSpec, rows: list[_Row], found: list[tuple[_Row, str]], skipped: list):
    path = table.path
    attributes = option_list(table.options, "attributes") or _detect_attributes(rows)
    if not attributes:
        sample = next((r.tags for r in rows if isinstance(r.tags, str) and r.tags.strip()), "")
        raise DatasetError(
            f"{path}: cannot tell attribute words from values in tags such as {sample!r}; name them, "
            f"e.g. table:{path}?attributes=hair,eyes"
        )
    check_options(table.spec, table.options, _RESERVED + tuple(attributes))
    given = {a: option_list(table.options, a) for a in attributes if a in table.options}
    parsed: list[tuple[str, dict[str, str]]] = []
    for row, image in found:
        phrases = _phrases(row.tags, attributes) if isinstance(row.tags, str) else "expected a tag string"
        if isinstance(phrases, str):
            skipped.append((row.where, phrases))
            continue
        unknown = next(((a, v) for a, v in phrases.items() if a in given and v not in given[a]), None)
        if unknown:
            skipped.append((row.where, f"unknown {unknown[0]} value {unknown[1]!r}"))
            continue
        parsed.append((image, phrases))
    values = {a: given.get(a) or sorted({p[a] for _, p in parsed}) for a in attributes}
    if parsed:
        for a, names in values.items():
            if len(names) < 2:
                raise DatasetError(
                    f"{path}: attribute '{a}' has only the value {names[0]!r} in the table; "
                    f"a condition needs at least two"
                )
    space = MultiAttribute([(a, values[a]) for a in attributes]) if parsed else None
    lookup = {a: {v: i for i, v in enumerate(values[a])} for a in attributes}
    labels = torch.tensor([[lookup[a][p[a]] for a in attributes] for _, p in parsed], dtype=torch.long)
    return [image for image, _ in parsed], labels.view(len(parsed), len(attributes)), space


def _multi_label(table: TableSpec, found: list[tuple[_Row, str]], json_table: bool, skipped: list):
    known = _object_names(table)
    parsed: list[tuple[str, list[str]]] = []
    for row, image in found:
        names = _label_list(row, json_table)
        if isinstance(names, str):
            skipped.append((row.where, names))
            continue
        unknown = [n for n in names if known is not None and n not in known]
        if unknown:
            skipped.append((row.where, f"unknown label {unknown[0]!r}"))
            continue
        parsed.append((image, list(dict.fromkeys(names))))
    names = known or sorted({n for _, labels in parsed for n in labels})
    if not parsed:
        return [], torch.zeros(0, len(names)), None
    if len(names) < 2:
        raise DatasetError(f"{table.path}: only the label {names[0]!r} occurs; a condition needs at least two")
    counts = [len(labels) for _, labels in parsed]
    space = MultiLabel(names, min(counts), max(counts))
    position = {n: i for i, n in enumerate(names)}
    labels = torch.zeros(len(parsed), len(names))
    for i, (_, row_labels) in enumerate(parsed):
        labels[i, [position[n] for n in row_labels]] = 1.0
    return [image for image, _ in parsed], labels, space


def table_space(value: str) -> ConditionSpace:
    """The table's condition space (reads the table and lists the image folder; decodes nothing)."""
    return read_table(value).space


# --- images -------------------------------------------------------------------------


def load_table(
    value: str, image_size: int, channels: int, progress=None
) -> tuple[torch.Tensor, torch.Tensor, ConditionSpace]:
    """(images uint8 (N, C, H, W), labels, space); skipped rows and unreadable images give one warning each."""
    from studio.data.folder import _load, decode_in_threads

    table = read_table(value)
    if table.skipped:
        warnings.warn(table.skipped_message(), StudioWarning, stacklevel=2)
    mode = "RGB" if channels == 3 else "L"
    key = {
        "source": "table",
        "table": file_stamp([table.path]),
        "options": split_options(value)[1],
        "images": file_stamp(table.files),
        "image_size": image_size,
        "channels": channels,
    }
    n = len(table.files)

    def build() -> dict[str, torch.Tensor]:
        out = torch.empty(n, image_size, image_size, channels, dtype=torch.uint8)
        pixels = out.numpy()  # threads write decoded images straight into the tensor

        def decode(i: int) -> bool:
            array = _load(table.files[i], image_size, mode)
            if array is None:
                return False
            pixels[i] = array.reshape(image_size, image_size, channels)
            return True

        def report(done: int) -> None:
            if progress:
                progress(f"Reading {table.path.name}: {done}/{n} images", done / n)

        ok = decode_in_threads(n, decode, report, every=max(1, n // 100))
        keep = torch.from_numpy(np.flatnonzero(ok))
        return {"images": out[keep].permute(0, 3, 1, 2).contiguous(), "keep": keep}

    def announce() -> None:
        if progress:
            progress(f"Loading cached {table.path.name} ({n} images)", 0.0)

    if progress:
        progress(f"Reading {table.path.name}: 0/{n} images", 0.0)
    tensors = cached_tensors("table", key, build, on_cached=announce)
    keep = tensors["keep"]
    if len(keep) < n:
        kept = set(keep.tolist())
        bad = [os.path.basename(table.files[i]) for i in range(n) if i not in kept]
        if not kept:
            raise DatasetError(
                f"image folder {table.images_dir}: none of the {n} images of {table.path.name} "
                f"could be read (first: {', '.join(bad[:_SHOWN])})"
            )
        more = f" and {len(bad) - _SHOWN} more" if len(bad) > _SHOWN else ""
        warnings.warn(
            f"image folder {table.images_dir}: skipped {len(bad)} unreadable image(s) of "
            f"{table.path.name}: {', '.join(bad[:_SHOWN])}{more}",
            StudioWarning,
            stacklevel=2,
        )
    return tensors["images"], table.labels[keep], table.space
