"""Test set-up: headless Qt, a private dataset cache, tiny configs."""

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("PYQTGRAPH_QT_LIB", "PySide6")

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(autouse=True, scope="session")
def _private_cache(tmp_path_factory):
    """Built-in sets are drawn into a cache of the test session, never the user's."""
    cache = tmp_path_factory.mktemp("gan-studio-cache")
    old = os.environ.get("GAN_STUDIO_CACHE")
    os.environ["GAN_STUDIO_CACHE"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("GAN_STUDIO_CACHE", None)
    else:
        os.environ["GAN_STUDIO_CACHE"] = old


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent (it ships with the development checkout only)")
    return SHARED_DATA


@pytest.fixture(scope="module")
def one_torch_thread():
    """For modules that train tiny models: a second intra-op thread only adds waiting, and on a busy
    two-core machine OpenMP's spinning makes a step many times slower. Use it with
    ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)
