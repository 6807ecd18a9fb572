import numpy as np
import pytest

from envs.factory import make_env
from envs.frame_stack import stack_offsets


def test_offsets_are_consecutive_without_dilation_and_double_their_gaps_with_two():
    assert stack_offsets(4) == (0, 1, 2, 3)
    assert stack_offsets(4, 2) == (0, 1, 3, 7)
    assert stack_offsets(5, 3) == (0, 1, 4, 13, 40)
    assert stack_offsets(1, 2) == (0,)
    for k, dilation in ((0, 1), (4, 0)):
        with pytest.raises(ValueError):
            stack_offsets(k, dilation)


@pytest.mark.parametrize("dilation", [1, 2])
def test_a_stack_holds_the_engines_frames_of_its_offsets_oldest_first(dilation):
    """Stacked observations equal the single frames of the same seeded episode, steps t-7, t-3,
    t-1 and t with dilation 2; the reset frame stands in for steps before the episode."""
    actions = np.random.default_rng(0).integers(3, size=12)
    single = make_env("defend_the_center", frame_stack=1)
    stacked = make_env("defend_the_center", frame_stack=4, frame_stack_dilation=dilation)
    try:
        frame, _ = single.reset(seed=5)
        observation, _ = stacked.reset(seed=5)
        frames, observations = [frame], [observation]
        for action in actions:
            frames.append(single.step(action)[0])
            observations.append(stacked.step(action)[0])
    finally:
        single.close()
        stacked.close()
    assert observations[0].shape == (60, 80, 4)
    assert len({frame.tobytes() for frame in frames}) > 6  # the view changes step by step
    offsets = stack_offsets(4, dilation)
    for t, observation in enumerate(observations):
        expected = [frames[max(t - o, 0)][..., 0] for o in reversed(offsets)]
        np.testing.assert_array_equal(observation, np.stack(expected, axis=-1))
