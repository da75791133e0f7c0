"""Personal data in the console (UU PDP): erasing a data subject's personal data on their
request, with the same service function as the API's `POST /v1/data-subjects/{id}/erasure`.
(Legal holds are set and lifted on the case page: `actions`.)"""

from __future__ import annotations

from flask import render_template
from flask_babel import gettext as _
from marshmallow import ValidationError

from schemas.complaints import ReasonSchema

from ..domain.errors import Conflict, Invalid, NotFound
from ..service import erasure
from ..web.http import context
from . import refusals
from .blueprint import bp
from .forms import ErasureForm
from .signin import agent


@bp.get("/data-subjects")
def data_subjects() -> str:
    """The erasure form."""
    agent()
    return render_template("console/data_subjects.html", form=ErasureForm(formdata=None))


@bp.post("/data-subjects/erasure")
def erase_data_subject() -> tuple[str, int]:
    """Erases what the person wrote and their files: the receipt, or why nothing was erased
    (their complaints still open or held, listed; nobody by that id; a field missing)."""
    me, form = agent(), ErasureForm()
    if not form.validate_on_submit():
        return _page(form, 422, problem=_("Some fields are missing: see the form below."))
    subject_id = f"{form.role.data}:{(form.subject.data or '').strip()}"
    try:
        reason = ReasonSchema().load({"reason": form.reason.data})["reason"]
        done = erasure.erase(context(), me, subject_id, reason)
    except ValidationError as error:
        why = refusals.fields(error.messages)
        return _page(form, 422, problem=_("Not recorded: %(why)s", why=why))
    except Invalid:
        why = _("an id is letters, digits and . _ @ - only, at most 128 of them")
        return _page(form, 422, problem=_("Not recorded: %(why)s", why=why))
    except NotFound:
        problem = _(
            "Nobody by the id %(subject)s wrote anything here: nothing to erase.",
            subject=subject_id,
        )
        return _page(form, 404, problem=problem)
    except Conflict as error:
        return _page(form, 409, subject=subject_id, blocked=error.extra.get("complaints", []))
    return _page(ErasureForm(formdata=None), 201 if not done.replayed else 200, done=done)


def _page(form: ErasureForm, status: int, **shown) -> tuple[str, int]:
    return render_template("console/data_subjects.html", form=form, **shown), status
