"""Lexicon views (administrators only): list and search, add, edit, delete, import, try."""

from __future__ import annotations

import logging

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import select

from audio.lexicon_file import ImportReport, import_lexicon_file
from audio.lexicon_store import add_entry, delete_entry, load_lexicon, update_entry
from audio.normalize import normalize_text
from audio.normalize.lexicon import LexiconError, builtin_lexicon
from broadcaster.models import LexiconEntry
from web.lexicon.forms import DeleteForm, EntryForm, ImportForm
from web.lexicon.labels import explain_code, explain_line
from web.security import roles_required
from web.services import db

bp = Blueprint(
    "lexicon",
    __name__,
    url_prefix="/lexicon",
    template_folder="templates",
    static_folder="static",
)

logger = logging.getLogger(__name__)

MAX_SAMPLE = 1000  # characters of the "try it" text


def _entry(entry_id: int) -> LexiconEntry:
    entry = db().get(LexiconEntry, entry_id)
    if entry is None:
        abort(404)
    return entry


def _matches(entry: LexiconEntry, query: str) -> bool:
    # In Python, not SQL LIKE: SQLite folds the case of ASCII letters only, not "Đ" or "Ắ".
    needle = query.casefold()
    return any(needle in s.casefold() for s in (entry.term, entry.spoken, entry.note or ""))


def _render_index(
    *,
    form: EntryForm | None = None,
    import_form: ImportForm | None = None,
    report: ImportReport | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    query = request.args.get("q", "").strip()
    entries = db().scalars(select(LexiconEntry).order_by(LexiconEntry.term)).all()
    shown = [e for e in entries if _matches(e, query)] if query else entries
    sample = request.args.get("sample", "").strip()[:MAX_SAMPLE]
    spoken = None
    if sample:
        try:
            spoken = normalize_text(sample, load_lexicon(db()))
        except LexiconError:  # a stored entry no longer validates: show the text without it
            logger.exception("lexicon: a stored entry is invalid")
            spoken = normalize_text(sample)
    return (
        render_template(
            "lexicon/index.html",
            entries=shown,
            total=len(entries),
            builtin_count=len(builtin_lexicon()),
            query=query,
            sample=sample,
            spoken=spoken,
            form=form or EntryForm(formdata=None),
            import_form=import_form or ImportForm(formdata=None),
            delete_form=DeleteForm(),
            report=report,
            explain_line=explain_line,
        ),
        status,
    )


@bp.route("/")
@roles_required("admin")
def index() -> ResponseReturnValue:
    return _render_index()


@bp.route("/add", methods=["POST"])
@roles_required("admin")
def add() -> ResponseReturnValue:
    form = EntryForm()
    if form.validate_on_submit():
        session = db()
        try:
            add_entry(session, form.term.data, form.spoken.data, note=form.note.data or "")
        except LexiconError as exc:
            session.rollback()
            form.term.errors = [explain_code(exc.code, form.term.data)]
        else:
            session.commit()
            flash(
                _("Added “%(term)s”. It applies from the next audio made.", term=form.term.data),
                "success",
            )
            return redirect(url_for("lexicon.index"))
    return _render_index(form=form, status=400)


@bp.route("/<int:entry_id>/edit", methods=["GET", "POST"])
@roles_required("admin")
def edit(entry_id: int) -> ResponseReturnValue:
    entry = _entry(entry_id)
    form = EntryForm(obj=entry)
    if form.validate_on_submit():
        session = db()
        try:
            update_entry(
                session, entry, form.term.data, form.spoken.data, note=form.note.data or ""
            )
        except LexiconError as exc:
            session.rollback()
            form.term.errors = [explain_code(exc.code, form.term.data)]
        else:
            session.commit()
            flash(
                _("Saved “%(term)s”. It applies from the next audio made.", term=entry.term),
                "success",
            )
            return redirect(url_for("lexicon.index"))
    status = 400 if request.method == "POST" else 200
    return render_template("lexicon/edit.html", form=form, entry=entry), status


@bp.route("/<int:entry_id>/delete", methods=["POST"])
@roles_required("admin")
def delete(entry_id: int) -> ResponseReturnValue:
    entry = _entry(entry_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    term = entry.term
    delete_entry(db(), entry)
    db().commit()
    flash(_("Deleted “%(term)s”.", term=term), "success")
    return redirect(url_for("lexicon.index"))


@bp.route("/import", methods=["POST"])
@roles_required("admin")
def import_file() -> ResponseReturnValue:
    form = ImportForm()
    if not form.validate_on_submit():
        return _render_index(import_form=form, status=400)
    upload = form.file.data
    session = db()
    report = import_lexicon_file(
        session,
        upload.read(),
        note=_("Imported from %(name)s", name=upload.filename or "?"),
    )
    if not report.ok:
        session.rollback()
        return _render_index(import_form=form, report=report, status=400)
    session.commit()
    flash(
        _(
            "Imported %(name)s: %(added)s new, %(updated)s updated, %(same)s unchanged.",
            name=upload.filename or "?",
            added=len(report.added),
            updated=len(report.updated),
            same=len(report.unchanged),
        ),
        "success",
    )
    return redirect(url_for("lexicon.index"))
