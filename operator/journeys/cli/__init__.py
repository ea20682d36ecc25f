"""``kubectl journey``: the kubectl plugin for closing, stopping and versioning journeys.

The plugin is a console script (``kubectl-journey``) that kubectl finds on ``PATH``. Decisions
(names, the new-version manifest, ``--attr`` parsing, confirmation texts, tables) are pure
functions in :mod:`journeys.cli.plan` and :mod:`journeys.cli.render`, unit-tested without a
cluster; :mod:`journeys.cli.client` is the only module that talks to the API server, and
:mod:`journeys.cli.main` wires arguments to both.
"""
