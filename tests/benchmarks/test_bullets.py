"""The bullet ledger (``python -m benchmarks.bullets``): kills, bullets and misses per episode."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from agents.rollout import Transition
from benchmarks.bullets import AmmoLedger, BenchArgs, account, main


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
    mean_return, episodes = account("teacher", args)
    for episode in episodes:
        assert episode.start == 26 and episode.last == 0 and episode.died
        assert episode.kills >= 24 and episode.misses <= 1
    assert mean_return == np.mean([e.kills - 1 for e in episodes])  # +1 a kill, -1 at death


def test_the_table_has_a_row_per_policy() -> None:
    text = main(BenchArgs(policies=("random",), episodes=1, seed=3))
    row = text.splitlines()[-1]
    assert row.startswith("| random | ") and row.count("|") == 8
