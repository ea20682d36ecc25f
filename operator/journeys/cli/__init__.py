"""``kubectl journey``: the kubectl plugin for closing, stopping and versioning journeys.

The plugin is a console script (``kubectl-journey``) that kubectl finds on ``PATH``. It is a thin
shell: :mod:`journeys.cli.main` parses arguments and calls :mod:`journeys.actions` (the use
cases, shared with the dashboard), and :mod:`journeys.cli.render` turns their answers into the
text a person reads and confirms (pure functions, unit-tested without a cluster).
"""
