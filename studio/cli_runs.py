"""The ``note``, ``pin`` and ``unpin`` commands of the command line.

    note RUN [--name TEXT] [--tag T ...] [--untag T ...] [--tags A,B] [--text TEXT | --text-file F]
    pin RUN [EPOCH|FILE ...]      pin full checkpoints (never deleted); no argument: list what is kept
    unpin RUN EPOCH|FILE ...      let retention delete them again once they are not among the last K

Notes live in RUN/notes.json and pins in RUN/pins.json; the window's runs list
and checkpoint lab edit the same files through the same functions.
"""

from __future__ import annotations

import sys
from pathlib import Path

from studio.errors import StudioError

__all__ = ["add_parsers", "COMMANDS", "disk_lines", "notes_lines"]


def add_parsers(sub) -> None:
    p = sub.add_parser("note", help="name, tag and annotate a run (no options: show its notes)")
    p.add_argument("run", help="run folder")
    p.add_argument("--name", help="a short name for the run (one line; '' clears it)")
    p.add_argument("--tag", action="append", default=[], metavar="T", help="add a tag (repeat for more)")
    p.add_argument("--untag", action="append", default=[], metavar="T", help="remove a tag (repeat for more)")
    p.add_argument("--tags", metavar="A,B", help="replace all tags with these (comma-separated; '' clears them)")
    text = p.add_mutually_exclusive_group()
    text.add_argument("--text", help="the free-text note ('' clears it)")
    text.add_argument("--text-file", metavar="FILE", help="read the note from a UTF-8 text file ('-': stdin)")

    for name, help_text in (
        ("pin", "pin full checkpoints so retention never deletes them (no argument: list them)"),
        ("unpin", "unpin full checkpoints (retention may then delete them)"),
    ):
        q = sub.add_parser(name, help=help_text)
        q.add_argument("run", help="run folder")
        q.add_argument(
            "checkpoints",
            nargs="*" if name == "pin" else "+",
            metavar="EPOCH|FILE",
            help="an epoch number (5), a file name in RUN/checkpoints (epoch_0005.pt) or its path",
        )


def notes_lines(summary: dict) -> list[str]:
    """The name, tags and note of a run summary (:func:`studio.app.run_summary.run_summary`), indented."""
    lines = []
    if summary["name"]:
        lines.append(f"  name: {summary['name']}")
    if summary["tags"]:
        lines.append(f"  tags: {', '.join(summary['tags'])}")
    if summary["note"]:
        lines += [
            "  note: " + line if i == 0 else "        " + line for i, line in enumerate(summary["note"].splitlines())
        ]
    return lines


def disk_lines(summary: dict) -> list[str]:
    """Disk use and what retention keeps, from a run summary."""
    from studio.core.diskuse import human_bytes

    d = summary["disk"]
    pinned = f"; pinned: {', '.join(summary['pinned'])}" if summary["pinned"] else ""
    keep = summary["config"].get("keep_checkpoints")
    kept = f" (keeps the last {keep})" if keep else " (keeps all)" if keep == 0 else ""
    return [
        f"  disk: {human_bytes(d['total'])} (full checkpoints and averages {human_bytes(d['checkpoints'])}, "
        f"snapshots {human_bytes(d['snapshots'])}, sample grids {human_bytes(d['samples'])}, "
        f"other {human_bytes(d['other'])})",
        f"  {summary['full_checkpoints']} full checkpoint(s){kept}, {summary['snapshots']} generator "
        f"snapshot(s){pinned}",
    ]


def cmd_note(args) -> int:
    from studio.app.run_notes import read_notes, write_notes
    from studio.app.run_summary import run_summary

    note = args.text
    if args.text_file is not None:
        try:
            note = sys.stdin.read() if args.text_file == "-" else Path(args.text_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            why = getattr(exc, "strerror", None) or exc
            raise StudioError(f"{args.text_file}: cannot read the note ({why})") from None
    changes = (args.name, args.tags, note, args.tag, args.untag)
    if any(x not in (None, []) for x in changes):
        write_notes(args.run, args.name, args.tags, note, args.tag, args.untag)
    else:
        read_notes(args.run)  # a damaged notes file is named, not shown as empty
    summary = run_summary(args.run)
    print(f"run {summary['path']}")
    print("\n".join(notes_lines(summary)) or "  no name, tags or note yet (see 'note --help')")
    return 0


def cmd_pin(args) -> int:
    from studio.app.retention import pin_checkpoint
    from studio.app.run_summary import run_summary

    for which in args.checkpoints:
        print(f"pinned {pin_checkpoint(args.run, which)}")
    summary = run_summary(args.run)
    print("\n".join(disk_lines(summary)))
    return 0


def cmd_unpin(args) -> int:
    from studio.app.retention import unpin_checkpoint

    for which in args.checkpoints:
        path = unpin_checkpoint(args.run, which)
        print(f"unpinned {path.name}; the run's next checkpoint save deletes it if it is older than the last kept")
    return 0


COMMANDS = {"note": cmd_note, "pin": cmd_pin, "unpin": cmd_unpin}
