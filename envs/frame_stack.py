"""``StackFrames``: the last k frames concatenated along the channel axis (HWC, oldest first)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np


class StackFrames(gym.ObservationWrapper):
    """Stacks the last ``k`` uint8 HWC frames into one ``(H, W, C * k)`` observation.

    At reset the first frame is repeated ``k`` times. Unlike gymnasium's ``FrameStackObservation``
    the result stays HWC, the layout convolution layers expect.
    """

    def __init__(self, env: gym.Env, k: int) -> None:
        super().__init__(env)
        if k < 1:
            raise ValueError(f"frame_stack must be >= 1, got {k}")
        self.k = k
        h, w, c = env.observation_space.shape
        self._channels = c
        self.observation_space = gym.spaces.Box(0, 255, (h, w, c * k), np.uint8)
        self._frames = np.zeros((h, w, c * k), np.uint8)

    def reset(self, **kwargs: Any) -> tuple[np.ndarray, dict[str, Any]]:
        obs, info = self.env.reset(**kwargs)
        self._frames[:] = np.tile(obs, (1, 1, self.k))
        return self._frames.copy(), info

    def observation(self, observation: np.ndarray) -> np.ndarray:
        c = self._channels
        self._frames[:, :, :-c] = self._frames[:, :, c:]
        self._frames[:, :, -c:] = observation
        return self._frames.copy()
