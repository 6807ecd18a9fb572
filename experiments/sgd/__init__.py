"""SGD experiments on the shared core: a second-order update rule, a monotone CDF fit, and the
spike-triggered average. Each is a ``doomgps sgd ...`` subcommand (see ``scripts/sgd.py``)."""
