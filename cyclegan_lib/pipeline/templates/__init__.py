"""The HTML pages' Jinja2 templates, shipped inside the package.

:func:`render` fills one of them. Every value is HTML-escaped unless a template says
otherwise, so an experiment name, an image file name or a learner's feedback shows as
text and can't inject markup. The training and test pages (:mod:`..pages`) follow the
reference's ``util/html.py`` layout; the course site and the grade report share
``course.css``.
"""

from __future__ import annotations

from functools import cache

import jinja2


@cache
def environment() -> jinja2.Environment:
    """Templates from this folder, escaping on, and a missing variable an error, not ''."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("cyclegan_lib.pipeline", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(name: str, **context: object) -> str:
    """The template ``name`` (``results.html``, ``course.html``, ...) filled with ``context``."""
    return environment().get_template(name).render(**context)
