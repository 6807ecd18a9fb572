"""The bullet ledger (``python -m benchmarks.bullets``): kills, bullets and misses per episode."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from agents.rollout import Transition
from benchmarks.bullets import AmmoLedger, BenchArgs, TeacherTakeover, account, main
from core.errors import UserError


def _step(ammo: list[float], rewards: list[float], episode: list[int], **flags) -> Transition:
    n = len(ammo)
    states = [SimpleNamespace(player=SimpleNamespace(ammo=a)) for a in ammo]
    return Transition(
        observations=np.zeros((n, 1, 1, 1), np.uint8),
        states=states,
        actions=np.zeros(n, np.int64),
        rewards=np.array(rewards, float),
        terminated=np.array(flags.get("terminated", [False] * n)),
        truncated=np.zeros(n, bool),
        active=np.array(flags.get("active", [True] * n)),
        episode=np.array(episode),
    )


def test_the_ledger_counts_each_episodes_kills_bullets_and_misses_apart() -> None:
    ledger = AmmoLedger(episodes=2)
    ledger(_step([26, 10], [0, 1], [0, 1]))
    ledger(_step([25, 9], [1, 0], [0, 1]))  # episode 0: a kill
    ledger(_step([24, 8], [0, -1], [0, 1], terminated=[False, True]))  # episode 1 dies armed
    ledger(_step([23, 8], [-1, 5], [0, 2], terminated=[True, False], active=[True, False]))
    first, second = ledger.episodes
    assert (first.start, first.last, first.kills, first.bullets, first.misses) == (26, 23, 1, 3, 2)
    assert first.died
    assert (second.kills, second.bullets, second.misses, second.died) == (1, 2, 1, True)
    assert second.last == 8  # the filler after it (inactive) changed nothing


def test_the_standing_teacher_runs_dry_and_misses_almost_never() -> None:
    args = BenchArgs(episodes=2, seed=0)
    mean_return, episodes, takeover = account("teacher", args)
    assert takeover is None
    for episode in episodes:
        assert episode.start == 26 and episode.last == 0 and episode.died
        assert episode.kills >= 24 and episode.misses <= 1
    assert mean_return == np.mean([e.kills - 1 for e in episodes])  # +1 a kill, -1 at death


def test_the_table_has_a_row_per_policy() -> None:
    text = main(BenchArgs(policies=("random",), episodes=1, seed=3))
    row = text.splitlines()[-1]
    assert row.startswith("| random | ") and row.count("|") == 8


class _TriggerHappy:
    """A student stand-in that wants to fire standing in every state."""

    def __init__(self, fire: int, num_actions: int) -> None:
        self.fire, self.num_actions = fire, num_actions

    def probabilities(self, observations: np.ndarray) -> np.ndarray:
        probs = np.zeros((len(observations), self.num_actions))
        probs[:, self.fire] = 1.0
        return probs

    def choose(self, probs: np.ndarray) -> np.ndarray:
        return np.argmax(probs, axis=-1)

    def record(self, actions: np.ndarray) -> None:
        pass

    def reset(self, env_index: int) -> None:
        pass


def _play_taken_over(takeover: str, near_radius: float = 200.0):
    from agents.rollout import run_episodes
    from envs.config import EnvConfig
    from envs.registry import get_spec
    from envs.vector import open_vector_env

    spec = get_spec("defend_the_center")
    fire = list(spec.action_names).index("ATTACK")
    actor = TeacherTakeover(
        _TriggerHappy(fire, len(spec.action_names)),
        spec.name,
        2,
        takeover,
        near_radius,
        turning_shots=False,
    )
    ledger = AmmoLedger(2)
    config = EnvConfig(engine_state=True, engine_state_in_info=True)
    with open_vector_env(spec, 2, config) as vec:
        run_episodes(vec, actor, 2, 0, on_step=ledger, show_progress=False)
    return actor, ledger.episodes


def test_taking_over_the_misses_leaves_a_trigger_happy_student_only_its_hits() -> None:
    actor, episodes = _play_taken_over("misses")
    assert 0.3 < actor.takeovers / actor.steps < 1.0  # each press off target, none on it
    for episode in episodes:
        assert episode.kills >= 20 and episode.misses <= 3  # alone: 2-3 kills, 23-24 misses


def test_a_perfect_trigger_on_a_student_that_never_turns_fires_only_at_what_walks_into_view():
    actor, episodes = _play_taken_over("trigger")
    assert actor.takeovers / actor.steps > 0.8  # it stands (its next choice) and waits
    for episode in episodes:
        assert episode.misses == 0 and 1 <= episode.kills <= 5
        assert episode.died and episode.last >= 20  # bitten from behind with bullets left


def test_a_teacher_taking_over_near_every_enemy_plays_as_well_as_alone() -> None:
    actor, episodes = _play_taken_over("near", near_radius=1e9)
    assert actor.takeovers / actor.steps > 0.95
    _, alone, _ = account("teacher", BenchArgs(episodes=2, seed=0))
    assert [e.kills for e in episodes] == [e.kills for e in alone]


def test_a_takeover_needs_a_student() -> None:
    with pytest.raises(UserError, match="student"):
        account("teacher", BenchArgs(episodes=1, takeover="misses"))
