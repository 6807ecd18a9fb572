import gymnasium as gym
import pytest

import envs
from core.errors import UserError
from envs.registry import SCENARIOS, get_spec, spec_from_cfg

EXPECTED_IDS = {
    "doomgps/Basic-v0",
    "doomgps/DefendTheCenter-v0",
    "doomgps/DefendTheLine-v0",
    "doomgps/HealthGathering-v0",
    "doomgps/HealthGatheringSupreme-v0",
    "doomgps/TakeCover-v0",
    "doomgps/DeadlyCorridor-v0",
    "doomgps/MyWayHome-v0",
}


def test_importing_envs_registers_all_eight_gymnasium_ids():
    assert {spec.env_id for spec in envs.SCENARIOS.values()} == EXPECTED_IDS
    assert set(gym.registry) >= EXPECTED_IDS


def test_every_registered_scenario_has_a_timeout_so_every_episode_ends():
    for spec in SCENARIOS.values():
        assert spec.timeout_tics and spec.timeout_tics > 0, spec.name
    assert SCENARIOS["defend_the_line"].timeout_tics == 10_500
    assert SCENARIOS["take_cover"].timeout_tics == 10_500


def test_every_scenario_cfg_and_wad_ship_with_vizdoom():
    for spec in SCENARIOS.values():
        assert spec.cfg_path.is_file(), spec.cfg_path
        assert spec.wad_path is not None and spec.wad_path.is_file(), spec.wad_path


def test_scenarios_can_be_found_by_name_or_gymnasium_id():
    assert get_spec("doomgps/TakeCover-v0") is get_spec("take_cover")


def test_unknown_scenario_names_it_and_lists_the_known_ones():
    with pytest.raises(UserError) as error:
        get_spec("defend_the_moon")
    message = str(error.value)
    assert "defend_the_moon" in message and "\n" not in message
    for name in SCENARIOS:
        assert name in message


def test_missing_user_cfg_names_the_file(tmp_path):
    with pytest.raises(UserError, match=r"not found: .*nothing\.cfg"):
        get_spec(str(tmp_path / "nothing.cfg"))


def test_user_cfg_whose_wad_is_missing_names_the_wad(tmp_path):
    cfg = tmp_path / "mine.cfg"
    cfg.write_text("doom_scenario_path = mine.wad\navailable_buttons = { ATTACK TURN_LEFT }\n")
    with pytest.raises(UserError, match=r"wad not found: .*mine\.wad"):
        get_spec(str(cfg))


def test_user_cfg_gets_one_action_per_button(tmp_path):
    import shutil

    shutil.copy(SCENARIOS["basic"].wad_path, tmp_path / "basic.wad")
    cfg = tmp_path / "mine.cfg"
    cfg.write_text("doom_scenario_path = basic.wad\navailable_buttons = { ATTACK TURN_LEFT }\n")
    spec = spec_from_cfg(cfg)
    assert spec.actions == (("ATTACK",), ("TURN_LEFT",))
