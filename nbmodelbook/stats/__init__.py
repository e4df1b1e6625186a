"""Statistics a validation committee weighs, as pure functions over captured evaluations.

Each estimator takes numpy arrays, returns plain results that state their method, is
deterministic for the same inputs, and is tested against an independent reference.
"""
