"""A run's name, tags and free-text note, kept in ``<run>/notes.json`` and written atomically.

The runs list, ``info`` and the runs table show them; the command line
(``note RUN --name ... --tag ... --text ...``) and the window's runs list edit
them through :func:`write_notes`, so both follow the same rules:

* a name is one line of at most 80 characters; a tag is one word-ish label of
  at most 40 (letters, digits, ``-_.+:/``), kept once, in the order given;
* a run without notes.json simply has none; a damaged one is named in the
  error and never overwritten by a partial edit.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from studio.core import jsonio
from studio.core.atomic import atomic_write_json
from studio.core.rundir import RunDirectory
from studio.errors import StudioError

__all__ = ["NOTES_FILE", "RunNotes", "notes_path", "read_notes", "write_notes", "parse_tags"]

NOTES_FILE = "notes.json"
MAX_NAME = 80
MAX_TAG = 40
MAX_NOTE = 20_000
_TAG = re.compile(r"^[\w\-.+:/]+$")


@dataclass
class RunNotes:
    name: str = ""
    tags: list[str] = field(default_factory=list)
    note: str = ""
    updated: str = ""  # when they were last written, local time

    def to_dict(self) -> dict:
        return {"name": self.name, "tags": list(self.tags), "note": self.note, "updated": self.updated}

    @property
    def empty(self) -> bool:
        return not (self.name or self.tags or self.note)


def notes_path(run: RunDirectory) -> Path:
    return run.path / NOTES_FILE


def _run(run) -> RunDirectory:
    run = run if isinstance(run, RunDirectory) else RunDirectory(Path(run).expanduser())
    if not run.exists():
        raise StudioError(f"{run.path}: not a run folder (no config.json)")
    return run


def read_notes(run) -> RunNotes:
    """The notes of ``run`` (empty when it has none); a damaged notes.json raises StudioError naming it."""
    run = _run(run)
    path = notes_path(run)
    if not path.exists():
        return RunNotes()
    data = jsonio.read_json(path, what="run notes file")
    if not isinstance(data, dict):
        raise StudioError(f"{path}: damaged run notes file (expected an object with name, tags and note)")
    name, tags, note = data.get("name", ""), data.get("tags", []), data.get("note", "")
    if not isinstance(name, str) or not isinstance(note, str):
        raise StudioError(f"{path}: damaged run notes file (name and note must be text)")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise StudioError(f"{path}: damaged run notes file (tags must be a list of text)")
    updated = data.get("updated", "")
    return RunNotes(name, tags, note, updated if isinstance(updated, str) else "")


def parse_tags(tags) -> list[str]:
    """Tags from a list or a comma-separated text, checked, each once, in order."""
    if isinstance(tags, str):
        tags = tags.split(",")
    out: list[str] = []
    for raw in tags:
        tag = str(raw).strip()
        if not tag:
            continue
        if len(tag) > MAX_TAG or not _TAG.match(tag):
            raise StudioError(
                f"tag {tag[:60]!r}: use letters, digits and - _ . + : / only, at most {MAX_TAG} characters"
            )
        if tag not in out:
            out.append(tag)
    return out


def write_notes(
    run,
    name: str | None = None,
    tags: list[str] | str | None = None,
    note: str | None = None,
    add_tags: list[str] | None = None,
    remove_tags: list[str] | None = None,
) -> RunNotes:
    """Change what is given (None leaves a field as it is) and save atomically; returns the notes saved."""
    run = _run(run)
    current = read_notes(run)
    if name is not None:
        name = name.strip()
        if "\n" in name or "\r" in name or len(name) > MAX_NAME:
            raise StudioError(f"run name {name[:40]!r}...: give one line of at most {MAX_NAME} characters")
        current.name = name
    if tags is not None:
        current.tags = parse_tags(tags)
    if add_tags:
        current.tags = parse_tags([*current.tags, *parse_tags(add_tags)])
    if remove_tags:
        gone = set(parse_tags(remove_tags))
        current.tags = [t for t in current.tags if t not in gone]
    if note is not None:
        if len(note) > MAX_NOTE:
            raise StudioError(f"run note: {len(note)} characters; keep it under {MAX_NOTE}")
        current.note = note.rstrip()
    current.updated = time.strftime("%Y-%m-%d %H:%M:%S")
    atomic_write_json(notes_path(run), current.to_dict())
    return current
