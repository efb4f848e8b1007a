"""MP4 videos of episodes, written with OpenCV and finished atomically like traces.

A video is written as ``<stem>.partial.mp4`` (OpenCV picks the container from the
extension) and renamed to ``<stem>.mp4`` when it is closed. Videos are illustrations,
not records: metrics never read them (traces are the record).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import cv2
import gymnasium
import numpy as np

log = logging.getLogger(__name__)

FOURCC = "mp4v"


class VideoError(RuntimeError):
    """OpenCV could not write the video."""


def partial_video_path(path: str | os.PathLike) -> Path:
    """The name a video has while it is being written: ``<stem>.partial<suffix>``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.partial{path.suffix}")


class VideoWriter:
    """Writes RGB uint8 frames of ``size`` = (width, height) pixels at ``fps`` frames/s.

    Frames are arrays of shape (height, width, 3) (or 4: the alpha channel is dropped).
    Raises :class:`VideoError` if OpenCV cannot open the writer, ``FileExistsError`` if
    ``path`` exists and not ``overwrite``.
    """

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int], *,
                 overwrite: bool = False) -> None:
        self.path = Path(path)
        if self.path.suffix.lower() != ".mp4":
            raise ValueError(f"video path {self.path} must end in .mp4")
        if self.path.exists() and not overwrite:
            raise FileExistsError(f"video {self.path} already exists; pass overwrite=True to replace it")
        if fps <= 0:
            raise ValueError(f"video fps must be > 0, got {fps}")
        self.partial = partial_video_path(self.path)
        self.size = (int(size[0]), int(size[1]))
        self.fps = float(fps)
        self.n_frames = 0
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writer: cv2.VideoWriter | None = cv2.VideoWriter(
            str(self.partial), cv2.VideoWriter_fourcc(*FOURCC), self.fps, self.size)
        if not self._writer.isOpened():
            self._writer = None
            self.partial.unlink(missing_ok=True)
            raise VideoError(f"OpenCV cannot open a {FOURCC!r} MP4 writer for {self.partial} "
                             f"({self.size[0]}x{self.size[1]} px, {self.fps} fps); "
                             f"OpenCV {cv2.__version__} may lack an MP4 encoder")

    @property
    def closed(self) -> bool:
        return self._writer is None

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB frame (uint8, shape (height, width, 3 or 4))."""
        if self._writer is None:
            raise RuntimeError(f"video {self.path} is already closed")
        frame = np.asarray(frame)
        width, height = self.size
        if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[:2] != (height, width) \
                or frame.shape[2] not in (3, 4):
            raise ValueError(f"video {self.path}: frame must be uint8 ({height}, {width}, 3), "
                             f"got {frame.dtype} {frame.shape}")
        self._writer.write(cv2.cvtColor(np.ascontiguousarray(frame[:, :, :3]), cv2.COLOR_RGB2BGR))
        self.n_frames += 1

    def close(self) -> Path | None:
        """Finish the file and rename it to ``path``; returns it (None if no frame was written)."""
        if self._writer is None:
            return None
        self._writer.release()
        self._writer = None
        if self.n_frames == 0:
            log.warning("video %s has no frames; not kept", self.path)
            self.partial.unlink(missing_ok=True)
            return None
        os.replace(self.partial, self.path)
        return self.path

    def abort(self) -> None:
        """Stop writing and delete the unfinished file."""
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self.partial.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


class VideoRecorder(gymnasium.Wrapper):
    """Writes one MP4 per episode from ``env.render()`` (render_mode ``"rgb_array"``).

    Frames: the reset state, then every ``every``-th step (and the last step). ``path``
    may contain ``{seed}`` and ``{episode}``. ``fps`` defaults to the env's
    ``metadata["render_fps"]`` divided by ``every`` (so the video plays in real time).
    """

    def __init__(self, env: gymnasium.Env, path: str | os.PathLike, *, every: int = 1,
                 fps: float | None = None, overwrite: bool = False) -> None:
        super().__init__(env)
        if env.render_mode != "rgb_array":
            raise ValueError(f"VideoRecorder needs render_mode='rgb_array', env has {env.render_mode!r}")
        if every < 1:
            raise ValueError(f"every must be >= 1, got {every}")
        render_fps = env.metadata.get("render_fps")
        if fps is None and not render_fps:
            raise ValueError("env metadata has no render_fps; pass fps=")
        self.fps = float(fps) if fps is not None else float(render_fps) / every
        self.path_template = str(path)
        self.every = every
        self.overwrite = overwrite
        self.episode = -1
        self.last_path: Path | None = None
        self._video: VideoWriter | None = None
        self._steps = 0
        self._seed: int | None = None
        self._active = False

    def _frame(self) -> None:
        frame = np.asarray(self.env.render())
        if self._video is None:
            path = Path(self.path_template.format(seed=self._seed, episode=self.episode))
            self._video = VideoWriter(path, self.fps, (frame.shape[1], frame.shape[0]),
                                      overwrite=self.overwrite)
        self._video.write(frame)

    def finish(self) -> None:
        """Finish the current episode's video (also when the episode ended early)."""
        self._active = False
        if self._video is not None:
            self.last_path = self._video.close() or self.last_path
            self._video = None

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self.finish()
        result = self.env.reset(seed=seed, options=options)
        self.episode += 1
        self._seed, self._steps, self._active = seed, 0, True
        self._frame()
        return result

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._steps += 1
        done = terminated or truncated
        if self._active and (self._steps % self.every == 0 or done):
            self._frame()
        if done:
            self.finish()
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        try:
            self.finish()
        finally:
            super().close()
