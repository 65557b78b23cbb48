"""Layer functions of the deep perceptron's replica-symmetric free entropy.

Chapter ``yoshino_rs``. Each layer of the network contributes three kinds of term to the
free entropy per constraint, ``s = Σ_l bond(Q_l)/(2α) + Σ_l spin(q̂_l, q_l) + Σ_l gap(Δ_l)``
(eqs. (rs-random) and (rs-teacher)), with ``Δ_l = q_{l−1} Q_l q_l`` in the input/output
symmetric closure. The two scenarios differ in the replica limit: random inputs/outputs
take ``n → 0`` replicas; the teacher scenario (a planted teacher drawn from the same
prior) is the same replicated system at ``n → 1``, the Nishimori line, where the teacher is
one more replica. Every function is vectorised over arrays of order parameters.

Random (n → 0):

* ``gap(Δ) = ∫Dz ln H(√(Δ/(1−Δ)) z)``, Gardner's energetic term at zero margin;
* ``force(Δ) = −2 gap'(Δ) = K(Δ)/(1−Δ)``, with Gardner's kernel K (eq. gardner-kernel);
* ``bond(Q) = ln(1−Q) + Q/(1−Q)``, and the bond equation ``Q/(1−Q)² = y``;
* ``spin(q̂) = ∫Dy ln 2cosh(√q̂ y)``, and ``q = ∫Dy tanh²(√q̂ y)``.

Teacher (n → 1):

* ``gap(Δ) = 2∫Dz H(x z) ln H(x z)``, ``x = √(Δ/(1−Δ))``;
* ``force(Δ) = 2 gap'(Δ) = 2 ∫Dz G(xz)²/H(xz) / (1−Δ)`` (eq. teacher-force);
* ``bond(Q) = ln(1−Q) + Q``, and the bond equation ``Q/(1−Q) = y``;
* ``spin(q̂) = ∫Dy ln 2cosh(√q̂ y + q̂)``, and ``q = ∫Dy tanh(√q̂ y + q̂)``.

In both scenarios ``force(0) = 2/π``, and the spin overlap is ``q ≈ q̂`` for small q̂.
"""

from __future__ import annotations

import numpy as np

from deepspin.checks import check_array, check_bool, check_choice, check_real
from deepspin.gauss import G, G_over_H, H, gauss_hermite, log_H, panel_legendre
from deepspin.perceptron import energy_kernel, energy_term

__all__ = [
    "SCENARIOS",
    "bond_from_field",
    "bond_term",
    "check_drive",
    "check_profile",
    "force",
    "gap_term",
    "spin_overlap",
    "spin_term",
]

SCENARIOS = ("random", "teacher")

# Panels of the half-line for integrands that decay on an O(1) scale: fine near 0,
# coarse in the tail (an analytic integrand with poles at distance ~1 from the real axis
# needs panels of length ~1–5 for Gauss–Legendre to converge fast).
_PANELS = ((0.0, 2.5), (2.5, 6.0), (6.0, 14.0), (14.0, 40.0))
_N_PANEL = 32


def _half_line_nodes():
    return panel_legendre(_PANELS, _N_PANEL)


def _scaled_average(f, x):
    """``∫Dz f(x z)`` for every entry of ``x ≥ 0``, for ``f`` smooth except at 0 and
    decaying on an O(1) scale.

    The integrand is symmetrised, ``½[f(w) + f(−w)]``, and integrated on the half-line.
    For x < 1 the variable is z (the density G(z) sets the scale); for x ≥ 1 it is
    ``w = x z``, with weight ``G(w/x)/x``, because f then varies faster than the density.
    """
    x = np.asarray(x, dtype=float)
    t, w = _half_line_nodes()
    xs = x[..., None]
    in_z = 2.0 * w * G(t) * 0.5 * (f(xs * t) + f(-xs * t))
    wide = np.maximum(xs, 1.0)
    in_w = 2.0 * w * G(t / wide) / wide * 0.5 * (f(t) + f(-t))
    return np.where(x < 1.0, in_z.sum(axis=-1), in_w.sum(axis=-1))


def _sech2(w):
    e = np.exp(-2.0 * np.abs(w))
    return 4.0 * e / (1.0 + e) ** 2


def _x(delta):
    return np.sqrt(delta / (1.0 - delta))


def _delta(delta):
    return check_array("delta", delta, 0.0, 1.0, high_open=True)


def _check_scenario(scenario):
    return check_choice("scenario", scenario, SCENARIOS)


def check_profile(alpha, q, Q, qhat=None, *, require_qhat=False):
    """Validate α and a profile of order parameters, the arguments of the maps and entropies.

    Parameters
    ----------
    alpha : float, > 0
        Constraints per weight.
    q : array (L+1,), entries in [0, 1], L ≥ 1
        Spin overlaps.
    Q : array (L,), entries in [0, 1)
        Bond overlaps.
    qhat : array (L+1,), entries ≥ 0, or None
        Conjugate fields (``None``: not part of the profile).
    require_qhat : bool
        Refuse ``qhat=None`` (the maps and entropies that need the conjugate fields).

    Returns
    -------
    alpha, q, Q, qhat
        A float and float arrays (``qhat`` stays ``None`` when not given).
    """
    if check_bool("require_qhat", require_qhat) and qhat is None:
        raise ValueError("qhat must be an array (L+1,) of reals in [0, inf), got None")
    alpha = check_real("alpha", alpha, 0.0, low_open=True)
    q = check_array("q", q, 0.0, 1.0, ndim=1)
    Q = check_array("Q", Q, 0.0, 1.0, high_open=True, ndim=1)
    qhat = None if qhat is None else check_array("qhat", qhat, 0.0, ndim=1)
    if q.size < 2 or Q.size != q.size - 1 or (qhat is not None and qhat.size != q.size):
        raise ValueError(
            f"q, Q and qhat must have lengths L + 1, L and L + 1, got {q.size}, {Q.size}, "
            f"{None if qhat is None else qhat.size}"
        )
    return alpha, q, Q, qhat


def check_drive(alpha, q):
    """Validate the arguments of a growth rate: α and the spin overlaps q.

    Parameters
    ----------
    alpha : float, > 0
    q : array (L+1,), entries in [0, 1], L ≥ 1

    Returns
    -------
    alpha, q
        A float and a float array.
    """
    alpha = check_real("alpha", alpha, 0.0, low_open=True)
    q = check_array("q", q, 0.0, 1.0, ndim=1)
    if q.size < 2:
        raise ValueError(f"q must have length L + 1 ≥ 2, got {q.size}")
    return alpha, q


def gap_term(delta, scenario="random"):
    """The gap (energetic) term of one layer, eqs. (rs-random)/(rs-teacher), per constraint.

    Parameters
    ----------
    delta : float or array, entries in [0, 1)
        The field overlap Δ = q_{l−1} Q_l q_l (any shape; evaluated entrywise).
    scenario : {"random", "teacher"}
    """
    _check_scenario(scenario)
    delta = _delta(delta)
    if scenario == "random":
        return energy_term(delta)
    return 2.0 * _scaled_average(lambda w: H(w) * log_H(w), _x(delta))


def force(delta, scenario="random"):
    """``F(Δ) = ∓2 d gap/dΔ`` (eq. force): the field a layer's constraints put on its overlaps.

    Parameters
    ----------
    delta : float or array, entries in [0, 1)
        The field overlap Δ (any shape; evaluated entrywise).
    scenario : {"random", "teacher"}
    """
    _check_scenario(scenario)
    delta = _delta(delta)
    if scenario == "random":
        return energy_kernel(delta) / (1.0 - delta)
    return 2.0 * _scaled_average(lambda w: G(w) * G_over_H(w), _x(delta)) / (1.0 - delta)


def bond_term(Q, scenario="random"):
    """Entropy of the spherical weights of one perceptron at overlap Q, times 1/c.

    Parameters
    ----------
    Q : float or array, entries in [0, 1)
        Bond overlap (any shape; evaluated entrywise).
    scenario : {"random", "teacher"}
    """
    _check_scenario(scenario)
    Q = check_array("Q", Q, 0.0, 1.0, high_open=True)
    if scenario == "random":
        return np.log1p(-Q) + Q / (1.0 - Q)
    return np.log1p(-Q) + Q


def bond_from_field(y, scenario="random"):
    """Solve the bond equation for Q ≥ 0: ``Q/(1−Q)² = y`` (random) or ``Q/(1−Q) = y``.

    Parameters
    ----------
    y : float or array, entries ≥ 0
        The field on the bonds (any shape; solved entrywise).
    scenario : {"random", "teacher"}
    """
    _check_scenario(scenario)
    y = check_array("y", y, 0.0)
    if scenario == "teacher":
        return y / (1.0 + y)
    # the small root of y Q² − (2y+1) Q + y = 0, written without cancellation
    root = np.sqrt(4.0 * y + 1.0)
    return 2.0 * y / (2.0 * y + 1.0 + root)


def _teacher_shifted(f_kink, a):
    """``∫Dy f(a(y + a))`` for a ≥ 1 by ``t = a(y + a)``: ``G(a)/a ∫dt e^{t − t²/(2a²)} f(t)``."""
    t, w = _half_line_nodes()
    a = a[..., None]
    both = np.concatenate([t, -t])
    weights = np.concatenate([w, w])
    integrand = np.exp(both - 0.5 * (both / a) ** 2) * f_kink(both)  # decays like e^{−|t|}
    return G(a[..., 0]) / a[..., 0] * np.sum(weights * integrand, axis=-1)


def spin_overlap(qhat, scenario="random"):
    """Spin overlap at conjugate field q̂: ``∫Dy tanh²(√q̂ y)`` or ``∫Dy tanh(√q̂ y + q̂)``.

    Parameters
    ----------
    qhat : float or array, entries ≥ 0
        Conjugate field (any shape; evaluated entrywise).
    scenario : {"random", "teacher"}
    """
    _check_scenario(scenario)
    a = np.sqrt(check_array("qhat", qhat, 0.0))
    if scenario == "random":
        return 1.0 - _scaled_average(_sech2, a)
    z, w = gauss_hermite(64)
    low = np.minimum(a, 1.0)[..., None]
    small = np.sum(w * np.tanh(low * z + low**2), axis=-1)
    # 1 − tanh(t) = e^{−t} sech t, so the shifted integrand is e^{−t²/(2a²)} sech t
    big = 1.0 - _teacher_shifted(lambda t: np.exp(-t) / np.cosh(t), np.maximum(a, 1.0))
    return np.where(a < 1.0, small, big)


def spin_term(qhat, scenario="random"):
    """``∫Dy ln 2cosh(√q̂ y)`` (random) or ``∫Dy ln 2cosh(√q̂ y + q̂)`` (teacher).

    ``ln 2cosh u = |u| + ln(1 + e^{−2|u|})``: the first part is integrated in closed form
    (``E|a y| = a√(2/π)``; ``E|a(y + a)| = a[a(1 − 2H(a)) + 2G(a)]``), the rest decays.

    Parameters
    ----------
    qhat : float or array, entries ≥ 0
        Conjugate field (any shape; evaluated entrywise).
    scenario : {"random", "teacher"}
    """
    _check_scenario(scenario)
    a = np.sqrt(check_array("qhat", qhat, 0.0))

    def rest(u):
        return np.log1p(np.exp(-2.0 * np.abs(u)))

    if scenario == "random":
        return a * np.sqrt(2.0 / np.pi) + _scaled_average(rest, a)
    z, w = gauss_hermite(64)
    low = np.minimum(a, 1.0)[..., None]
    small = np.sum(w * np.log(2.0 * np.cosh(low * (z + low))), axis=-1)
    mean_abs = a * (a * (1.0 - 2.0 * H(a)) + 2.0 * G(a))
    big = mean_abs + _teacher_shifted(rest, np.maximum(a, 1.0))
    return np.where(a < 1.0, small, big)
