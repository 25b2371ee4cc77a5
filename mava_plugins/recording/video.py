"""Checking RGB frames and writing them as a GIF (Pillow) or an MP4 (imageio + imageio-ffmpeg)."""
from __future__ import annotations

import os
from typing import Any, List, Sequence

import numpy as np

from mava_core.errors import MavaError, MissingDependencyError

FORMATS = ("gif", "mp4")
#: the pip extra that installs what MP4 needs
EXTRA = "record"


class RecordingError(MavaError):
    """An environment that cannot produce frames, or a video that cannot be written."""


def video_format(path: str) -> str:
    """``gif`` or ``mp4``, from the file name's extension."""
    extension = os.path.splitext(path)[1].lower().lstrip(".")
    if extension not in FORMATS:
        raise RecordingError(f"cannot write a video to {path!r}: the file name must end in .gif or .mp4")
    return extension


def require_writer(video: str) -> None:
    """Fail now, before an episode is played, when the packages for ``video`` (a format) are missing."""
    if video == "mp4":
        _imageio()
    else:
        _pillow()


def _imageio() -> Any:
    try:
        import imageio.v2 as imageio
        import imageio_ffmpeg  # noqa: F401 - imageio's ffmpeg backend
    except ImportError as error:
        package = "imageio-ffmpeg" if (error.name or "").startswith("imageio_ffmpeg") else "imageio"
        raise MissingDependencyError(package, EXTRA, "writing MP4 videos (run.record_format=mp4)") from error
    return imageio


def _pillow() -> Any:
    try:
        from PIL import Image
    except ImportError as error:
        raise MissingDependencyError("pillow", EXTRA, "writing GIF videos") from error
    return Image


def as_rgb_frame(frame: Any, source: str) -> np.ndarray:
    """``frame`` as a ``(height, width, 3)`` uint8 array (an alpha channel is dropped), or RecordingError."""
    array = None if frame is None or isinstance(frame, (bool, str)) else np.asarray(frame)
    if array is None or array.ndim != 3 or array.shape[-1] not in (3, 4) or array.shape[0] < 1 or array.shape[1] < 1:
        described = type(frame).__name__ if array is None else f"an array of shape {array.shape}"
        raise RecordingError(f"{source}.render() returned {described}, not an RGB frame of shape (height, width, 3)")
    if array.dtype != np.uint8:
        raise RecordingError(f"{source}.render() returned a frame of dtype {array.dtype}; RGB frames are uint8")
    return np.ascontiguousarray(array[..., :3])


def write_video(frames: Sequence[np.ndarray], path: str, fps: int = 10) -> str:
    """Write ``frames`` (uint8 RGB, all of one size) to ``path``, a ``.gif`` or ``.mp4`` file; returns ``path``.

    GIFs loop forever and show each frame for ``1000 / fps`` ms (GIF timing has 10 ms steps).
    MP4s are H.264 (yuv420p, so frames of odd size get one edge row or column repeated).
    """
    video = video_format(path)
    if not frames:
        raise RecordingError(f"no frames to write to {path}")
    shapes = {frame.shape for frame in frames}
    if len(shapes) > 1:
        raise RecordingError(f"the frames to write to {path} differ in size: {sorted(shapes)}")
    if fps < 1:
        raise RecordingError(f"fps must be at least 1, got {fps}")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    if video == "gif":
        _write_gif(list(frames), path, fps)
    else:
        _write_mp4(list(frames), path, fps)
    return path


def _write_gif(frames: List[np.ndarray], path: str, fps: int) -> None:
    image = _pillow()
    first, *rest = [image.fromarray(frame) for frame in frames]
    first.save(path, save_all=True, append_images=rest, duration=max(10, round(1000 / fps)), loop=0, optimize=False)


def _write_mp4(frames: List[np.ndarray], path: str, fps: int) -> None:
    imageio = _imageio()
    height, width = frames[0].shape[:2]
    pad = ((0, height % 2), (0, width % 2), (0, 0))
    with imageio.get_writer(path, format="FFMPEG", mode="I", fps=fps, codec="libx264", macro_block_size=1) as writer:
        for frame in frames:
            writer.append_data(np.pad(frame, pad, mode="edge") if any(p[1] for p in pad) else frame)
