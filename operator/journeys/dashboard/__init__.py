"""``kubectl journey dashboard``: the journey list, journey pages and their dialogs, in a browser.

A local web server (aiohttp, Jinja2 templates, plain JavaScript and CSS served by itself: no CDN)
acting with the user's own kubeconfig, and calling the same actions layer as the command line.
The command line wires it in with :func:`add_arguments` and :func:`run`. Security model and
screenshots: docs/dashboard.md.
"""

from journeys.dashboard.command import HELP, add_arguments, run

__all__ = ["HELP", "add_arguments", "run"]
