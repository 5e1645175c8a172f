"""The condition explorer tab, one module per concern.

panel       :class:`ConditionExplorer`, the widget: generator, view, and what ties the parts together
controls    the controls a condition space offers (from its plain-data choices), and the noise
render      the render job, one plain function run in a Worker
export      the grid as a PNG, and a sheet of it through the run's generators
"""

from studio.app.sampling import layout_modes as modes_for
from studio.gui.explorer.panel import ConditionExplorer
from studio.gui.explorer.widgets import TRUNCATION_OFF

__all__ = ["ConditionExplorer", "modes_for", "TRUNCATION_OFF"]
