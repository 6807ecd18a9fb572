"""``DoomEnv``: one headless ViZDoom game as a gymnasium environment.

Observations are pixels only (uint8 HWC, one frame; stacking is the :mod:`envs.frame_stack`
wrapper's job). The game's internal state is available through :meth:`DoomEnv.engine_state` for
privileged teachers and is never part of the observation.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

import cv2
import gymnasium as gym
import numpy as np
import vizdoom as vzd

from core.errors import UserError
from envs import engine_process
from envs.config import DOOM_FIELD_OF_VIEW, EnvConfig
from envs.engine_state import (
    PLAYER_VARIABLES,
    EngineState,
    Walls,
    objects_from_state,
    player_from_variables,
    walls_from_sectors,
)
from envs.registry import ScenarioSpec, get_spec

ENGINE_DIED = (
    vzd.ViZDoomUnexpectedExitException,
    vzd.ViZDoomIsNotRunningException,
    vzd.ViZDoomErrorException,
    vzd.MessageQueueException,
    vzd.SharedMemoryException,
)


class DoomEnv(gym.Env):
    """A headless ViZDoom scenario with a ``Discrete`` action space over button combinations.

    Args:
        scenario: a registered name or gymnasium id, a :class:`ScenarioSpec`, or a ``.cfg`` path.
        config: rendering and stepping options.
        render_mode: ``None`` or ``"rgb_array"`` (``render()`` then returns the RGB screen).

    ``info`` of every step holds ``frames`` (engine tics actually advanced), ``tic`` and, after an
    engine crash, ``engine_restarted=True`` (the episode then ends as truncated).

    A seeded episode does not depend on what the engine played before: ViZDoom carries some of a
    cut episode's state through ``new_episode()`` (on basic, after an episode cut mid-stride, the
    next one's frames differ from step 4), so ``reset()`` before the episode has ended starts the
    next one on a fresh engine (0.6 s measured on a loaded 2-core machine, in the env's process).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 35}

    def __init__(
        self,
        scenario: str | ScenarioSpec = "defend_the_center",
        config: EnvConfig | None = None,
        render_mode: str | None = None,
        **overrides: Any,
    ) -> None:
        self.spec_ = get_spec(scenario)
        config = config or EnvConfig()
        if overrides:
            config = _replace(config, overrides)
        self.config = config
        if render_mode not in (None, "rgb_array"):
            raise UserError(f"render_mode must be None or 'rgb_array', not {render_mode!r}")
        self.render_mode = render_mode
        self._rgb = render_mode == "rgb_array" or not config.grayscale
        self._game: vzd.DoomGame | None = None
        self._engine_pid: int | None = None
        self._build_game()
        shape = (config.height, config.width, config.channels)
        self.observation_space = gym.spaces.Box(0, 255, shape, np.uint8)
        self.action_space = gym.spaces.Discrete(len(self._action_buttons))
        self._last_obs = np.zeros(shape, np.uint8)
        self._last_screen: np.ndarray | None = None
        self._state: Any = None
        self._walls: Walls | None = None
        self._cached_engine_state: EngineState | None = None
        self._seed_rng = np.random.default_rng()
        self._needs_new_episode = True

    # ------------------------------------------------------------------ engine
    def _build_game(self) -> None:
        spec, config = self.spec_, self.config
        game = vzd.DoomGame()
        try:
            game.load_config(str(spec.cfg_path))
        except (vzd.FileDoesNotExistException, vzd.ViZDoomErrorException) as error:
            raise UserError(f"cannot load scenario config {spec.cfg_path}: {error}") from None
        wad = spec.wad_path
        if wad is not None and not wad.is_file():
            raise UserError(f"scenario wad not found: {wad} (named in {spec.cfg_path})")
        game.set_vizdoom_path(engine_process.engine_launcher())
        game.set_doom_config_path(str(engine_process.engine_workdir() / "_vizdoom.ini"))
        game.set_window_visible(False)
        game.set_mode(vzd.Mode.PLAYER)
        game.set_sound_enabled(False)
        game.set_render_screen_flashes(config.screen_flashes)
        game.set_screen_resolution(screen_resolution(config.render_resolution))
        game.set_screen_format(vzd.ScreenFormat.RGB24 if self._rgb else vzd.ScreenFormat.GRAY8)
        for button in spec.extra_buttons:
            game.add_available_button(getattr(vzd.Button, button))
        if spec.doom_skill is not None:
            game.set_doom_skill(spec.doom_skill)
        timeout = config.timeout_tics or spec.timeout_tics
        if timeout:
            game.set_episode_timeout(timeout)
        if config.engine_state:
            game.set_objects_info_enabled(True)
            game.set_sectors_info_enabled(True)
            game.set_labels_buffer_enabled(config.labels)
            for name in PLAYER_VARIABLES:
                game.add_available_game_variable(getattr(vzd.GameVariable, name))
        before = engine_process.child_pids()
        try:
            game.init()
        except vzd.ViZDoomErrorException as error:
            raise UserError(f"ViZDoom could not start {spec.name}: {error}") from None
        started = engine_process.child_pids() - before
        self._engine_pid = min(started) if started else None
        self._game = game
        buttons = [str(b).split(".")[-1] for b in game.get_available_buttons()]
        self._button_names = tuple(buttons)
        self._variable_index = {
            str(v).split(".")[-1]: i for i, v in enumerate(game.get_available_game_variables())
        }
        actions = spec.actions or tuple((b,) for b in buttons)
        self._action_buttons = []
        for action in actions:
            unknown = set(action) - set(buttons)
            if unknown:
                raise UserError(
                    f"{spec.name}: action uses buttons the cfg lacks: {sorted(unknown)}"
                )
            self._action_buttons.append([float(b in action) for b in buttons])

    def _restart_engine(self) -> None:
        if self._game is not None:
            with contextlib.suppress(ENGINE_DIED):
                self._game.close()
        if self._engine_pid is not None:
            engine_process.kill(self._engine_pid)
        self._build_game()
        self._needs_new_episode = True

    @property
    def engine_pid(self) -> int | None:
        """Pid of the engine process (for tests and monitoring)."""
        return self._engine_pid

    @property
    def button_names(self) -> tuple[str, ...]:
        """The engine's buttons, in the order of an action's button vector."""
        return self._button_names

    @property
    def action_names(self) -> tuple[str, ...]:
        """Readable names of the discrete actions."""
        return self.spec_.action_names if self.spec_.actions else self._button_names

    # ------------------------------------------------------------------ gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if seed is not None:
            self._seed_rng = np.random.default_rng(seed)
            episode_seed = int(seed) % 2**31
        else:
            episode_seed = int(self._seed_rng.integers(2**31))
        if not self._needs_new_episode:  # cut short: its state would leak into the next one
            self._restart_engine()
        for attempt in range(2):
            try:
                self._game.set_seed(episode_seed)
                self._game.new_episode()
                self._set_field_of_view()
                break
            except ENGINE_DIED:
                if attempt:
                    raise
                self._restart_engine()
        self._needs_new_episode = False
        self._walls = None
        self._read_state()
        return self._last_obs, self._info(frames=0)

    def _set_field_of_view(self) -> None:
        """Widens (or narrows) the view after an episode start: the engine's ``fov`` command
        runs on the next tic, so one no-op tic is played (its reward is not counted)."""
        if self.config.field_of_view == DOOM_FIELD_OF_VIEW:
            return
        self._game.send_game_command(f"fov {self.config.field_of_view:g}")
        self._game.make_action([0] * len(self._button_names), 1)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._needs_new_episode:
            raise RuntimeError("DoomEnv.step() called before reset() or after the episode ended")
        game = self._game
        try:
            tic_before = game.get_episode_time()
            reward = game.make_action(self._action_buttons[int(action)], self.config.frame_skip)
            finished = game.is_episode_finished()
            tics = game.get_episode_time() - tic_before
            if not 0 < tics <= self.config.frame_skip:
                # A map exit (e.g. basic's kill) resets the engine's clock: the step used at most
                # frame_skip tics, and at least one.
                tics = self.config.frame_skip
            timed_out = finished and game.is_episode_timeout_reached()
        except ENGINE_DIED:
            self._restart_engine()
            info = self._info(frames=0)
            info["engine_restarted"] = True
            return self._last_obs, 0.0, False, True, info
        if finished:
            self._needs_new_episode = True
            self._state = None
            self._cached_engine_state = None
        else:
            self._read_state()
        return (
            self._last_obs,
            float(reward),
            finished and not timed_out,
            timed_out,
            self._info(frames=int(tics)),
        )

    def render(self) -> np.ndarray | None:
        """The last RGB screen at render resolution (``render_mode="rgb_array"``)."""
        if self.render_mode != "rgb_array":
            return None
        return self._last_screen

    def close(self) -> None:
        if self._game is not None:
            with contextlib.suppress(ENGINE_DIED):
                self._game.close()
            self._game = None
        if self._engine_pid is not None:
            engine_process.kill(self._engine_pid)
            self._engine_pid = None

    # ------------------------------------------------------------------ state
    def _read_state(self) -> None:
        state = self._game.get_state()
        self._state = state
        self._cached_engine_state = None
        screen = state.screen_buffer
        self._last_screen = screen
        c = self.config
        if self._rgb and c.grayscale:
            screen = cv2.cvtColor(screen, cv2.COLOR_RGB2GRAY)
        if screen.shape[:2] != (c.height, c.width):
            screen = cv2.resize(screen, (c.width, c.height), interpolation=cv2.INTER_AREA)
        self._last_obs = screen.reshape(c.height, c.width, c.channels)

    def _info(self, frames: int) -> dict[str, Any]:
        info: dict[str, Any] = {"frames": frames, "tic": self._game.get_episode_time()}
        if self.config.engine_state_in_info and self._state is not None:
            info["engine_state"] = self.engine_state()
        return info

    def engine_state(self) -> EngineState:
        """The privileged state at the current step (teachers only; never an observation).

        Raises:
            RuntimeError: the env was built without ``engine_state=True`` or no episode runs.
        """
        if not self.config.engine_state:
            raise RuntimeError("build the env with EnvConfig(engine_state=True) to read its state")
        if self._state is None:
            raise RuntimeError("no engine state: the episode has ended (call reset())")
        if self._cached_engine_state is None:
            state = self._state
            if self._walls is None:
                self._walls = walls_from_sectors(state.sectors)
            values = state.game_variables
            player = player_from_variables(
                {name: values[self._variable_index[name]] for name in PLAYER_VARIABLES}
            )
            game = self._game
            self._cached_engine_state = EngineState(
                tic=int(state.tic),
                player=player,
                objects=objects_from_state(state.objects, state.labels or ()),
                walls=self._walls,
                screen_size=(game.get_screen_width(), game.get_screen_height()),
            )
        return self._cached_engine_state


def check_field_of_view(degrees: float) -> None:
    """Checks that the engine takes ``degrees`` as a field of view (its own bounds, 5 to 179).

    Raises:
        UserError: outside them.
    """
    if not 5.0 <= degrees <= 179.0:
        raise UserError("--field-of-view must be from 5 to 179 degrees")


def screen_resolution(name: str) -> vzd.ScreenResolution:
    """The ``vizdoom.ScreenResolution`` called ``name`` (e.g. ``RES_320X240``).

    Raises:
        UserError: no resolution has that name.
    """
    try:
        return getattr(vzd.ScreenResolution, name)
    except AttributeError:
        raise UserError(
            f"--render-resolution {name!r}: not a vizdoom.ScreenResolution name "
            "(e.g. RES_160X120, RES_320X240)"
        ) from None


def _replace(config: EnvConfig, overrides: dict[str, Any]) -> EnvConfig:
    import dataclasses

    names = {f.name for f in dataclasses.fields(EnvConfig)}
    unknown = set(overrides) - names
    if unknown:
        raise UserError(f"unknown env option(s) {sorted(unknown)}; known: {sorted(names)}")
    return dataclasses.replace(config, **overrides)
