"""``doomgps letters generate|sweep|sgd|hidden|conv``: the notMNIST-style letter experiments.

- ``generate``: render notMNIST-style letters (matplotlib's bundled fonts) into the real layout.
- ``sweep``: logistic regression, training size x C (x-axis of eval/ curves: training size).
- ``sgd``: logistic regression by minibatch SGD (x-axis: optimizer steps).
- ``hidden``: 1024 ReLU hidden units, plain / L2 / dropout (x-axis: optimizer steps).
- ``conv``: a dilated convolution net (x-axis: optimizer steps).
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tyro

from experiments.letters import commands

SUBCOMMANDS = {
    "generate": commands.GenerateConfig,
    "sweep": commands.SweepConfig,
    "sgd": commands.SgdConfig,
    "hidden": commands.HiddenConfig,
    "conv": commands.ConvConfig,
}
RUNNERS = {
    commands.GenerateConfig: commands.generate,
    commands.SweepConfig: commands.sweep,
    commands.SgdConfig: commands.sgd,
    commands.HiddenConfig: commands.hidden,
    commands.ConvConfig: commands.conv,
}


def main(argv: list[str]) -> int:
    """Parses ``argv`` into one subcommand's config and runs it."""
    config = tyro.extras.subcommand_cli_from_dict(
        SUBCOMMANDS, args=argv, prog="doomgps letters", description=__doc__
    )
    RUNNERS[type(config)](config)
    return 0
