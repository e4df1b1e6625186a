"""How optimistic the best of k estimates is: the selection effect of choosing on the same rows.

Method. When k configurations are scored on the same rows and the best is reported, the reported
figure is the maximum of k noisy estimates. If the estimates were independent, each normal with
the same standard error `se` around the same true value, the maximum would exceed that value by
`se * E[max of k iid N(0, 1)]` on average (Tippett 1925, "On the extreme individuals and the range
of samples taken from a normal population", Biometrika 17:364-387). E[max] is computed exactly,
by numerical integration of

    E[max_k] = integral over x of  x * k * phi(x) * Phi(x)**(k - 1)  dx

(phi, Phi: the standard normal density and distribution), not by an asymptotic formula. Models
scored on the same rows are positively correlated, and candidates selected by cross-validation
were not chosen on these rows at all: both make the true optimism smaller, so this is an upper-side
approximation.
"""

from __future__ import annotations

import math
import numbers

from scipy import integrate, stats

from nbmodelbook.errors import InvalidArgument

__all__ = ["OPTIMISM_METHOD", "expected_max_standard_normal", "selection_optimism"]

OPTIMISM_METHOD = (
    "standard error x E[max of k independent N(0, 1)] (numerical integration); an upper-side "
    "approximation that treats the k estimates as independent"
)


def expected_max_standard_normal(k: int) -> float:
    """E[max(Z_1, ..., Z_k)] for k independent standard normal variables (0 for k = 1)."""
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1:
        raise InvalidArgument(f"k must be a whole number >= 1, not {k!r}")
    count = int(k)
    if count == 1:
        return 0.0

    def density_of_max(x: float) -> float:
        # log form: Phi(x)**(k - 1) underflows for very negative x, where the integrand is ~0
        log_cdf = float(stats.norm.logcdf(x))
        return x * count * math.exp(float(stats.norm.logpdf(x)) + (count - 1) * log_cdf)

    # The maximum of k normals lies within [-10, 10 + sqrt(2 ln k)] but for a negligible mass.
    upper = 10.0 + math.sqrt(2.0 * math.log(count))
    value, _error = integrate.quad(density_of_max, -10.0, upper, limit=200, epsabs=1e-12)
    return float(value)


def selection_optimism(standard_error: float, k: int) -> float:
    """How far above its true value the best of k estimates, each with `standard_error`, lies
    on average, if they were independent (see the module docstring)."""
    if not math.isfinite(standard_error) or standard_error < 0:
        raise InvalidArgument(f"standard_error must be a finite number >= 0, not {standard_error}")
    return standard_error * expected_max_standard_normal(k)
