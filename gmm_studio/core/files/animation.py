"""Writing a fit's frames as an animated GIF (Pillow) or an MP4 (ffmpeg), atomically.

Frames are RGB arrays (H, W, 3) uint8 of one size. Pillow is a dependency;
MP4 needs an ffmpeg program: the one of the optional ``imageio-ffmpeg``
package, else one on PATH. Both are imported or looked up only when used.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .atomic import ExportError, atomic_write

FORMATS = ("gif", "mp4")


def ffmpeg_program() -> str | None:
    """Path of an ffmpeg executable, or None when there is none."""
    try:
        import imageio_ffmpeg
    except ImportError:
        return shutil.which("ffmpeg")
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError:
        return shutil.which("ffmpeg")


def _check_frames(frames: Sequence[np.ndarray]) -> tuple[int, int]:
    if not frames:
        raise ExportError("there are no frames to write; run or step a fit first.")
    shape = frames[0].shape
    if len(shape) != 3 or shape[2] != 3 or any(f.shape != shape for f in frames):
        raise ExportError("every frame must be an (H, W, 3) image of the same size.")
    return shape[0], shape[1]


def write_gif(frames: Sequence[np.ndarray], path: str | Path, fps: float) -> Path:
    """An endlessly looping GIF of ``frames`` at ``fps`` frames a second."""
    from PIL import Image

    _check_frames(frames)
    images = [Image.fromarray(np.ascontiguousarray(f, dtype=np.uint8), "RGB") for f in frames]
    # GIF stores delays in centiseconds; Pillow takes milliseconds.
    duration = max(20, int(round(1000.0 / fps)))

    def write(tmp: Path) -> None:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:],
                       duration=duration, loop=0, optimize=False, disposal=1)

    return atomic_write(path, write)


def write_mp4(frames: Sequence[np.ndarray], path: str | Path, fps: float) -> Path:
    """An H.264 MP4 of ``frames`` (sizes rounded down to even, as yuv420p needs)."""
    program = ffmpeg_program()
    if program is None:
        raise ExportError("MP4 needs ffmpeg: install the 'video' extra "
                          "(pip install 'gmm-studio[video]') or ffmpeg itself, or export a GIF.")
    height, width = _check_frames(frames)
    height, width = height - height % 2, width - width % 2

    def write(tmp: Path) -> None:
        command = [program, "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
                   "-s", f"{width}x{height}", "-r", f"{fps:g}", "-i", "-", "-an",
                   "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "mp4", str(tmp)]
        # Frame by frame into ffmpeg's stdin: a long animation never sits in
        # memory twice.
        process = subprocess.Popen(command, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for frame in frames:
                process.stdin.write(np.ascontiguousarray(frame[:height, :width],
                                                         dtype=np.uint8).tobytes())
        except BrokenPipeError:
            pass  # ffmpeg stopped early; its message says why
        finally:
            process.stdin.close()
        error = process.stderr.read()
        if process.wait() != 0:
            raise ExportError(f"ffmpeg could not write the MP4: "
                              f"{error.decode(errors='replace').strip()[:300]}")

    return atomic_write(path, write)


def write_animation(frames: Sequence[np.ndarray], path: str | Path, fps: float) -> Path:
    """GIF or MP4 by the file name's ending."""
    kind = Path(path).suffix.lower().lstrip(".")
    if kind not in FORMATS:
        raise ExportError(f"cannot write {Path(path).name}: choose a .gif or .mp4 name.")
    if not fps > 0:
        raise ExportError(f"frames per second must be above 0, got {fps}.")
    return (write_gif if kind == "gif" else write_mp4)(frames, path, fps)
