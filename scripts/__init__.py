"""Thin command-line entry points; ``scripts.doomgps:main`` is the ``doomgps`` command."""
