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

from collections.abc import Sequence

import numpy as np

_TINY = 1e-8


def _log_softmax(logits: np.ndarray) -> np.ndarray:
    logits = logits - logits.max(axis=-1, keepdims=True)
    return logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))


def teacher_distribution(scores: np.ndarray, tau: float) -> np.ndarray:
    """``softmax(scores / tau)`` per row; ``scores`` is ``(N, A)``."""
    return np.exp(_log_softmax(np.asarray(scores, np.float64) / max(tau, _TINY))).astype(np.float32)


def argmax_distribution(
    scores: np.ndarray, smoothing: float = 0.05, tie: float = 1e-6
) -> np.ndarray:
    """The teacher's best action(s) with ``1 - smoothing`` of the mass, the rest spread evenly.

    Actions within ``tie`` of the best score share the mass equally. Unlike ``softmax(scores /
    tau)`` this never turns a small score difference into a near coin flip: the shooter teachers
    score "fire while the pistol is busy" only 0.05 below "don't fire", so at ``tau = 1`` two
    thirds of the defend_the_center labels were ~50/50 between TURN_X and TURN_X+ATTACK, and a
    student trained on them pressed ATTACK in 25-40% of its steps (the teacher: 10%).
    """
    scores = np.asarray(scores, np.float64)
    best = scores >= scores.max(axis=-1, keepdims=True) - tie
    hard = best / best.sum(axis=-1, keepdims=True)
    return (hard * (1.0 - smoothing) + smoothing / scores.shape[-1]).astype(np.float32)


def teacher_labels(
    scores: np.ndarray, tau: float, kind: str = "softmax", smoothing: float = 0.05
) -> np.ndarray:
    """The teacher's labels: ``softmax(scores / tau)`` or :func:`argmax_distribution`."""
    if kind == "argmax":
        return argmax_distribution(scores, smoothing)
    if kind != "softmax":
        raise ValueError(f"label kind must be softmax or argmax, not {kind!r}")
    return teacher_distribution(scores, tau)


def gps_labels(
    scores: np.ndarray,
    student_probs: np.ndarray,
    tau: float,
    eta: float,
    kind: str = "softmax",
    smoothing: float = 0.05,
) -> np.ndarray:
    """The soft labels ``q(a|s)`` (rows sum to 1).

    Args:
        scores: ``(N, A)`` teacher action scores (higher is better).
        student_probs: ``(N, A)`` the acting student's action probabilities.
        tau: temperature of the teacher's Boltzmann distribution.
        eta: the dual variable (``0``: the teacher's distribution, DAgger).
        kind: ``softmax`` (``exp(scores / tau)``) or ``argmax`` (the teacher's best action with
            ``1 - smoothing`` of the mass; ``tau`` unused) as the teacher's distribution.
        smoothing: mass spread over all actions by the ``argmax`` kind.
    """
    if kind == "softmax":
        log_p = _log_softmax(np.asarray(scores, np.float64) / max(tau, _TINY))
    else:
        log_p = np.log(teacher_labels(scores, tau, kind, smoothing).astype(np.float64))
    if eta > 0:
        log_pi = np.log(np.asarray(student_probs, np.float64) + _TINY)
        log_p = _log_softmax((log_p + eta * log_pi) / (1.0 + eta))
    return np.exp(log_p).astype(np.float32)


def choice_weights(scores: np.ndarray, floor: float) -> np.ndarray:
    """How much the teacher's choice matters in each state, as a loss weight with mean 1.

    A row's weight is the spread of its scores (best minus worst) plus ``floor``, divided by
    the mean over the rows. Where every action is about as good (take_cover's calm, most of its
    states), the label is a near coin flip and weighs little; where one action is far worse (a
    fireball about to hit), the label weighs up to a hundred times more.

    Args:
        scores: ``(N, A)`` teacher action scores.
        floor: added to every spread (> 0), so calm states still count.

    Returns:
        ``(N,)`` float32 weights averaging 1.
    """
    scores = np.asarray(scores, np.float64)
    if not len(scores):
        return np.zeros(0, np.float32)
    weight = scores.max(axis=-1) - scores.min(axis=-1) + floor
    return (weight / weight.mean()).astype(np.float32)


def kl_divergence(q: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Per-row ``KL(q || p)`` in nats."""
    q = np.asarray(q, np.float64)
    p = np.asarray(p, np.float64)
    return np.sum(q * (np.log(q + _TINY) - np.log(p + _TINY)), axis=-1)


def update_eta(
    eta: float, kl: float, target: float, learning_rate: float = 1.0, max_eta: float = 100.0
) -> float:
    """One dual step on ``eta``: ``eta + lr * (KL / target - 1)``, kept in ``[0, max_eta]``.

    The KL is measured relative to its target so that one learning rate suits any target; a KL
    above target raises ``eta`` (labels closer to the student), below lowers it.
    """
    step = learning_rate * (kl / max(target, _TINY) - 1.0)
    return float(np.clip(eta + step, 0.0, max_eta))


def label_prior(labels: np.ndarray, mirror: Sequence[int] | None = None) -> np.ndarray:
    """How often each action is the labels' most probable one: ``(A,)`` shares summing to 1.

    Args:
        labels: ``(N, A)`` label distributions (the dataset's ``q``).
        mirror: each action's left-right mirror image when the student trains on mirrored
            samples too (``GPSConfig.mirror``): the prior then averages the labels' counts and
            their mirror images', as the training batches hold both.
    """
    labels = np.asarray(labels)
    if labels.ndim != 2 or len(labels) == 0:
        raise ValueError(f"labels must be a non-empty (N, A) array, got shape {labels.shape}")
    counts = np.bincount(labels.argmax(axis=-1), minlength=labels.shape[-1]).astype(np.float64)
    if mirror is not None:
        counts = 0.5 * (counts + counts[np.asarray(mirror)])
    return (counts / counts.sum()).astype(np.float32)


def logit_adjustment(prior: np.ndarray, tau: float) -> np.ndarray:
    """What post-hoc logit adjustment adds to a student's logits before it acts: ``(A,)``.

    ``tau * log(max(prior) / prior(a))``: the most common label gets 0, an action best ``r``
    times less often gets ``tau * log(r)``, so the greedy policy is ``argmax_a log pi(a|s) - tau
    log prior(a)`` (Menon et al. 2021, "Long-tail learning via logit adjustment"; tau = 1 is the
    balanced-error choice). A network trained by cross-entropy on imbalanced labels leans toward
    the common ones where it is unsure (e.g. waiting or turning rather than firing); this leans
    back. Actions never best in the labels get 0 (no prior to correct). ``tau = 0``: zeros.
    """
    prior = np.asarray(prior, np.float64)
    if tau < 0:
        raise ValueError(f"the logit adjustment's tau must be >= 0, got {tau}")
    seen = prior > 0
    if tau == 0 or not seen.any():
        return np.zeros(prior.shape, np.float32)
    ratio = np.where(seen, prior.max() / np.where(seen, prior, 1.0), 1.0)
    return (tau * np.log(ratio)).astype(np.float32)


def mean_logit_adjustment(priors: np.ndarray, tau: float) -> np.ndarray:
    """:func:`logit_adjustment` of a prior ``(A,)``, or the mean of the adjustments of the rows of
    ``(K, A)``: a snapshot ensemble's members each lean back from the labels they trained on."""
    return np.mean([logit_adjustment(p, tau) for p in np.atleast_2d(priors)], axis=0).astype(
        np.float32
    )
