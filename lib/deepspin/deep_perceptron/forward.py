"""Forward propagation of two networks through sign units: the law and a direct simulation.

Two networks with bond overlaps Q_l (weights of each perceptron on the sphere, the two
replicas' rows correlated by Q_l and otherwise independent) receive the same inputs.
The pre-activations of a unit are jointly Gaussian for c ≫ 1 with correlation
``Q_l q_{l−1}``, and for sign units (eq. forward-law)

    q_l = P(same sign) − P(different sign) = (2/π) arcsin(Q_l q_{l−1}).
"""

from __future__ import annotations

import numpy as np

from deepspin.checks import as_generator, check_array, check_int, check_real

__all__ = ["forward_overlaps", "simulate_forward_overlaps"]


def forward_overlaps(Q, q0=1.0):
    """Spin overlaps q_0 … q_L of two networks with bond overlaps Q, eq. (forward-law).

    Parameters
    ----------
    Q : array (L,), entries in [-1, 1], L ≥ 0
        Bond overlaps Q_1 … Q_L (empty: no layer, the inputs alone).
    q0 : float in [-1, 1]
        Overlap of the two networks' inputs.

    Returns
    -------
    ndarray (L+1,)
    """
    Q = check_array("Q", Q, -1.0, 1.0, ndim=1)
    q = [check_real("q0", q0, -1.0, 1.0)]
    for overlap in Q:
        q.append(2.0 / np.pi * np.arcsin(overlap * q[-1]))
    return np.array(q)


def simulate_forward_overlaps(Q, n=1024, m=256, seed=None):
    """Measured spin overlaps of two random sign networks of width ``n`` on ``m`` inputs.

    Each layer's weight matrices are ``J^a`` (Gaussian rows rescaled to norm √n) and
    ``J^b = Q_l J^a + √(1 − Q_l²) J'`` rescaled the same way, so that each row pair has
    overlap Q_l up to O(n^{−1/2}); the inputs are random ±1.

    Parameters
    ----------
    Q : array (L,), entries in [-1, 1], L ≥ 0
        Bond overlaps Q_1 … Q_L.
    n : int, ≥ 1
        Width of every layer.
    m : int, ≥ 1
        Number of inputs.
    seed : None, int ≥ 0 or numpy.random.Generator

    Returns
    -------
    ndarray (L+1,)
        ``(1/(n m)) Σ S^a S^b`` per spin layer.
    """
    Q = check_array("Q", Q, -1.0, 1.0, ndim=1)
    n = check_int("n", n, 1)
    m = check_int("m", m, 1)
    rng = as_generator(seed)

    def rows(matrix):
        return matrix * np.sqrt(n) / np.linalg.norm(matrix, axis=1, keepdims=True)

    a = b = rng.choice([-1.0, 1.0], size=(m, n))
    overlaps = [1.0]
    for overlap in Q:
        ja = rng.standard_normal((n, n))
        jb = overlap * ja + np.sqrt(1.0 - overlap**2) * rng.standard_normal((n, n))
        a = np.sign(a @ rows(ja).T)
        b = np.sign(b @ rows(jb).T)
        overlaps.append(float(np.mean(a * b)))
    return np.array(overlaps)
