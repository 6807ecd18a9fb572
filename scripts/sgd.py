"""``doomgps sgd {second-order,cdf,sta}``: the SGD experiments (see docs/sgd.md).

Each subcommand parses one frozen dataclass with ``tyro``, creates
``runs/sgd_{experiment}__{name}__{seed}__{time}`` holding ``config.json``, TensorBoard logs in
``tb/``, a PNG plot and ``results.{md,csv,json}``, and prints the results table.
"""

from __future__ import annotations

import tyro

from experiments.sgd.cdf_fit import CdfConfig, run_cdf
from experiments.sgd.second_order import SecondOrderExperimentConfig, run_second_order
from experiments.sgd.sta import StaConfig, run_sta

SUBCOMMANDS = {
    "second-order": SecondOrderExperimentConfig,
    "cdf": CdfConfig,
    "sta": StaConfig,
}


def main(argv: list[str]) -> int:
    """Parses ``argv`` (after ``doomgps sgd``) and runs the chosen experiment."""
    config = tyro.extras.subcommand_cli_from_dict(
        dict(SUBCOMMANDS),
        args=argv,
        prog="doomgps sgd",
        description=__doc__,
    )
    if isinstance(config, SecondOrderExperimentConfig):
        run_second_order(config)
    elif isinstance(config, CdfConfig):
        run_cdf(config)
    else:
        run_sta(config)
    return 0
