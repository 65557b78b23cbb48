"""Bound-constrained minimisation shared by the replica solvers.

References
----------
D. P. Bertsekas, SIAM J. Control Optim. 20, 221 (1982): projected Newton methods.

Internal (no ``__all__``, arguments unchecked): used by the Parisi solvers of
:mod:`deepspin.hamiltonians.parisi` and :mod:`deepspin.deep_perceptron.rsb`.
"""

from __future__ import annotations

import numpy as np


def projected_newton(fun, hess, z, lower, upper, maxiter, tol, max_step=np.inf):
    """Minimise ``fun`` over the box [lower, upper] by projected Newton (Bertsekas 1982).

    Variables at a bound with the gradient pushing outwards are held there; the Newton
    step on the others uses the exact Hessian, shifted until it is positive definite
    (the functional need not be convex); an Armijo search runs along the projected arc.
    Arguments are not checked: solvers call it with their own validated arrays.

    Parameters
    ----------
    fun : callable
        ``z ↦ (f(z), ∇f(z))``.
    hess : callable
        ``z ↦ ∇²f(z)`` (symmetric).
    z : ndarray
        Start, inside the box.
    lower, upper : ndarray or float
        The box.
    maxiter : int
        Newton steps at most.
    tol : float
        Stop when the projected-gradient residual is below it.
    max_step : float
        The largest component of a step (a trust region in the max norm): a longer
        Newton step is shortened, so that the iteration stays in the basin it starts in.

    Returns
    -------
    z, f(z), iterations, residual
        ``residual`` is the largest component of z − P(z − ∇f) at the z returned.
    """
    value, grad = fun(z)
    iteration = 0
    while True:
        residual = float(np.max(np.abs(z - np.clip(z - grad, lower, upper))))
        if residual <= tol or iteration >= maxiter:
            return z, value, iteration, residual
        iteration += 1
        eps = min(residual, 1e-3)
        active = ((z <= lower + eps) & (grad > 0)) | ((z >= upper - eps) & (grad < 0))
        free = ~active
        h = hess(z)[np.ix_(free, free)]
        scale = max(float(np.max(np.abs(np.diag(h)))), 1e-300)
        shift = 0.0
        while True:
            try:
                factor = np.linalg.cholesky(h + shift * np.eye(h.shape[0]))
                break
            except np.linalg.LinAlgError:
                shift = max(2.0 * shift, 1e-12 * scale)
        step = np.zeros_like(z)
        step[free] = -np.linalg.solve(factor.T, np.linalg.solve(factor, grad[free]))
        step[active] = -grad[active]
        longest = float(np.max(np.abs(step), initial=0.0))
        if longest > max_step:
            step *= max_step / longest
        t = 1.0
        while True:
            trial = np.clip(z + t * step, lower, upper)
            new_value, new_grad = fun(trial)
            if new_value <= value + 1e-4 * grad @ (trial - z) or t < 1e-12:
                break
            t *= 0.5
        if not new_value <= value:  # no descent left at this precision
            return z, value, iteration, residual
        z, value, grad = trial, new_value, new_grad
