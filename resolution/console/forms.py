"""The console's forms. Each carries a CSRF token (Flask-WTF) and, for the ones that change a
complaint, the version the agent saw: it goes to the service as `if_match`, so an action on a
page someone else has since changed is refused instead of silently applied.

The forms check only what a browser can get wrong (a missing field); the rules (lengths,
amounts within the order total, who may act when) are the service's and the domain's.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Optional

from ..domain.decisions import REASON_CODES
from ..domain.solutions import Kind
from ..web import narrative


class SignInForm(FlaskForm):
    token = TextAreaField(_l("Care token"), validators=[DataRequired()])


class SignOutForm(FlaskForm):
    pass


class NextCaseForm(FlaskForm):
    """Takes the most urgent case nobody has taken yet."""


class VersionedForm(FlaskForm):
    """A form that acts on the complaint as the agent saw it (its version)."""

    version = HiddenField(validators=[DataRequired()])

    def seen_version(self) -> int | None:
        text = self.version.data or ""
        return int(text) if text.isdigit() else None


class AssignForm(VersionedForm):
    pass


class MessageForm(VersionedForm):
    to = SelectField(
        _l("To"),
        choices=[
            SelectChoice("", _l("the buyer and the seller")),
            SelectChoice("buyer", _l("the buyer only")),
            SelectChoice("seller", _l("the seller only")),
        ],
        validate_choice=False,  # the service's schema checks it (a browser may send none)
    )
    # The canned replies in the page's language (`pages`); inserting one posts the form to
    # `message_draft` (or, with the script, fills the text in the page), never sends it.
    canned = SelectField(_l("Canned reply"), choices=[], validate_choice=False)
    body = TextAreaField(_l("Message"), validators=[DataRequired()])


class NoteForm(VersionedForm):
    """Shown with `prefix="note"`: its text area is not the message form's `body`."""

    body = TextAreaField(_l("Note"), validators=[DataRequired()])


class RequestEvidenceForm(VersionedForm):
    party = SelectField(
        _l("From"),
        choices=[SelectChoice("buyer", _l("the buyer")), SelectChoice("seller", _l("the seller"))],
    )
    what = TextAreaField(_l("What is needed"), validators=[DataRequired()])
    due = DateTimeLocalField(
        _l("Due (WIB, optional: the inactivity period by default)"),
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
    )


class ReleaseForm(VersionedForm):
    reason = TextAreaField(_l("Why (the team reads it)"), validators=[DataRequired()])


class PauseClockForm(VersionedForm):
    reason = TextAreaField(_l("Why (the team reads it)"), validators=[DataRequired()])
    until = DateTimeLocalField(
        _l("Paused until (WIB, optional: as long as allowed)"),
        format="%Y-%m-%dT%H:%M",
        validators=[Optional()],
    )


class ResumeClockForm(VersionedForm):
    """Care starts a paused clock again: nothing to fill in."""


class ReassignForm(VersionedForm):
    agent_id = StringField(_l("To the agent (their id)"), validators=[DataRequired()])


class WithdrawRequestForm(VersionedForm):
    reason = StringField(_l("Why it is no longer needed"), validators=[DataRequired()])


class ReviewForm(VersionedForm):
    note = TextAreaField(_l("What you found"), validators=[DataRequired()])


class DecideForm(VersionedForm):
    kind = SelectField(
        _l("Solution"),
        choices=[SelectChoice(str(k), narrative.SOLUTION_KINDS[str(k)]) for k in Kind],
    )
    amount = IntegerField(_l("Amount (rupiah)"), validators=[Optional()])
    # Labels in the page's language, read when the form is built (a request's locale).
    reason_code = SelectField(
        _l("Reason code (the parties read its label)"),
        choices=lambda: [SelectChoice(c, narrative.reason_code(c)) for c in REASON_CODES],
    )
    rationale = TextAreaField(_l("Rationale (the parties read it)"), validators=[DataRequired()])
    # The evidence considered comes as `considered`, one checkbox per piece of this
    # complaint's evidence: the view reads them.
    # The items of an exchange or of the missing goods come as `qty-<n>`, one per order line
    # (their number depends on the order): the view reads them.


class RetrySettlementForm(FlaskForm):
    """Care asks the payment system again for a failed settlement."""

    settlement_id = HiddenField(validators=[DataRequired()])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional()])


class LegalHoldForm(VersionedForm):
    """Sets or lifts a legal hold (shown with `prefix="hold"`): the reason is recorded."""

    reason = TextAreaField(_l("Why (recorded with the hold)"), validators=[DataRequired()])


class ErasureForm(FlaskForm):
    """A data subject's request to erase their personal data (UU PDP)."""

    role = SelectField(
        _l("The person is"),
        choices=[SelectChoice("buyer", _l("a buyer")), SelectChoice("seller", _l("a seller"))],
    )
    subject = StringField(_l("Their id (as in their token)"), validators=[DataRequired()])
    reason = TextAreaField(_l("Why (the request, as received)"), validators=[DataRequired()])
    confirm = BooleanField(
        _l("I understand that what they wrote and their files are erased for good."),
        validators=[DataRequired()],
    )
