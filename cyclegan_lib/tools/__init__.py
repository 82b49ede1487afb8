"""Tools around the lessons, not taught in them: notebook tooling (student versions,
``make course``), the course site, the autograder and synthetic test data."""
