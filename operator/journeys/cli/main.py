"""``kubectl journey``: arguments in, text out; a thin shell over :mod:`journeys.actions`.

Writes that end something (close, stop, and new-version, which closes the version it replaces)
are first sent as a server dry run by the actions layer, so a refused change is reported with the
server's message *before* anyone is asked to confirm it, and ``--dry-run`` is simply that first
request on its own.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

import yaml

from journeys import actions, dashboard
from journeys.actions import ActionError, KubeClient, UserClient
from journeys.cli import render
from journeys.cli.output import format_object, object_name
from journeys.cli.parser import ENTER_WAIT, parse_args

POLL_INTERVAL: Final = 1.0
INTERRUPTED: Final = 130
#: The phase each ending leads to, for the command that watches it again.
_END_PHASE: Final[dict[actions.Ending, str]] = {"close": "Finished", "stop": "Stopped"}


@dataclass
class Io:
    """Where the command reads answers and writes data, dialogs and errors."""

    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    stderr: TextIO = field(default_factory=lambda: sys.stderr)

    def out(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def err(self, text: str) -> None:
        self.stderr.write(text + "\n")
        self.stderr.flush()


Command = Callable[[argparse.Namespace, KubeClient, Io], int]


# --------------------------------------------------------------------------------------------
# Shared steps
# --------------------------------------------------------------------------------------------


def _show_warnings(warnings: Sequence[str], io: Io, shown: set[str]) -> None:
    for warning in warnings:
        if warning not in shown:
            io.err(f"Warning: {warning}")
            shown.add(warning)


def _confirm(args: argparse.Namespace, io: Io, dialog: str, verb: str, name: str) -> None:
    """Show what will happen; go on only on y/yes (or --yes). ``--dry-run`` never asks."""
    io.err(dialog)
    if args.dry_run:
        io.err("Server dry run: the API server accepted the request; nothing was changed.")
        return
    if args.yes:
        return
    io.stderr.write(render.question(verb, name))
    io.stderr.flush()
    answer = io.stdin.readline()
    if not io.stdin.isatty():
        io.err("")  # the answer was not echoed: end the prompt's line
    if answer == "":
        raise ActionError(
            f"no answer on standard input: {name} was not changed "
            f"(pass --yes to {verb.lower()} without asking)"
        )
    if not render.is_yes(answer):
        raise ActionError(f"not confirmed: {name} was not changed")


def _print_object(io: Io, obj: Any, output: str) -> None:
    text = format_object(obj, output)
    if text:
        io.out(text)


def _done(io: Io, args: argparse.Namespace, obj: dict[str, Any], what: str) -> None:
    """kubectl's confirmation line (``journey.journeys.dev/x closed``), or the object (-o).

    With ``--wait`` and ``-o``, the object is printed once, at the end (see :func:`_finish`).
    """
    if args.output:
        if not getattr(args, "wait", False) or getattr(args, "dry_run", False):
            _print_object(io, obj, args.output)
        return
    suffix = " (server dry run)" if getattr(args, "dry_run", False) else ""
    io.out(f"{object_name(obj)} {what}{suffix}")


def _finish(io: Io, args: argparse.Namespace, obj: dict[str, Any]) -> None:
    """The one object ``-o`` prints after a ``--wait``: as it is when the wait is over."""
    if args.output:
        _print_object(io, obj, args.output)


def _watch_again(kube: KubeClient, name: str, phase: str) -> str:
    return f"kubectl journey wait {name} -n {kube.namespace} --for=phase={phase}"


def _follow(
    kube: KubeClient,
    io: Io,
    args: argparse.Namespace,
    name: str,
    finished: Callable[[dict[str, Any]], bool],
    phase: str,
    generation: int = 0,
) -> dict[str, Any]:
    """Show the journey's counts as they change until ``finished``; the display goes to stdout,
    or to stderr when stdout carries data (-o). A status older than ``generation`` (the
    operator has not seen our change yet) is not shown: it would show the phase before it."""
    sink = io.stderr if args.output else io.stdout
    live = sink.isatty()
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    last = ""
    while True:
        obj = kube.get_journey(name)
        line = render.progress_line(actions.JourneyView.of(obj))
        observed = int((obj.get("status") or {}).get("observedGeneration") or 0)
        done = finished(obj)
        if line != last and (observed >= generation or done):
            sink.write(f"\r\033[K{line}" if live else f"{line}\n")
            sink.flush()
            last = line
        if done:
            if live:
                sink.write("\n")
            return obj
        if deadline is not None and time.monotonic() >= deadline:
            if live:
                sink.write("\n")
            raise ActionError(
                f"timed out waiting for journey {name} (it carries on; "
                f"{_watch_again(kube, name, phase)} --timeout 10m to wait again)"
            )
        time.sleep(POLL_INTERVAL)


def _load_patch(path: str | None, io: Io) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        text = io.stdin.read() if path == "-" else Path(path).read_text()
        loaded = yaml.safe_load(text)
    except (OSError, yaml.YAMLError) as error:
        raise ActionError(f"cannot read the patch {path}: {error}") from error
    if not isinstance(loaded, dict):
        raise ActionError(f"the patch {path} must be a mapping: a merge patch of the Journey")
    return loaded


def _now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace, kube: KubeClient, io: Io) -> int:
    if args.output and args.output != "wide":
        items = kube.list_journeys(all_namespaces=args.all_namespaces)
        if args.family:
            items = [o for o in items if actions.JourneyView.of(o).family == args.family]
        listing = {"apiVersion": "v1", "kind": "List", "metadata": {}, "items": items}
        _print_object(io, listing, args.output)
        return 0
    views = actions.list_journeys(kube, args.all_namespaces, args.family)
    if not views:
        where = "any namespace" if args.all_namespaces else f"namespace {kube.namespace}"
        io.err(f"No journeys found in {where}.")
        return 0
    io.out(render.journeys_table(views, args.all_namespaces, _now(), wide=args.output == "wide"))
    return 0


def cmd_status(args: argparse.Namespace, kube: KubeClient, io: Io) -> int:
    obj = kube.get_journey(args.name)
    if args.output:
        _print_object(io, obj, args.output)
        return 0
    view = actions.JourneyView.of(obj)
    members = actions.family_of(kube, view)
    io.out(render.status_text(view, members, kube.events(obj), _now()))
    return 0


def _end(ending: actions.Ending, args: argparse.Namespace, kube: KubeClient, io: Io) -> int:
    """Close or stop: the dry run's verdict and numbers, the dialog, the change, the wait."""
    reason = getattr(args, "reason", "") or ""
    preview = actions.preview_end(kube, args.name, ending, reason)
    view = preview.journey
    if preview.unchanged:
        io.err(
            f"journey {view.name} is already {view.state} (phase {view.phase or '-'}): "
            "nothing to do"
        )
        _done(io, args, dict(preview.result), "unchanged")
        _finish_if_waited(io, args, dict(preview.result))
        return 0
    shown: set[str] = set()
    _show_warnings(preview.warnings, io, shown)
    if ending == "close":
        dialog = render.close_dialog(view, preview.inside, view.drain_timeout, reason)
    else:
        dialog = render.stop_dialog(view, preview.inside, view.halt_policy, reason)
    if preview.managed_by:
        dialog += "\n" + render.gitops_note(view, preview.managed_by, ending)
    _confirm(args, io, dialog, ending.capitalize(), view.name)
    result = dict(preview.result)
    if not args.dry_run:
        result = actions.end_journey(kube, view.name, ending, reason)
        _show_warnings(kube.warnings, io, shown)
        phase = _END_PHASE[ending]
        args.after_interrupt = (
            f"{view.name} is {_PAST[ending]} and that goes on; to watch it again: "
            f"{_watch_again(kube, view.name, phase)}"
        )
    _done(io, args, result, _PAST[ending])
    if args.wait and not args.dry_run:
        generation = int(result["metadata"].get("generation") or 0)
        final = _follow(
            kube,
            io,
            args,
            view.name,
            lambda obj: actions.ending_done(ending, obj, generation),
            _END_PHASE[ending],
            generation,
        )
        _finish(io, args, final)
    return 0


def _finish_if_waited(io: Io, args: argparse.Namespace, obj: dict[str, Any]) -> None:
    """After ``--wait -o``, a command that had nothing to wait for still prints its object."""
    if args.wait and not args.dry_run:
        _finish(io, args, obj)


_PAST: Final[dict[actions.Ending, str]] = {"close": "closed", "stop": "stopped"}


def cmd_close(args: argparse.Namespace, kube: KubeClient, io: Io) -> int:
    return _end("close", args, kube, io)


def cmd_stop(args: argparse.Namespace, kube: KubeClient, io: Io) -> int:
    return _end("stop", args, kube, io)


def _edit(args: argparse.Namespace, io: Io) -> actions.Edit:
    return actions.Edit(
        images=actions.parse_images(args.image or []), patch=_load_patch(args.filename, io)
    )


def cmd_new_version(args: argparse.Namespace, kube: KubeClient, io: Io) -> int:
    planned = actions.plan_new_version(kube, args.family, _edit(args, io), _now())
    new = planned.new
    shown: set[str] = set()
    result = actions.create_journey(kube, new, dry_run=True)
    _show_warnings(kube.warnings, io, shown)
    _confirm(args, io, render.new_version_dialog(new, planned.closing), "Create", new.name)
    if not args.dry_run:
        result = actions.create_journey(kube, new, dry_run=False)
        _show_warnings(kube.warnings, io, shown)
    _done(io, args, result, f"created from {new.source}")
    for old, who in planned.closing:
        io.err(
            f"{old.name} {'would be' if args.dry_run else 'is being'} closed to new entries "
            f"(superseded by {new.name}); {render.finish_there(who)}"
        )
    if args.wait and not args.dry_run:
        for old, _ in planned.closing:
            _follow(
                kube, io, args, old.name, lambda obj: actions.ending_done("close", obj), "Finished"
            )
        _finish(io, args, kube.get_journey(new.name))
    return 0


def cmd_duplicate(args: argparse.Namespace, kube: KubeClient, io: Io) -> int:
    new = actions.plan_duplicate(kube, args.name, args.family, _edit(args, io), _now())
    result = actions.create_journey(kube, new, dry_run=args.dry_run)
    _show_warnings(kube.warnings, io, set())
    _done(io, args, result, f"created from {new.source}")
    return 0


def cmd_enter(args: argparse.Namespace, kube: KubeClient, io: Io) -> int:
    attributes = actions.parse_attributes(args.attr or [])
    result = actions.enter(kube, args.name, args.profile, attributes, dry_run=args.dry_run)
    _show_warnings(kube.warnings, io, set())
    _done(io, args, result, "created")
    if args.wait and not args.dry_run:
        _finish(io, args, _await_entry(kube, io, args, result["metadata"]["name"]))
    return 0


def _await_entry(kube: KubeClient, io: Io, args: argparse.Namespace, name: str) -> dict[str, Any]:
    """Until the operator admits or rejects the participant; a rejection is a failure."""
    timeout = args.timeout if args.timeout is not None else actions.parse_timeout(ENTER_WAIT)
    deadline = time.monotonic() + timeout
    while True:
        obj = kube.get_participant(name)
        status = obj.get("status") or {}
        phase = status.get("phase") or "Pending"
        if phase != "Pending":
            break
        if time.monotonic() >= deadline:
            raise ActionError(
                f"timed out: participant {name} is still Pending (is the operator up?)"
            )
        time.sleep(POLL_INTERVAL)
    detail = f"{status.get('reason', '')}: {status.get('message', '')}".strip(": ")
    if phase == "Rejected":
        raise ActionError(f"participant {name} was rejected: {detail}")
    (io.stderr if args.output else io.stdout).write(f"participant {name} is {phase} ({detail})\n")
    return obj


def cmd_wait(args: argparse.Namespace, kube: KubeClient, io: Io) -> int:
    want = actions.parse_wait_for(args.for_)
    timeout = actions.parse_timeout(args.wait_timeout)
    deadline = time.monotonic() + timeout
    while True:
        obj = kube.get_journey(args.name)
        outcome = actions.wait_outcome(obj, want)
        if outcome.done:
            io.out(f"{object_name(obj)} condition met")
            return 0
        if outcome.impossible:
            raise ActionError(outcome.impossible)
        if time.monotonic() >= deadline:
            phase = actions.JourneyView.of(obj).phase or "not yet seen by the operator"
            raise ActionError(
                f"timed out after {args.wait_timeout} waiting for {want} of journey "
                f"{args.name} (phase: {phase})"
            )
        time.sleep(min(POLL_INTERVAL, max(deadline - time.monotonic(), 0.0)))


COMMANDS: Final[dict[str, Command]] = {
    "list": cmd_list,
    "status": cmd_status,
    "close": cmd_close,
    "stop": cmd_stop,
    "new-version": cmd_new_version,
    "duplicate": cmd_duplicate,
    "enter": cmd_enter,
    "wait": cmd_wait,
    "dashboard": dashboard.run,
}


def main(argv: Sequence[str] | None = None, io: Io | None = None) -> int:
    io = io or Io()
    args = parse_args(argv)
    args.after_interrupt = "nothing was changed"
    try:
        kube = UserClient(args.kubeconfig, args.context, args.namespace)
        return COMMANDS[args.command](args, kube, io)
    except ActionError as error:
        io.err(f"error: {error}" if not str(error).startswith("Error from server") else str(error))
        return error.code
    except KeyboardInterrupt:
        io.err(f"\ninterrupted: {args.after_interrupt}")
        return INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
