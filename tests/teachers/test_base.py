"""The teacher template: same-tic caching, frame-skip and turn-ramp tracking, the action taken,
reset."""

from __future__ import annotations

import numpy as np

from envs.engine_state import EngineState, Objects, PlayerState, Walls
from envs.registry import get_spec
from teachers.base import Teacher
from teachers.motion import FAST_TURN, SLOW_TURN


class _Counting(Teacher):
    """Scores = (decision count, skip, held, 0, ...); records what the hooks saw."""

    TRACKS_TURN = True

    def reset(self) -> None:
        super().reset()
        self.decisions = 0
        self.took: list[tuple[int, int, int]] = []

    def _decide(self, state: EngineState) -> np.ndarray:
        self.decisions += 1
        scores = np.zeros(self.num_actions)
        scores[:3] = self.decisions, self._skip, self._held
        return scores

    def _took(self, state: EngineState, action: int) -> None:
        self.took.append((state.tic, action, self._skip))


def _state(tic: int, angle: float = 0.0) -> EngineState:
    player = PlayerState(
        position=np.zeros(3, np.float32),
        angle=angle,
        velocity=np.zeros(3, np.float32),
        health=100.0,
        armor=0.0,
        ammo=0.0,
        weapon=1,
    )
    objects = Objects(
        id=np.zeros(0, np.int64),
        name=(),
        category=np.zeros(0, np.int8),
        position=np.zeros((0, 3), np.float32),
        angle=np.zeros(0, np.float32),
        velocity=np.zeros((0, 3), np.float32),
        visible=np.zeros(0, bool),
        box=np.zeros((0, 4), np.float32),
    )
    walls = Walls(np.zeros((0, 4), np.float32), np.zeros(0, bool), np.zeros(0, bool))
    return EngineState(tic=tic, player=player, objects=objects, walls=walls, screen_size=(160, 120))


def _teacher() -> _Counting:
    teacher = _Counting(get_spec("defend_the_center"))
    teacher.reset()
    return teacher


def test_a_second_call_on_the_same_tic_returns_a_copy_of_the_cached_scores():
    teacher = _teacher()
    first = teacher.action_scores(_state(10))
    first[:] = -1.0  # the caller's copy: the cache must not change
    again = teacher.action_scores(_state(10))
    assert teacher.decisions == 1 and teacher.took == []
    assert again[0] == 1.0


def test_the_frame_skip_is_the_tic_gap_between_consecutive_states():
    teacher = _teacher()
    assert teacher.action_scores(_state(10))[1] == 4  # first state: the default
    assert teacher.action_scores(_state(13))[1] == 3
    assert teacher.action_scores(_state(13 + 40))[1] == 3  # a jump is no step: kept
    assert teacher.action_scores(_state(60))[1] == 7


def test_the_turn_ramp_is_inferred_from_the_yaw_change():
    teacher = _teacher()
    teacher.action_scores(_state(10, angle=0.0))
    # 4 tics of a fresh turn: all at the slow rate, so the turn has been held 4 tics.
    assert teacher.action_scores(_state(14, angle=4 * SLOW_TURN))[2] == 4
    # 1 more slow tic, then 3 fast ones: held for 8 tics.
    held = teacher.action_scores(_state(18, angle=5 * SLOW_TURN + 3 * FAST_TURN))[2]
    assert held == 8
    assert teacher.action_scores(_state(22, angle=5 * SLOW_TURN + 3 * FAST_TURN))[2] == 0


def test_reset_forgets_the_tic_skip_turn_and_cache():
    teacher = _teacher()
    teacher.action_scores(_state(10))
    teacher.action_scores(_state(12, angle=2 * SLOW_TURN))
    teacher.reset()
    scores = teacher.action_scores(_state(12))  # same tic as before the reset: decided anew
    assert teacher.decisions == 1
    assert scores[1] == 4 and scores[2] == 0


def test_the_next_decision_first_learns_the_teachers_own_best_action_was_taken():
    teacher = _teacher()
    teacher.action_scores(_state(10))  # best: action 1 (its score is the skip, 4)
    assert teacher.took == []  # nothing taken yet: the step is still to be played
    teacher.action_scores(_state(13))
    assert teacher.took == [(10, 1, 4)]  # the state, the action, that state's frame skip


def test_taken_overrides_the_assumed_action_when_another_policy_acted():
    teacher = _teacher()
    teacher.action_scores(_state(10))
    teacher.taken(5)  # e.g. the student acted in a DAgger rollout
    teacher.action_scores(_state(10))  # same tic: cached, the taken action stands
    teacher.action_scores(_state(14))
    teacher.action_scores(_state(18))  # no override: its own best again
    assert teacher.took == [(10, 5, 4), (14, 1, 4)]


def test_reset_forgets_the_action_taken_in_the_last_episode():
    teacher = _teacher()
    teacher.action_scores(_state(10))
    teacher.taken(3)
    teacher.reset()
    teacher.taken(2)  # nothing scored since the reset: ignored
    teacher.action_scores(_state(4))
    assert teacher.took == []
