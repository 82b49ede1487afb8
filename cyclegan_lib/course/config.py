"""Project-wide constants kept in one place (the Colab setup cells are generated from these)."""

REPO_URL = "https://github.com/cyclegan-from-scratch/cyclegan-from-scratch"
"""Where Colab installs the course from. Change it here, then run ``make notebooks``."""

REPO_BRANCH = "main"
COLAB_BASE = (
    "https://colab.research.google.com/github/cyclegan-from-scratch/cyclegan-from-scratch/blob/main"
)
"""Colab URL prefix for the lessons' "Open in Colab" badges."""
