"""A tiny numpy rasteriser for the debug environments' RGB frames (no display, no graphics library)."""
from __future__ import annotations

from typing import Sequence, Tuple

import numpy as np

Colour = Tuple[int, int, int]

#: distinct colours for agents, cycled when there are more agents than colours
PALETTE: Tuple[Colour, ...] = (
    (31, 119, 180),
    (255, 127, 14),
    (44, 160, 44),
    (214, 39, 40),
    (148, 103, 189),
    (140, 86, 75),
    (227, 119, 194),
    (23, 190, 207),
)


class Canvas:
    """An RGB image of the square ``[-extent, extent]^2``; ``y`` grows upwards as in a plot.

    ``disc`` fills a circle given in world coordinates; ``image`` is the ``(size, size, 3)``
    uint8 array drawn so far.
    """

    def __init__(self, size: int = 256, extent: float = 1.0, background: Colour = (255, 255, 255)):
        self.size = int(size)
        self.extent = float(extent)
        self.image = np.empty((self.size, self.size, 3), np.uint8)
        self.image[:] = background
        # pixel centres in world coordinates: columns left to right, rows top to bottom
        centres = (np.arange(self.size) + 0.5) / self.size * 2.0 * self.extent - self.extent
        self._xs = centres
        self._ys = centres[::-1]

    def disc(self, centre: Sequence[float], radius: float, colour: Colour) -> None:
        """Fill the pixels whose centre lies within ``radius`` of ``centre`` (clipped to the image)."""
        x, y = float(centre[0]), float(centre[1])
        cols = np.flatnonzero(np.abs(self._xs - x) <= radius)
        rows = np.flatnonzero(np.abs(self._ys - y) <= radius)
        if cols.size == 0 or rows.size == 0:
            return
        dx = self._xs[cols][None, :] - x
        dy = self._ys[rows][:, None] - y
        inside = dx * dx + dy * dy <= radius * radius
        block = self.image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        block[inside] = colour
