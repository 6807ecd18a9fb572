"""Soft labels from teacher scores, tilted toward the student: the GPS step in discrete form.

Guided policy search (Levine & Koltun 2013; Levine et al. 2016) trains the policy on a local
distribution ``q`` that maximises the teacher's objective while staying within a KL step of the
current policy. For discrete actions the solution is a geometric mixture of the teacher's
Boltzmann distribution and the student::

    q(a|s)  ∝  exp(scores(s, a) / tau) ** (1 / (1 + eta))  *  pi(a|s) ** (eta / (1 + eta))

which is the issue's ``exp(scores / tau') * pi ** eta'`` with ``tau' = tau (1 + eta)`` and
``eta' = eta / (1 + eta)``. Written this way ``eta = 0`` is DAgger's label (the teacher alone),
``eta -> inf`` gives ``q -> pi``, and ``KL(q || pi)`` falls monotonically in between, so the dual
variable ``eta`` has one well-defined value for every KL target. :func:`update_eta` is the dual
step: raise ``eta`` when the mean KL is above the target, lower it when below.
"""

from __future__ import annotations

import numpy as np

_TINY = 1e-8


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))


def teacher_distribution(scores: np.ndarray, tau: float) -> np.ndarray:
    """``softmax(scores / tau)`` per row; ``scores`` is ``(N, A)``."""
    return np.exp(_log_softmax(np.asarray(scores, np.float64) / max(tau, _TINY))).astype(np.float32)


def gps_labels(scores: np.ndarray, student_probs: np.ndarray, tau: float,
               eta: float) -> np.ndarray:
    """The soft labels ``q(a|s)`` (rows sum to 1).

    Args:
        scores: ``(N, A)`` teacher action scores (higher is better).
        student_probs: ``(N, A)`` the acting student's action probabilities.
        tau: temperature of the teacher's Boltzmann distribution.
        eta: the dual variable (``0``: the teacher's distribution, DAgger).
    """
    log_p = _log_softmax(np.asarray(scores, np.float64) / max(tau, _TINY))
    if eta > 0:
        log_pi = np.log(np.asarray(student_probs, np.float64) + _TINY)
        log_p = _log_softmax((log_p + eta * log_pi) / (1.0 + eta))
    return np.exp(log_p).astype(np.float32)


def kl_divergence(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-row ``KL(q || p)`` in nats."""
    q = np.asarray(q, np.float64)
    p = np.asarray(p, np.float64)
    return np.sum(q * (np.log(q + _TINY) - np.log(p + _TINY)), axis=-1)


def update_eta(eta: float, kl: float, target: float, learning_rate: float = 1.0,
               max_eta: float = 100.0) -> float:
    """One dual step on ``eta``: ``eta + lr * (KL / target - 1)``, kept in ``[0, max_eta]``.

    The KL is measured relative to its target so that one learning rate suits any target; a KL
    above target raises ``eta`` (labels closer to the student), below lowers it.
    """
    step = learning_rate * (kl / max(target, _TINY) - 1.0)
    return float(np.clip(eta + step, 0.0, max_eta))
