"""Videos: the MP4 writer and the recording wrapper."""
from __future__ import annotations

import cv2
import gymnasium
import numpy as np
import pytest

from simulator import video
from simulator.video import VideoError, VideoRecorder, VideoWriter, partial_video_path

WIDTH, HEIGHT = 64, 48


def read_back(path) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def test_writer_produces_a_readable_mp4(tmp_path):
    path = tmp_path / "videos" / "ep.mp4"
    red = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    red[..., 0] = 255
    with VideoWriter(path, fps=10, size=(WIDTH, HEIGHT)) as writer:
        for _ in range(9):
            writer.write(red)
        assert partial_video_path(path).exists() and not path.exists()
    assert path.exists() and not partial_video_path(path).exists()
    frames = read_back(path)
    assert len(frames) == 9 and frames[0].shape == (HEIGHT, WIDTH, 3)
    blue, green, red_channel = frames[0].reshape(-1, 3).mean(axis=0)  # OpenCV reads BGR
    assert red_channel > 200 and blue < 60 and green < 60


def test_writer_checks_frames_and_existing_files(tmp_path):
    writer = VideoWriter(tmp_path / "a.mp4", fps=10, size=(WIDTH, HEIGHT))
    with pytest.raises(ValueError, match="frame"):
        writer.write(np.zeros((WIDTH, HEIGHT, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        writer.write(np.zeros((HEIGHT, WIDTH, 3), np.float32))
    writer.write(np.zeros((HEIGHT, WIDTH, 4), np.uint8))  # RGBA: alpha dropped
    assert writer.close() == tmp_path / "a.mp4"
    with pytest.raises(FileExistsError, match="a.mp4"):
        VideoWriter(tmp_path / "a.mp4", fps=10, size=(WIDTH, HEIGHT))
    with pytest.raises(ValueError, match=".mp4"):
        VideoWriter(tmp_path / "a.avi", fps=10, size=(WIDTH, HEIGHT))


def test_empty_or_aborted_video_leaves_nothing(tmp_path):
    assert VideoWriter(tmp_path / "a.mp4", fps=10, size=(WIDTH, HEIGHT)).close() is None
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(tmp_path / "b.mp4", fps=10, size=(WIDTH, HEIGHT)) as writer:
            writer.write(np.zeros((HEIGHT, WIDTH, 3), np.uint8))
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_unopenable_writer_is_a_clear_error(tmp_path, monkeypatch):
    class Closed:
        def __init__(self, *args):
            pass

        def isOpened(self):
            return False

    monkeypatch.setattr(video.cv2, "VideoWriter", Closed)
    with pytest.raises(VideoError, match="cannot open"):
        VideoWriter(tmp_path / "a.mp4", fps=10, size=(WIDTH, HEIGHT))


class Painter(gymnasium.Env):
    """Renders a frame whose brightness is the step count."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, length: int = 5):
        self.render_mode = "rgb_array"
        self.action_space = gymnasium.spaces.Discrete(2)
        self.observation_space = gymnasium.spaces.Discrete(100)
        self.length = length

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.k = 0
        return 0, {}

    def step(self, action):
        self.k += 1
        return self.k, 0.0, self.k >= self.length, False, {}

    def render(self):
        return np.full((HEIGHT, WIDTH, 3), 40 * self.k, np.uint8)


def test_recorder_writes_every_kth_frame_per_episode(tmp_path):
    env = VideoRecorder(Painter(length=5), tmp_path / "ep{episode}_s{seed}.mp4", every=2)
    assert env.fps == 25.0
    for seed in (1, 2):
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, terminated, truncated, _ = env.step(0)
            done = terminated or truncated
    env.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ep0_s1.mp4", "ep1_s2.mp4"]
    frames = read_back(env.last_path)
    assert env.last_path.name == "ep1_s2.mp4"
    assert len(frames) == 4  # reset, steps 2 and 4, last step 5
    brightness = [round(frame.mean() / 40) for frame in frames]
    assert brightness == [0, 2, 4, 5]


def test_recorder_needs_rgb_array(tmp_path):
    env = Painter()
    env.render_mode = None
    with pytest.raises(ValueError, match="rgb_array"):
        VideoRecorder(env, tmp_path / "a.mp4")
