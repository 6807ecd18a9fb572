import os
import signal

import numpy as np
import pytest

from agents.actors import RandomActor
from agents.rollout import run_episodes
from envs.config import EnvConfig
from envs.engine_state import EngineState
from envs.vector import make_vector_env, open_vector_env


def test_vector_env_stacks_observations_and_returns_each_envs_engine_state():
    config = EnvConfig(engine_state=True, engine_state_in_info=True)
    env = make_vector_env("defend_the_center", 2, config)
    try:
        obs, info = env.reset(seed=[0, 1])
        assert obs.shape == (2, 60, 80, 4) and obs.dtype == np.uint8
        assert all(isinstance(s, EngineState) for s in info["engine_state"])
        obs, _, _, _, info = env.step(np.array([1, 2]))
        angles = [s.player.angle for s in info["engine_state"]]
        assert angles[0] != angles[1]  # one turned left, one right
    finally:
        env.close()


def test_episodes_are_played_on_the_same_seeds_whatever_the_number_of_envs():
    class FixedActor(RandomActor):
        def act(self, observations, states=None):
            return np.full(len(observations), 3)  # always attack

    results = []
    for num_envs in (1, 2):
        env = make_vector_env("basic", num_envs, EnvConfig(frame_stack=1))
        try:
            results.append(run_episodes(env, FixedActor(4), 4, seed=10, show_progress=False))
        finally:
            env.close()
    one, two = results
    assert np.array_equal(one.returns, two.returns)
    assert np.array_equal(one.lengths, two.lengths)
    assert list(one.seeds) == [10, 11, 12, 13]
    assert np.array_equal(one.frames, two.frames) and (one.frames <= 4 * one.lengths).all()


def test_vector_env_keeps_going_when_one_engine_is_killed():
    env = make_vector_env("defend_the_center", 2, EnvConfig(frame_stack=1))
    try:
        env.reset(seed=[0, 1])
        env.step(np.array([0, 0]))
        pids = env.get_attr("engine_pid")
        os.kill(pids[0], signal.SIGKILL)
        _, _, terminated, truncated, info = env.step(np.array([0, 0]))
        assert info["engine_restarted"][0] and truncated[0] and not terminated[0]
        assert not truncated[1]
        env.reset(seed=[5, 1], options={"reset_mask": np.array([True, False])})
        for _ in range(5):
            _, _, _, _, info = env.step(np.array([3, 3]))
        assert "engine_restarted" not in info
        assert env.get_attr("engine_pid")[0] != pids[0]
    finally:
        env.close()


@pytest.mark.filterwarnings("ignore::UserWarning")  # gymnasium: close while a step is pending
def test_an_interrupted_vector_env_context_terminates_its_workers() -> None:
    with open_vector_env("basic", 2, EnvConfig(frame_stack=1)) as env:
        env.reset(seed=0)
    assert env.closed
    with pytest.raises(KeyboardInterrupt), open_vector_env("basic", 2, EnvConfig()) as env:
        workers = list(env.processes)
        env.reset(seed=0)
        env.step_async(np.zeros(2, np.int64))  # a reply is pending when Ctrl-C lands
        raise KeyboardInterrupt
    assert env.closed
    for worker in workers:
        worker.join(timeout=10)
        assert not worker.is_alive()
