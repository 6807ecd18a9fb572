"""Actors (teacher, student, random), the episode loop and ``evaluate()``, and the GPS loop.

Importing ``agents`` does not import TensorFlow; the student modules do.
"""
