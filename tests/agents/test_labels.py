"""Soft labels and the eta dual update."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.labels import gps_labels, kl_divergence, teacher_distribution, update_eta


def _toy(seed: int = 0, n: int = 200, actions: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, actions)) * 3.0, rng.dirichlet(np.ones(actions), size=n)


def test_eta_zero_gives_the_teachers_boltzmann_labels_as_in_dagger() -> None:
    scores, pi = _toy()
    labels = gps_labels(scores, pi, tau=0.5, eta=0.0)
    expected = np.exp(scores / 0.5) / np.exp(scores / 0.5).sum(-1, keepdims=True)
    np.testing.assert_allclose(labels, expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(labels.sum(-1), 1.0, rtol=1e-6)


def test_large_eta_pulls_the_labels_onto_the_student() -> None:
    scores, pi = _toy()
    assert kl_divergence(gps_labels(scores, pi, 1.0, 1000.0), pi).mean() < 1e-3


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), tau=st.floats(0.1, 5.0))
def test_kl_to_the_student_falls_as_eta_grows(seed: int, tau: float) -> None:
    scores, pi = _toy(seed, n=20)
    kls = [
        kl_divergence(gps_labels(scores, pi, tau, eta), pi).mean()
        for eta in (0.0, 0.5, 1.0, 2.0, 5.0, 20.0)
    ]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(kls))


def test_eta_updates_move_the_kl_to_its_target_on_a_toy_problem() -> None:
    scores, pi = _toy(1)
    target, eta = 0.3, 0.0
    kls = []
    for _ in range(25):
        kl = float(kl_divergence(gps_labels(scores, pi, 1.0, eta), pi).mean())
        kls.append(kl)
        eta = update_eta(eta, kl, target, learning_rate=1.0)
    assert kls[0] > 1.0  # DAgger's labels are far from this student
    assert abs(kls[-1] - target) < 0.01
    assert eta > 0


def test_eta_falls_when_the_kl_is_below_target_and_never_goes_negative() -> None:
    assert update_eta(2.0, kl=0.1, target=0.3) < 2.0
    assert update_eta(0.1, kl=0.0, target=0.3) == 0.0
    assert update_eta(0.0, kl=0.9, target=0.3) > 0.0


def test_teacher_distribution_is_stable_for_huge_scores() -> None:
    probs = teacher_distribution(np.array([[1e6, 0.0, -1e6]]), tau=0.01)
    assert np.isfinite(probs).all() and probs[0, 0] == 1.0


def test_argmax_labels_do_not_turn_a_small_score_gap_into_a_coin_flip() -> None:
    from agents.labels import argmax_distribution, teacher_labels

    # the shooter's "fire while the pistol is busy": 0.05 below "don't fire"
    scores = np.array([[0.0, -2.0, -2.0, -0.05, -2.05, -2.05], [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]])
    soft = teacher_distribution(scores, 1.0)[0]
    assert soft[0] - soft[3] < 0.03  # softmax: a near tie between fire and no fire
    q = argmax_distribution(scores, smoothing=0.06)
    np.testing.assert_allclose(q[0], [0.95, 0.01, 0.01, 0.01, 0.01, 0.01], atol=1e-6)
    np.testing.assert_allclose(q[1, :2], [0.48, 0.48], atol=1e-6)  # exact ties share the mass
    np.testing.assert_allclose(q.sum(-1), 1.0, rtol=1e-6)
    np.testing.assert_allclose(teacher_labels(scores, 1.0, "argmax", 0.06), q)
    pi = np.full((2, 6), 1 / 6)
    np.testing.assert_allclose(gps_labels(scores, pi, 1.0, 0.0, "argmax", 0.06), q, atol=1e-6)
    tilted = gps_labels(scores, pi, 1.0, 3.0, "argmax", 0.06)  # eta > 0 moves it toward pi
    assert kl_divergence(tilted, pi).mean() < kl_divergence(q, pi).mean()


def test_choice_weights_count_a_state_by_how_much_the_teachers_choice_matters_there() -> None:
    from agents.labels import choice_weights

    calm = [0.0, -0.01, -0.01]  # take_cover with nothing near: standing is preferred a little
    fireball = [-2.0, -0.01, -3.0]  # standing or the wrong strafe gets the player hit
    weights = choice_weights(np.array([calm, calm, calm, fireball]), floor=0.02)
    np.testing.assert_allclose(weights.mean(), 1.0, rtol=1e-6)
    assert weights[0] == weights[1] == weights[2]
    np.testing.assert_allclose(weights[3] / weights[0], (2.99 + 0.02) / (0.01 + 0.02), rtol=1e-5)
    # all actions alike: the floor alone, every row the same weight
    np.testing.assert_allclose(choice_weights(np.zeros((3, 3)), floor=0.02), 1.0)
    assert choice_weights(np.zeros((0, 3)), floor=0.02).shape == (0,)


def test_the_label_prior_counts_each_actions_best_labels_and_averages_mirror_images() -> None:
    from agents.labels import label_prior

    # actions: none, left, right, fire; the teacher chose left 3 times, right once, fire once
    labels = np.eye(4)[[1, 1, 1, 2, 3]] * 0.9 + 0.025
    np.testing.assert_allclose(label_prior(labels), [0.0, 0.6, 0.2, 0.2])
    # trained on mirrored copies too: left and right are each best as often
    np.testing.assert_allclose(label_prior(labels, mirror=[0, 2, 1, 3]), [0.0, 0.4, 0.4, 0.2])


def test_logit_adjustment_lifts_rare_labels_by_tau_times_their_log_rarity() -> None:
    from agents.labels import logit_adjustment

    prior = np.array([0.25, 0.5, 0.125, 0.125, 0.0])
    offset = logit_adjustment(prior, tau=1.0)
    np.testing.assert_allclose(offset, [np.log(2), 0.0, np.log(4), np.log(4), 0.0], rtol=1e-6)
    np.testing.assert_allclose(logit_adjustment(prior, tau=0.5), offset / 2, rtol=1e-6)
    assert not logit_adjustment(prior, tau=0.0).any()
    # the greedy choice flips to a rare action the student is only a little less sure of
    log_pi = np.log([0.3, 0.4, 0.2, 0.1, 0.0 + 1e-9])
    assert np.argmax(log_pi) == 1 and np.argmax(log_pi + offset) == 2
    with pytest.raises(ValueError, match="tau"):
        logit_adjustment(prior, tau=-1.0)
