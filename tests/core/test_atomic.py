import json
import os
import pickle

import pytest

from studio.core.atomic import atomic_open, atomic_torch_save, atomic_write_bytes, atomic_write_json, atomic_write_text


def test_exception_mid_save_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "project.json"
    atomic_write_json(target, {"version": 1})
    before = target.read_bytes()
    with pytest.raises(RuntimeError):
        with atomic_open(target) as f:
            f.write(b'{"half": ')
            raise RuntimeError("disk pulled out")
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["project.json"]


def test_unpicklable_object_does_not_clobber_a_checkpoint(tmp_path):
    target = tmp_path / "epoch_0001.pt"
    atomic_torch_save({"ok": 1}, target)
    before = target.read_bytes()
    with pytest.raises((pickle.PicklingError, AttributeError)):  # AttributeError for a local object
        atomic_torch_save({"bad": lambda: None}, target)
    assert target.read_bytes() == before
    assert len(list(tmp_path.iterdir())) == 1


def test_no_overwrite_mode_refuses_existing_files(tmp_path):
    target = tmp_path / "grid.png"
    atomic_write_text(target, "first")
    with pytest.raises(FileExistsError):
        atomic_write_text(target, "second", overwrite=False)
    assert target.read_text() == "first"
    atomic_write_text(tmp_path / "new.txt", "x", overwrite=False)
    assert (tmp_path / "new.txt").read_text() == "x"


def test_written_files_take_the_umask_and_keep_a_mode_the_user_set(tmp_path):
    import studio.core.atomic as atomic

    fresh = tmp_path / "project.json"
    atomic_write_json(fresh, {"a": 1})
    assert os.stat(fresh).st_mode & 0o777 == 0o666 & ~atomic._UMASK  # not the private 0600 of a temp file
    os.chmod(fresh, 0o640)
    atomic_write_json(fresh, {"a": 2})
    assert os.stat(fresh).st_mode & 0o777 == 0o640


def test_images_take_the_format_their_name_asks_for_and_a_folder_is_named(tmp_path):
    from PIL import Image

    from studio.core.atomic import atomic_save_image

    image = Image.new("RGB", (4, 4), "red")
    for name, fmt in (("grid.tiff", "TIFF"), ("grid.bmp", "BMP"), ("grid.jpg", "JPEG"), ("grid", "PNG")):
        atomic_save_image(image, tmp_path / name)
        with Image.open(tmp_path / name) as saved:
            assert saved.format == fmt, name
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as info:
        atomic_save_image(image, folder)
    assert info.value.filename == str(folder) and "a folder is there" in str(info.value)
    assert list(folder.iterdir()) == []  # no temporary file left in it or beside it


def test_an_unwritable_folder_is_reported_naming_the_target_not_the_temporary_file(tmp_path, monkeypatch):
    import errno
    import tempfile

    def refuse(prefix, suffix, dir):
        raise PermissionError(errno.EACCES, "Permission denied", f"{dir}/{prefix}abc123{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    target = tmp_path / "grid.png"
    with pytest.raises(OSError) as info:
        atomic_write_bytes(target, b"x")
    assert info.value.filename == str(target)
    assert info.value.strerror == f"cannot write into {tmp_path} (Permission denied)"


def test_json_is_written_strict_and_a_nan_writes_nothing(tmp_path):
    target = tmp_path / "settings.json"
    atomic_write_json(target, {"lr": 0.5})
    with pytest.raises(ValueError):
        atomic_write_json(target, {"lr": float("nan")})
    assert json.loads(target.read_text()) == {"lr": 0.5}
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]
