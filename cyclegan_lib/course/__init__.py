"""The course's plumbing: profiles and paths (``env``), the embedded digits, the judges
(``classifiers``, ``metrics``), plotting, results, exercises and widgets.

A lesson's set-up cell takes the plumbing in one line::

    from cyclegan_lib.course import digits, env, metrics, plotting, results

What a lesson *teaches* it imports by name from the paper's modules instead.
"""

from cyclegan_lib.course import digits, env, metrics, plotting, results

__all__ = ["digits", "env", "metrics", "plotting", "results"]
