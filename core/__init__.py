"""The shared TensorFlow training core: logging, run directories, checkpoints, training loops.

Importing ``core`` itself does not import TensorFlow; its submodules that need it do.
"""
