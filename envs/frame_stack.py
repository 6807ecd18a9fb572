"""``StackFrames``: k past frames concatenated along the channel axis (HWC, oldest first),
consecutive or spaced ever wider apart (a frame stack dilated in time)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


def stack_offsets(k: int, dilation: int = 1) -> tuple[int, ...]:
    """How many steps back each of ``k`` stacked frames lies, newest first: the gap to the next
    older frame grows by ``dilation`` each time (1: ``0, 1, 2, 3``; 2: ``0, 1, 3, 7``).

    Raises:
        ValueError: ``k`` or ``dilation`` below 1.
    """
    if k < 1:
        raise ValueError(f"frame_stack must be >= 1, got {k}")
    if dilation < 1:
        raise ValueError(f"frame_stack_dilation must be >= 1, got {dilation}")
    offsets = [0]
    for j in range(k - 1):
        offsets.append(offsets[-1] + dilation**j)
    return tuple(offsets)


class StackFrames(gym.ObservationWrapper):
    """Stacks ``k`` uint8 HWC frames into one ``(H, W, C * k)`` observation, oldest first.

    With ``dilation`` 1 they are the last ``k`` frames; with 2 those of steps t, t-1, t-3, t-7
    (the receptive field in time doubles per frame, as the student's convolutions' does in
    space): the same input size remembers what went off screen a few steps ago. At reset the
    first frame fills the whole history. Unlike gymnasium's ``FrameStackObservation`` the result
    stays HWC, the layout convolution layers expect.
    """

    def __init__(self, env: gym.Env, k: int, dilation: int = 1) -> None:
        super().__init__(env)
        self.k = k
        self.offsets = stack_offsets(k, dilation)
        h, w, c = env.observation_space.shape
        self.observation_space = gym.spaces.Box(0, 255, (h, w, c * k), np.uint8)
        # The last offsets[-1] + 1 frames, a ring: _newest indexes the latest.
        self._history = np.zeros((self.offsets[-1] + 1, h, w, c), np.uint8)
        self._newest = 0

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._history[:] = obs
        self._newest = 0
        return self._stacked(), info

    def observation(self, observation: np.ndarray) -> np.ndarray:
        self._newest = (self._newest + 1) % len(self._history)
        self._history[self._newest] = observation
        return self._stacked()

    def _stacked(self) -> np.ndarray:
        size = len(self._history)
        rows = [(self._newest - o) % size for o in reversed(self.offsets)]
        return np.concatenate(self._history[rows], axis=2)
