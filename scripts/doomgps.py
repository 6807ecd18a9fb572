"""The ``doomgps`` command: one entry point, subcommands loaded lazily.

Each subcommand is a module with ``main(argv: list[str]) -> int | None`` that parses its own
flags from a frozen dataclass with ``tyro``. Nested groups (``letters``, ``sgd``) dispatch one
level further. User errors (:class:`core.errors.UserError`) print one line and exit 2.
"""

from __future__ import annotations

import importlib
import os
import signal
import sys

# name -> (module, one-line help). Modules are imported only when their command runs, so
# `doomgps scenarios` starts without loading TensorFlow.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("scripts.demo", "the README's main job: train on defend_the_center, evaluate, log"),
    "scenarios": ("scripts.scenarios", "list the registered ViZDoom scenarios"),
    "eval": ("scripts.evaluate", "run headless evaluation episodes of a policy"),
    "train": ("scripts.train", "train a pixel student by guided policy search"),
    "letters": ("scripts.letters", "notMNIST-style letter experiments (subcommands)"),
    "sgd": ("scripts.sgd", "SGD experiments: second-order rule, CDF fit, STA (subcommands)"),
}


def _usage() -> str:
    width = max(map(len, COMMANDS))
    lines = [
        "usage: doomgps COMMAND [flags]   (doomgps COMMAND --help for its flags)",
        "",
        "commands:",
    ]
    lines += [f"  {name:<{width}}  {text}" for name, (_, text) in COMMANDS.items()]
    return "\n".join(lines)


def run_command(argv: list[str]) -> int:
    """Runs one ``doomgps`` command line (without the program name) and returns its exit code."""
    from core.errors import UserError

    if not argv or argv[0] in ("-h", "--help", "help"):
        print(_usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"doomgps: unknown command {name!r}; known: {', '.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        module = importlib.import_module(COMMANDS[name][0])
        code = module.main(rest)
    except UserError as error:
        print(f"doomgps {name}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"doomgps {name}: interrupted", file=sys.stderr)
        return 130
    return int(code or 0)


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    # SIGTERM (e.g. from a job scheduler) takes the same path as Ctrl-C: training saves its state.
    raise KeyboardInterrupt


def main() -> None:
    """Console-script entry point."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    sys.exit(run_command(sys.argv[1:]))


if __name__ == "__main__":
    main()
