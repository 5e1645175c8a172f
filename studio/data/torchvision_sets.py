"""Real datasets that torchvision reads: MNIST, Fashion-MNIST, CIFAR-10, SVHN and CelebA.

::

    mnist:ROOT           ROOT/MNIST/raw/train-images-idx3-ubyte, ...       10 digits
    fashion-mnist:ROOT   ROOT/FashionMNIST/raw/train-images-idx3-ubyte, ...  10 garments
    cifar10:ROOT         ROOT/cifar-10-batches-py/data_batch_1, ...          10 classes
    svhn:ROOT            ROOT/train_32x32.mat (reading .mat files needs scipy)  10 digits
    celeba:ROOT          ROOT/celeba/img_align_celeba/*.jpg, list_attr_celeba.txt, ...

ROOT is the folder torchvision's dataset classes take as ``root``; pointing at
the set's own folder (ROOT/MNIST) works too.  Options after ``?``:

    split=train|test|all          (SVHN: train|test|extra|all, CelebA: train|valid|test|all); default train
    download=1                    fetch missing files from the set's home page (needs a network);
                                  without it nothing is ever downloaded
    attrs=Black_Hair,Smiling,...  CelebA: the attributes that condition the model, each no/yes
                                  (attrs=all for all 40); without attrs CelebA is unlabelled (DCGAN)

The files are read by ``torchvision.datasets`` (download=False unless asked);
a missing file is named with the place it is expected before torchvision is
even asked.  Images are resized (and CelebA's centre-cropped) to the model's
size once and cached (see :mod:`studio.data.sources`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from studio.core.conditions import Categorical, ConditionSpace, MultiAttribute, NoCondition
from studio.data.folder import decode_in_threads
from studio.data.sources import cached_tensors, check_options, file_stamp, option_flag, option_list, split_options
from studio.errors import DatasetError, StudioWarning

__all__ = [
    "TORCHVISION_SETS",
    "CELEBA_ATTRIBUTES",
    "TorchvisionSpec",
    "parse_torchvision_spec",
    "expected_files",
    "torchvision_space",
    "load_torchvision_set",
]


@dataclass(frozen=True)
class SetInfo:
    title: str
    folder: str  # the set's own folder under ROOT in torchvision's layout ("" = ROOT itself)
    splits: tuple[str, ...]
    layout: str  # for messages


TORCHVISION_SETS: dict[str, SetInfo] = {
    "mnist": SetInfo(
        "MNIST", "MNIST/raw", ("train", "test", "all"), "ROOT/MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte"
    ),
    "fashion-mnist": SetInfo(
        "Fashion-MNIST",
        "FashionMNIST/raw",
        ("train", "test", "all"),
        "ROOT/FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte",
    ),
    "cifar10": SetInfo(
        "CIFAR-10",
        "cifar-10-batches-py",
        ("train", "test", "all"),
        "ROOT/cifar-10-batches-py/{data_batch_1..5,test_batch,batches.meta} (the python version)",
    ),
    "svhn": SetInfo("SVHN", "", ("train", "test", "extra", "all"), "ROOT/{train,test,extra}_32x32.mat"),
    "celeba": SetInfo(
        "CelebA",
        "celeba",
        ("train", "valid", "test", "all"),
        "ROOT/celeba/img_align_celeba/*.jpg with list_attr_celeba.txt, identity_CelebA.txt, list_bbox_celeba.txt, "
        "list_landmarks_align_celeba.txt and list_eval_partition.txt beside it",
    ),
}

# The header of CelebA's list_attr_celeba.txt, for choosing before the files are there.
CELEBA_ATTRIBUTES = (
    "5_o_Clock_Shadow",
    "Arched_Eyebrows",
    "Attractive",
    "Bags_Under_Eyes",
    "Bald",
    "Bangs",
    "Big_Lips",
    "Big_Nose",
    "Black_Hair",
    "Blond_Hair",
    "Blurry",
    "Brown_Hair",
    "Bushy_Eyebrows",
    "Chubby",
    "Double_Chin",
    "Eyeglasses",
    "Goatee",
    "Gray_Hair",
    "Heavy_Makeup",
    "High_Cheekbones",
    "Male",
    "Mouth_Slightly_Open",
    "Mustache",
    "Narrow_Eyes",
    "No_Beard",
    "Oval_Face",
    "Pale_Skin",
    "Pointy_Nose",
    "Receding_Hairline",
    "Rosy_Cheeks",
    "Sideburns",
    "Smiling",
    "Straight_Hair",
    "Wavy_Hair",
    "Wearing_Earrings",
    "Wearing_Hat",
    "Wearing_Lipstick",
    "Wearing_Necklace",
    "Wearing_Necktie",
    "Young",
)
CELEBA_VALUES = ["no", "yes"]  # captions read "yes Smiling, no Eyeglasses"

_CIFAR10_CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
_DIGITS = [str(i) for i in range(10)]
_OPTIONS = {"celeba": ("split", "download", "attrs")}
_PROGRESS_STEPS = 100


@dataclass(frozen=True)
class TorchvisionSpec:
    kind: str
    root: Path
    split: str
    download: bool
    attrs: tuple[str, ...] | None  # CelebA only; None = unlabelled

    @property
    def info(self) -> SetInfo:
        return TORCHVISION_SETS[self.kind]


def parse_torchvision_spec(kind: str, value: str) -> TorchvisionSpec:
    """Check the spec's syntax (no file is touched)."""
    spec = f"{kind}:{value}"
    info = TORCHVISION_SETS[kind]
    path, options = split_options(value)
    check_options(spec, options, _OPTIONS.get(kind, ("split", "download")))
    if not path.strip():
        raise DatasetError(f"dataset {spec!r}: {kind}: needs the folder that holds {info.title}, e.g. {kind}:~/data")
    split = options.get("split", "train") or "train"
    if split not in info.splits:
        raise DatasetError(f"dataset {spec!r}: {info.title} has no split '{split}'; choose {', '.join(info.splits)}")
    attrs = option_list(options, "attrs")
    if attrs is not None:
        if attrs == ["all"]:
            attrs = list(CELEBA_ATTRIBUTES)
        if not attrs:
            attrs = None
        elif len(set(attrs)) != len(attrs):
            raise DatasetError(f"dataset {spec!r}: an attribute is named twice in attrs")
    return TorchvisionSpec(
        kind,
        _set_root(Path(path.strip()).expanduser(), info),
        split,
        option_flag(spec, options, "download"),
        tuple(attrs) if attrs else None,
    )


def _set_root(root: Path, info: SetInfo) -> Path:
    """Accept the set's own folder (ROOT/MNIST or ROOT/MNIST/raw) as well as ROOT."""
    if not info.folder or (root / info.folder).exists():
        return root
    parts = Path(info.folder).parts
    for n in range(len(parts), 0, -1):
        if root.parts[-n:] == parts[:n]:
            return Path(*root.parts[:-n])
    return root


def _splits(spec: TorchvisionSpec) -> list[str]:
    return [s for s in spec.info.splits if s != "all"] if spec.split == "all" else [spec.split]


def expected_files(spec: TorchvisionSpec) -> list[Path]:
    """The files (and CelebA's image folder) that torchvision needs for ``spec``."""
    from torchvision import datasets

    root = spec.root
    if spec.kind in ("mnist", "fashion-mnist"):
        cls = datasets.MNIST if spec.kind == "mnist" else datasets.FashionMNIST
        raw = root / cls.__name__ / "raw"
        # torchvision checks for all four uncompressed files whatever the split.
        return [raw / Path(name).stem for name, _ in cls.resources]
    if spec.kind == "cifar10":
        base = root / datasets.CIFAR10.base_folder
        names = [n for n, _ in datasets.CIFAR10.train_list + datasets.CIFAR10.test_list]
        return [base / n for n in names] + [base / datasets.CIFAR10.meta["filename"]]
    if spec.kind == "svhn":
        return [root / datasets.SVHN.split_list[s][1] for s in _splits(spec)]
    base = root / datasets.CelebA.base_folder
    files = [f for _, _, f in datasets.CelebA.file_list if not f.endswith((".zip", ".7z"))]
    return [base / "img_align_celeba"] + [base / f for f in files]


def _check_files(spec: TorchvisionSpec) -> None:
    for path in expected_files(spec):
        if not path.exists():
            info = spec.info
            where = f"ROOT = {spec.root}" + ("" if spec.root.is_dir() else ", a folder that does not exist")
            raise DatasetError(
                f"{path} is missing: {info.title} is read in torchvision's layout, {info.layout} ({where}). "
                f"Point the spec at the folder that holds it ({spec.kind}:PATH), or add ?download=1 to download it."
            )


def _celeba_header(spec: TorchvisionSpec) -> list[str]:
    path = spec.root / "celeba" / "list_attr_celeba.txt"
    if not path.is_file():
        return list(CELEBA_ATTRIBUTES)
    try:
        with open(path, encoding="utf-8") as f:
            f.readline()
            names = f.readline().split()
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot be read ({exc})") from None
    if not names:
        raise DatasetError(f"{path}: the second line should name the 40 attributes, and it is empty")
    return names


def _space(spec: TorchvisionSpec) -> ConditionSpace:
    from torchvision import datasets

    if spec.kind == "mnist":
        return Categorical(_DIGITS, attribute="digit")
    if spec.kind == "svhn":
        return Categorical(_DIGITS, attribute="digit")
    if spec.kind == "fashion-mnist":
        return Categorical(list(datasets.FashionMNIST.classes), attribute="item")
    if spec.kind == "cifar10":
        return Categorical(_CIFAR10_CLASSES)
    if spec.attrs is None:
        return NoCondition()
    known = _celeba_header(spec)
    unknown = [a for a in spec.attrs if a not in known]
    if unknown:
        raise DatasetError(
            f"dataset 'celeba:{spec.root}': no attribute '{unknown[0]}' in CelebA; choose from {', '.join(known)}"
        )
    return MultiAttribute([(a, CELEBA_VALUES) for a in spec.attrs])


def torchvision_space(kind: str, value: str) -> ConditionSpace:
    """The condition space, after checking (by name only) that the files are there."""
    spec = parse_torchvision_spec(kind, value)
    if not spec.download:
        _check_files(spec)
    return _space(spec)


# --- reading ------------------------------------------------------------------------


def _read_error(spec: TorchvisionSpec, exc: Exception) -> DatasetError:
    """torchvision's RuntimeError says 'not found or corrupted': find which file, and say so."""
    from torchvision.datasets import CIFAR10, SVHN
    from torchvision.datasets.utils import check_integrity

    checks: list[tuple[Path, str | None]] = []
    if spec.kind == "cifar10":
        base = spec.root / CIFAR10.base_folder
        checks = [(base / n, md5) for n, md5 in CIFAR10.train_list + CIFAR10.test_list]
        checks.append((base / CIFAR10.meta["filename"], CIFAR10.meta["md5"]))
    elif spec.kind == "svhn":
        checks = [(spec.root / SVHN.split_list[s][1], SVHN.split_list[s][2]) for s in _splits(spec)]
    for path, md5 in checks:
        if path.is_file() and not check_integrity(str(path), md5):
            return DatasetError(
                f"{path}: damaged or not the official {spec.info.title} file (its checksum differs); "
                f"replace it, or add ?download=1 to fetch it again"
            )
    return DatasetError(f"{spec.kind}:{spec.root}: {spec.info.title} could not be read: {exc}")


def _celeba_class():
    from torchvision.datasets import CelebA

    class _CelebAFiles(CelebA):
        """CelebA whose files were checked by name beforehand.

        torchvision also compares the text files' MD5 sums, which refuses
        copies that differ only in line endings; a file that does not parse
        still fails, with its name, when it is read.
        """

        def _check_integrity(self) -> bool:
            base = Path(self.root) / self.base_folder
            files = [f for _, _, f in self.file_list if not f.endswith((".zip", ".7z"))]
            return (base / "img_align_celeba").is_dir() and all((base / f).is_file() for f in files)

    return _CelebAFiles


def _read_arrays(spec: TorchvisionSpec, image_size: int, channels: int, progress) -> dict[str, torch.Tensor]:
    """Images uint8 (N, C, H, W) at the model's size and labels, via torchvision."""
    from torchvision import datasets

    from studio.data.dataset import fit_images

    title = spec.info.title
    if progress:
        progress(f"Reading {title} from {spec.root}", 0.0)
    root = str(spec.root)
    if spec.kind == "celeba":
        return _read_celeba(spec, image_size, channels, progress)
    images, labels = [], []
    for split in _splits(spec):
        if spec.kind in ("mnist", "fashion-mnist"):
            cls = datasets.MNIST if spec.kind == "mnist" else datasets.FashionMNIST
            ds = cls(root, train=split == "train", download=False)
            images.append(ds.data.unsqueeze(1))
            labels.append(torch.as_tensor(ds.targets))
        elif spec.kind == "cifar10":
            ds = datasets.CIFAR10(root, train=split == "train", download=False)
            images.append(torch.from_numpy(np.ascontiguousarray(ds.data)).permute(0, 3, 1, 2))
            labels.append(torch.as_tensor(ds.targets))
        else:
            try:
                import scipy.io  # noqa: F401 -- torchvision reads SVHN's .mat files with it
            except ImportError:
                raise DatasetError(
                    f"{expected_files(spec)[0]}: reading SVHN's .mat files needs scipy; "
                    f'install it with pip install -e ".[svhn]" (or pip install scipy)'
                ) from None
            ds = datasets.SVHN(root, split=split, download=False)
            images.append(torch.from_numpy(np.ascontiguousarray(ds.data)))
            labels.append(torch.as_tensor(ds.labels))
    if progress:
        progress(f"Resizing {sum(len(i) for i in images)} {title} images to {image_size} px", 0.5)
    out = fit_images(torch.cat(images).contiguous(), image_size, channels)
    return {"images": out, "labels": torch.cat(labels).long()}


def _read_celeba(spec: TorchvisionSpec, image_size: int, channels: int, progress) -> dict[str, torch.Tensor]:
    from PIL import Image
    from torchvision import transforms

    mode = "RGB" if channels == 3 else "L"
    # Resize the short side, then the centre square: CelebA's aligned faces are 178 x 218.
    square = transforms.Compose([transforms.Resize(image_size), transforms.CenterCrop(image_size)])
    try:
        ds = _celeba_class()(str(spec.root), split=spec.split, target_type="attr", download=False)
    except (ValueError, IndexError, TypeError) as exc:
        raise DatasetError(f"{spec.root / 'celeba'}: CelebA's text files could not be parsed ({exc})") from None
    n = len(ds)
    if n == 0:
        raise DatasetError(f"{spec.root / 'celeba' / 'list_eval_partition.txt'}: no images in split '{spec.split}'")
    images = torch.empty(n, image_size, image_size, channels, dtype=torch.uint8)
    pixels = images.numpy()  # threads write decoded images straight into the tensor
    folder = spec.root / "celeba" / "img_align_celeba"

    def decode(i: int) -> bool:
        try:
            with Image.open(folder / ds.filename[i]) as image:
                array = np.asarray(square(image.convert(mode)), dtype=np.uint8)
        except Exception:  # noqa: BLE001 -- any decoder failure means "unreadable"
            return False
        pixels[i] = array.reshape(image_size, image_size, channels)
        return True

    def report(done: int) -> None:
        if progress:
            progress(f"Decoding CelebA: {done}/{n} images", done / n)

    ok = decode_in_threads(n, decode, report, every=max(1, n // _PROGRESS_STEPS))
    keep = torch.from_numpy(np.flatnonzero(ok))
    if len(keep) == 0:
        raise DatasetError(f"{folder}: none of the {n} images of split '{spec.split}' could be read")
    if len(keep) < n:
        bad = [ds.filename[i] for i in np.flatnonzero(~ok)[:5]]
        warnings.warn(
            f"{folder}: skipped {n - len(keep)} unreadable or missing image(s): {', '.join(bad)}",
            StudioWarning,
            stacklevel=2,
        )
    labels = ds.attr.long()
    if spec.attrs is not None:
        header = list(ds.attr_names)
        labels = labels[:, [header.index(a) for a in spec.attrs]]
    else:
        labels = labels[:, :0]
    return {"images": images[keep].permute(0, 3, 1, 2).contiguous(), "labels": labels[keep].contiguous()}


def load_torchvision_set(
    kind: str, value: str, image_size: int, channels: int, progress=None
) -> tuple[torch.Tensor, torch.Tensor, ConditionSpace]:
    """(images uint8 (N, C, H, W), labels, space) of a torchvision set, cached after the first read."""
    spec = parse_torchvision_spec(kind, value)
    if not (spec.download and not all(p.exists() for p in expected_files(spec))):
        _check_files(spec)
    else:
        # Asked to download and something is missing: let torchvision fetch it first.
        _fetch(spec)
        _check_files(spec)
    space = _space(spec)
    files = expected_files(spec)
    key = {
        "source": kind,
        "root": str(spec.root.resolve()),
        "split": spec.split,
        "attrs": list(spec.attrs or []),
        "image_size": image_size,
        "channels": channels,
        "files": file_stamp(files),
    }

    def build() -> dict[str, torch.Tensor]:
        try:
            return _read_arrays(spec, image_size, channels, progress)
        except RuntimeError as exc:
            raise _read_error(spec, exc) from None
        except OSError as exc:
            where = exc.filename or spec.root
            raise DatasetError(f"{where}: {spec.info.title} could not be read ({exc.strerror or exc})") from None

    def announce() -> None:
        if progress:
            progress(f"Loading cached {spec.info.title} ({spec.split})", 0.0)

    tensors = cached_tensors(kind, key, build, on_cached=announce)
    labels = tensors["labels"]
    labels = labels.long() if space.is_conditional else torch.zeros(len(labels), 0)
    return tensors["images"], labels, space


def _fetch(spec: TorchvisionSpec) -> None:
    """Download the set's files (asked for with ?download=1): the only place that goes online."""
    from torchvision import datasets

    root = str(spec.root)
    spec.root.mkdir(parents=True, exist_ok=True)
    try:
        for split in _splits(spec):
            if spec.kind == "mnist":
                datasets.MNIST(root, train=split == "train", download=True)
            elif spec.kind == "fashion-mnist":
                datasets.FashionMNIST(root, train=split == "train", download=True)
            elif spec.kind == "cifar10":
                datasets.CIFAR10(root, train=split == "train", download=True)
            elif spec.kind == "svhn":
                datasets.SVHN(root, split=split, download=True)
            else:
                _celeba_class()(root, split=spec.split, download=True)
    except ImportError as exc:  # SVHN's scipy, CelebA's gdown
        raise DatasetError(f"downloading {spec.info.title} needs the package {exc.name}; install it") from None
    except (OSError, RuntimeError) as exc:
        raise DatasetError(f"{spec.root}: downloading {spec.info.title} failed ({exc})") from None
