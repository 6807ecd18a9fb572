"""The environment's configuration."""

from __future__ import annotations

import dataclasses

DOOM_FIELD_OF_VIEW = 90.0
"""Doom's horizontal field of view in degrees."""


@dataclasses.dataclass(frozen=True)
class EnvConfig:
    """How a scenario is rendered and stepped."""

    frame_skip: int = 4
    """Engine tics per agent step (the action is held; rewards are summed)."""
    width: int = 80
    """Observation width in pixels (resized from the render with OpenCV INTER_AREA)."""
    height: int = 60
    """Observation height in pixels."""
    grayscale: bool = True
    """One grey channel per frame instead of RGB."""
    frame_stack: int = 4
    """Frames stacked along the channel axis (1: no stacking)."""
    frame_stack_dilation: int = 1
    """Growth of the gaps between stacked frames: 1 stacks the last ``frame_stack`` steps' frames,
    2 those of steps t, t-1, t-3, t-7 (see :func:`envs.frame_stack.stack_offsets`)."""
    render_resolution: str = "RES_160X120"
    """The engine's render resolution (a ``vizdoom.ScreenResolution`` name)."""
    field_of_view: float = DOOM_FIELD_OF_VIEW
    """The player's horizontal field of view in degrees (the engine's ``fov`` command). A wider
    view shows what lies beside the player at the same input size, to the pixels and to the
    labels buffer (so to what an imitable teacher counts as seen). The engine forgets it at each
    episode start, so a view other than Doom's 90 degrees is set again there, and such an
    episode starts one no-op tic later."""
    screen_flashes: bool = False
    """Render Doom's palette flashes (red while the player takes damage, gold on a pickup). A
    hit tints the whole screen for about two seconds (17 steps at frame skip 4) and cuts a grey
    frame's contrast by up to two thirds; a student that learned from a teacher who is rarely
    hit has seen few such frames. Off by default, as ViZDoom renders the screen unless told
    otherwise and as every preset was measured (off: the frames show the scene as it is)."""
    engine_state: bool = False
    """Turn on the objects/sectors/labels buffers so ``engine_state()`` works (teachers need it)."""
    labels: bool = True
    """With ``engine_state``: also the labels buffer, which gives objects their screen boxes and
    visibility. It is the costliest buffer (about half the engine's speed at 160x120): turn it off
    when no one needs to know what is on screen."""
    engine_state_in_info: bool = False
    """Also put the :class:`EngineState` into ``info["engine_state"]`` (for vector envs)."""
    timeout_tics: int | None = None
    """Overrides the registry's episode timeout."""

    @property
    def channels(self) -> int:
        """Channels of one frame."""
        return 1 if self.grayscale else 3

    @property
    def observation_shape(self) -> tuple[int, int, int]:
        """Shape of the stacked uint8 HWC observation."""
        return (self.height, self.width, self.channels * self.frame_stack)
