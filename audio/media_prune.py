"""Media clean-up: what nothing names any more leaves the store, after a grace period.

Always kept: every Media row something references, and its file. "Something" is every foreign
key to ``media.sha256`` the models declare (an announcement in any state, hence every emergency,
replay and live archive; a recorded version; a bulletin; a relay's fallback), found in the
metadata so a new one counts without a change here. Plans are made from these rows only.

Removed, each only once unused for ``grace``:

- a file no Media row names: "Nghe thử" previews never saved or whose text changed since, a
  render nobody submitted. Its mtime is its last use (``MediaStore.put`` and the render cache's
  hits refresh it), so a preview being listened to, or rendered again, stays.
- a Media row nothing references (audio an edit or a new recording replaced, a deleted relay's
  fallback, an emergency previewed and never sent), and its file. It may have been in a plan,
  so the grace counts from the first pass that saw it unreferenced (kept in the marks file
  beside the store), its file must be unused as long, and every site must have been sent a
  plan since that pass, so no retained plan an agent may still fetch from names it.
- temporary files a crash left (an interrupted write).

One pass at a time (an ``flock`` beside the store): the scheduler's job and the CLI.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import Column, delete, exists, func, select, union
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from audio.store import PRUNING_SUFFIX, MediaStore
from broadcaster.models import Base, Media, SitePlan
from broadcaster.wire.files import write_atomic

logger = logging.getLogger(__name__)

MARKS_FILE = ".unused-since.json"  # {sha256: first pass that saw its row unreferenced}
LOCK_FILE = ".prune.lock"

PREVIEW = "preview"  # a file without a Media row
UNUSED = "unused"  # a Media row nothing references, with its file
ROW_ONLY = "row"  # such a row whose file was gone already
TEMPORARY = "temporary"  # a write a crash interrupted


@dataclass(frozen=True)
class Removed:
    """One thing removed (or that a dry run would remove)."""

    name: str
    size: int
    kind: str
    since: datetime  # last use (files), or when first seen unreferenced (rows)


@dataclass
class MediaPruneReport:
    removed: list[Removed] = field(default_factory=list)
    rows_deleted: int = 0
    held: int = 0  # unreferenced rows not yet removable
    held_until: datetime | None = None  # the earliest a held row may go
    missing: list[str] = field(default_factory=list)  # referenced, but no file in the store
    dry_run: bool = False

    @property
    def bytes_freed(self) -> int:
        return sum(r.size for r in self.removed)

    def count(self, kind: str) -> int:
        return sum(1 for r in self.removed if r.kind == kind)


def referencing_columns() -> list[Column[str]]:
    """Every column with a foreign key to ``media.sha256``."""
    target = Media.__table__.c.sha256
    return sorted(
        (
            fk.parent
            for table in Base.metadata.tables.values()
            for fk in table.foreign_keys
            if fk.column is target
        ),
        key=lambda c: (c.table.name, c.name),
    )


def referenced(session: Session) -> set[str]:
    """The sha256 of every Media row something references."""
    query = union(*(select(c.label("sha256")).where(c.is_not(None)) for c in referencing_columns()))
    return set(session.scalars(select(query.subquery().c.sha256)))


def prune_media(
    factory: sessionmaker[Session],
    store: MediaStore,
    now: datetime,
    grace: timedelta,
    *,
    dry_run: bool = False,
) -> MediaPruneReport:
    """One pass over the database's references and the store (see the module's docstring)."""
    store.root.mkdir(parents=True, exist_ok=True)
    with _locked(store.root / LOCK_FILE):
        return _Pass(factory, store, now, grace, dry_run).run()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    # Read-only: a lock file made by another user (the CLI run as root) still locks.
    fd = os.open(path, os.O_RDONLY | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


class _Pass:
    def __init__(
        self,
        factory: sessionmaker[Session],
        store: MediaStore,
        now: datetime,
        grace: timedelta,
        dry_run: bool,
    ) -> None:
        self.factory, self.store, self.now, self.dry_run = factory, store, now, dry_run
        self.cutoff = now - grace
        self.grace = grace
        self.report = MediaPruneReport(dry_run=dry_run)

    def run(self) -> MediaPruneReport:
        if not self.dry_run:
            for path, _, _ in self.store.leftovers():
                if path.name.endswith(PRUNING_SUFFIX):
                    self.store.restore_set_aside(path)
        # A row made after this read names a file put or touched just before it: too recent
        # to go, and every removal reads the file's last use again at the last moment.
        files = {f.name: f for f in self.store.files()}
        with self.factory() as session:
            rows = {sha: ext for sha, ext in session.execute(select(Media.sha256, Media.ext))}
            used = referenced(session)
            oldest_plan = session.scalar(select(func.min(SitePlan.published_at)))
        marks = self._marks()
        kept_marks: dict[str, datetime] = {}
        for sha in sorted(rows.keys() - used):
            since = marks.get(sha, self.now)
            if not self._unused_row(sha, rows[sha], since, oldest_plan):
                kept_marks[sha] = since
                self.report.held += 1
                until = since + self.grace
                if self.report.held_until is None or until < self.report.held_until:
                    self.report.held_until = until
        for f in files.values():
            if f.sha256 not in rows and f.used_at < self.cutoff:
                self._remove_file(f.sha256, f.ext, f.size, PREVIEW, f.used_at)
        for path, size, mtime in self.store.leftovers():
            if path.name.endswith(PRUNING_SUFFIX) or mtime >= self.cutoff:
                continue
            if not self.dry_run:
                path.unlink(missing_ok=True)
            self.report.removed.append(Removed(path.name, size, TEMPORARY, mtime))
        named = (f"{sha}.{rows[sha]}" for sha in used if sha in rows)
        self.report.missing = sorted(name for name in named if name not in files)
        if not self.dry_run and (kept_marks or marks):
            self._save_marks(kept_marks)
        return self.report

    def _unused_row(
        self, sha: str, ext: str, since: datetime, oldest_plan: datetime | None
    ) -> bool:
        """Remove an unreferenced row (and its file) if it may go; False to hold it."""
        if since > self.cutoff:
            return False
        if oldest_plan is not None and oldest_plan <= since:
            return False  # a site's retained plan may still name it
        stored = self.store.stored(sha, ext)  # read now, not from the listing
        if stored is not None and stored.used_at >= self.cutoff:
            return False  # rendered again lately: about to be referenced again, perhaps
        if not self.dry_run and not _delete_row(self.factory, sha):
            return False  # referenced since this pass read the references
        self.report.rows_deleted += 1
        if stored is None:
            self.report.removed.append(Removed(f"{sha}.{ext}", 0, ROW_ONLY, since))
        else:
            self._remove_file(sha, ext, stored.size, UNUSED, since)
        return True

    def _remove_file(self, sha: str, ext: str, size: int, kind: str, since: datetime) -> None:
        if not self.dry_run:
            freed = self.store.remove_unused(sha, ext, self.cutoff)
            if freed is None:
                return
            size = freed
            logger.info("media clean-up: removed %s.%s (%d bytes, %s)", sha, ext, size, kind)
        self.report.removed.append(Removed(f"{sha}.{ext}", size, kind, since))

    def _marks(self) -> dict[str, datetime]:
        path = self.store.root / MARKS_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return {str(k): datetime.fromisoformat(v) for k, v in data.items()}
        except FileNotFoundError:
            return {}
        except (ValueError, TypeError, AttributeError) as exc:
            # Unreadable: start the grace periods again (nothing goes sooner for it).
            logger.warning("media clean-up: ignoring %s (%s)", path, exc)
            return {}

    def _save_marks(self, marks: dict[str, datetime]) -> None:
        data = json.dumps({k: v.isoformat() for k, v in sorted(marks.items())}, indent=0)
        write_atomic(self.store.root / MARKS_FILE, data, 0o644)


def _delete_row(factory: sessionmaker[Session], sha: str) -> bool:
    """Delete the Media row if still nothing references it; whether it was deleted."""
    unreferenced = [~exists().where(c == sha) for c in referencing_columns()]
    try:
        with factory() as session, session.begin():
            result = session.execute(
                delete(Media).where(Media.sha256 == sha, *unreferenced),
                execution_options={"synchronize_session": False},
            )
            return bool(result.rowcount)  # type: ignore[attr-defined]
    except IntegrityError:  # a reference committed between the check and the delete
        return False
