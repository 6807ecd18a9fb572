"""``doomgps scenarios``: a table of the registry."""

from __future__ import annotations


def main(argv: list[str]) -> int:
    """Prints name, gymnasium id, actions, timeout and what the score means for every scenario."""
    if argv and argv[0] in ("-h", "--help"):
        print("usage: doomgps scenarios\n\nLists the registered scenarios.")
        return 0
    from envs.registry import SCENARIOS

    rows = [("scenario", "gymnasium id", "actions", "timeout", "solved", "score")]
    for spec in SCENARIOS.values():
        timeout = f"{spec.timeout_tics} tics" if spec.timeout_tics else "cfg"
        solved = "-" if spec.solved_return is None else f"{spec.solved_return:g}"
        rows.append(
            (
                spec.name,
                spec.env_id,
                f"{len(spec.actions)}: {', '.join(spec.action_names)}",
                timeout,
                solved,
                spec.score,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        print(
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[-1]
        )
    return 0
