"""``kubectl journey``: the kubectl plugin for closing, stopping and versioning journeys.

The plugin is a console script (``kubectl-journey``) that kubectl finds on ``PATH``. Decisions
(names, the new-version manifest, ``--attr`` parsing, confirmation texts, tables) are pure
functions in :mod:`journeys.cli.plan` and :mod:`journeys.cli.render`, unit-tested without a
cluster; :mod:`journeys.actions` does the work (its client is the only one that talks to the API server), and
:mod:`journeys.cli.main` wires arguments to both.
"""
