"""The dataset panel: pick a built-in set, an image folder, a torchvision set or a label
table, see real images and class counts.

Loading (and drawing + caching a built-in set the first time) runs in a
worker thread with a progress bar; the loaded :class:`ImageDataset` is kept
so that Train reuses it instead of loading again.  Folders and tables come
from the source combo, the Browse button or drag and drop; a torchvision set
is a folder picked for it (CelebA also takes the attributes that condition
the model).  Every choice ends as the one dataset spec string of the config.

    panel.py     DatasetPanel: choosing the source, loading it, what the trainer asks
    widgets.py   the controls, the preview and the chart of images per class
    sources.py   the source choices and the parts of a dataset spec
    summary.py   the load job and the summary it brings back (no widgets)
"""

from studio.gui.dataset_panel.panel import DatasetPanel
from studio.gui.dataset_panel.sources import BUILTIN_SOURCES, TORCHVISION_SOURCES
from studio.gui.dataset_panel.summary import DatasetSummary, summarise_dataset

__all__ = ["DatasetPanel", "DatasetSummary", "summarise_dataset", "BUILTIN_SOURCES", "TORCHVISION_SOURCES"]
