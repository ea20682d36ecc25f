"""The plugin's arguments, with kubectl's conventions.

kubectl's flags (``-n``, ``--context``, ``--kubeconfig``, ``-o``, ``-A``) go before or after the
command. Every usage error (an unknown flag, a malformed ``--timeout`` or ``--for``, a flag that
does not apply) exits 2 with the *command's* usage, as argparse does for its own errors, so the
person sees the options of the command they typed.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any, Final

from journeys import dashboard
from journeys.actions import ActionError, parse_timeout, parse_wait_for

#: ``-o`` formats: the object(s) as data, their names, or the list's table with more columns.
OUTPUTS: Final = ("json", "yaml", "name", "wide")
DRY_RUN_MODES: Final = ("server", "none", "client")
ENTER_WAIT: Final = "60s"
#: Commands that follow something after the change (``--wait``) and so take ``--timeout``.
_WAITING: Final = frozenset({"close", "stop", "new-version", "enter"})
_ALL_NAMESPACES: Final = frozenset({"list", "dashboard"})
_NO_OUTPUT: Final = frozenset({"wait", "dashboard"})


def _global_options(parser: argparse.ArgumentParser, top: bool) -> None:
    """kubectl's flags, accepted before and after the subcommand (kubectl passes them on)."""
    default: Any = None if top else argparse.SUPPRESS
    parser.add_argument("-n", "--namespace", default=default, help="namespace (default: context's)")
    parser.add_argument("--context", default=default, help="kubeconfig context to use")
    parser.add_argument("--kubeconfig", default=default, help="path to the kubeconfig file")
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        default=default,
        help="print the object(s) as json or yaml, their names (name), or a wider table (wide)",
    )


def _all_namespaces(parser: argparse.ArgumentParser, top: bool) -> None:
    parser.add_argument(
        "-A",
        "--all-namespaces",
        action="store_true",
        default=False if top else argparse.SUPPRESS,
        help="in every namespace",
    )


def _dry_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dry-run",
        nargs="?",
        const="server",
        default=False,
        metavar="server",
        help="--dry-run or --dry-run=server: the API server and the webhooks check the change "
        "and store nothing (client-side dry run is not offered)",
    )


def _yes(parser: argparse.ArgumentParser, asks: bool) -> None:
    parser.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="do not ask for confirmation"
        if asks
        else "accepted for scripts; this command does not ask",
    )


def _ending_options(parser: argparse.ArgumentParser, waits: str) -> None:
    _yes(parser, asks=True)
    _dry_run(parser)
    parser.add_argument("--wait", action="store_true", help=f"follow {waits} until it is done")
    parser.add_argument(
        "--timeout",
        type=_duration,
        default=None,
        help="with --wait: give up after this long (Go duration, e.g. 10m); default: no limit",
    )


def _edit_options(parser: argparse.ArgumentParser) -> None:
    edits = parser.add_mutually_exclusive_group()
    edits.add_argument(
        "--image",
        action="append",
        metavar="[CONTAINER=]IMAGE",
        help="new image for the only container, or for CONTAINER (repeatable)",
    )
    edits.add_argument(
        "-f",
        "--filename",
        metavar="PATCH",
        help="YAML/JSON merge patch of the Journey to apply to the copy ('-' for stdin)",
    )


def _duration(text: str) -> float:
    try:
        return parse_timeout(text)
    except ActionError as error:
        raise argparse.ArgumentTypeError(str(error)) from error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubectl journey",
        description="Close, stop and version journeys (journeys.dev) safely.",
    )
    _global_options(parser, top=True)
    _all_namespaces(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        _global_options(sub, top=False)
        sub.set_defaults(usage_of=sub)
        return sub

    sub = command("list", "list journeys with their state, phase and counts")
    sub.add_argument("family", nargs="?", help="only this family")
    _all_namespaces(sub, top=False)

    sub = command("status", "show a journey: phase, counts, who/when/why, events")
    sub.add_argument("name")

    sub = command("close", "close a journey to new entries; those inside finish")
    sub.add_argument("name")
    sub.add_argument("--reason", default="", help="why, recorded for everyone to see")
    _ending_options(sub, "the drain")

    sub = command("stop", "stop a journey now: everyone inside is halted")
    sub.add_argument("name")
    sub.add_argument("--reason", default="", help="why, recorded for everyone to see")
    _ending_options(sub, "the halt")

    sub = command(
        "new-version",
        "create <family>-v<N+1> from the latest version; it closes the version it replaces",
    )
    sub.add_argument("family", help="the family (or the name of its latest version)")
    _edit_options(sub)
    _ending_options(sub, "the drain of the version it replaces")

    sub = command("duplicate", "start a new family (<family>-v1) from a journey")
    sub.add_argument("name")
    sub.add_argument("--family", required=True, help="the new family")
    _edit_options(sub)
    _dry_run(sub)
    _yes(sub, asks=False)

    sub = command("enter", "enter a profile into a journey (create a Participant)")
    sub.add_argument("name", help="the journey")
    sub.add_argument("profile")
    sub.add_argument(
        "--attr", action="append", metavar="KEY=VALUE", help="attribute for the workload"
    )
    _dry_run(sub)
    _yes(sub, asks=False)
    sub.add_argument("--wait", action="store_true", help="wait until admitted (Active) or rejected")
    sub.add_argument(
        "--timeout", type=_duration, default=None, help=f"with --wait; default {ENTER_WAIT}"
    )

    sub = command("wait", "wait until a journey reaches a phase or condition")
    sub.add_argument("name")
    sub.add_argument(
        "--for",
        dest="for_",
        required=True,
        metavar="phase=PHASE|condition=TYPE[=STATUS]",
        help="e.g. --for=phase=Finished",
    )
    sub.add_argument("--timeout", dest="wait_timeout", default="30s", help="default 30s")

    sub = command("dashboard", dashboard.HELP)
    dashboard.add_arguments(sub)
    _all_namespaces(sub, top=False)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse and check the arguments; a usage error exits 2 with the command's usage."""
    parser = build_parser()
    args, extras = parser.parse_known_args(argv)
    usage: argparse.ArgumentParser = args.usage_of
    if extras:
        usage.error(f"unrecognized arguments: {' '.join(extras)}")
    try:
        _check(args)
    except ActionError as error:
        usage.error(str(error))
    return args


def _check(args: argparse.Namespace) -> None:
    """What argparse cannot say by itself; turns values into what the commands use."""
    command = args.command
    if args.all_namespaces and command not in _ALL_NAMESPACES:
        raise ActionError(f"-A/--all-namespaces does not apply to {command}: name a namespace (-n)")
    if args.output and command in _NO_OUTPUT:
        raise ActionError(f"-o does not apply to {command}")
    if args.output == "wide" and command != "list":
        raise ActionError(f"-o wide applies to list; {command} takes -o json, yaml or name")
    if hasattr(args, "dry_run"):
        mode = args.dry_run
        if mode not in (False, *DRY_RUN_MODES):
            raise ActionError(
                f"--dry-run={mode}: write --dry-run or --dry-run=server "
                "(the journey's name goes elsewhere, e.g. close NAME --dry-run)"
            )
        if mode == "client":
            raise ActionError(
                "--dry-run=client is not offered: the checks that matter (the CEL rules, the "
                "webhooks) run on the server; use --dry-run=server"
            )
        args.dry_run = mode == "server"
    if command in _WAITING and args.timeout is not None and not args.wait:
        raise ActionError("--timeout applies to --wait: add --wait, or leave --timeout out")
    if command == "wait":
        parse_wait_for(args.for_)
        parse_timeout(args.wait_timeout)
