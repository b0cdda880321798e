"""Moderation forms: they validate input; services change state."""
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from forum.accounts.models import ROLES
from forum.moderation.models import REASON_LENGTH, REPORT_CATEGORIES

LOW, HIGH = REASON_LENGTH


class ReportForm(FlaskForm):
    # Unchecked, it counts as "other" (which needs details); the service refuses unknown values.
    category = RadioField("What is wrong with it?", choices=[SelectChoice(value, label) for value, label in REPORT_CATEGORIES.items()],
                          validate_choice=False)
    reason = TextAreaField("Details", validators=[Length(max=HIGH)],
                           description="Needed for \u201cSomething else\u201d; a sentence helps the moderators decide.")
    submit = SubmitField("Send the report")


class ActionForm(FlaskForm):
    """A moderator's button with an optional reason for the audit log."""
    reason = StringField("Reason (for the audit log)", validators=[Length(max=HIGH)])


BAN_LENGTHS = [("1d", "1 day"), ("1w", "1 week"), ("1m", "1 month"), ("permanent", "Permanent"),
               ("date", "Until a date")]


class BanForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[
        InputRequired(message="Give a reason: the member is shown it."), Length(LOW, HIGH)],
        description="Shown to the member when they try to post, vote or report.")
    length = RadioField("How long", choices=[SelectChoice(value, label) for value, label in BAN_LENGTHS],
                        default="1w", validate_choice=False)
    until = StringField("End date (UTC)", validators=[Length(max=40)],
                        description="With \u201cUntil a date\u201d: YYYY-MM-DD or YYYY-MM-DD HH:MM.")
    submit = SubmitField("Ban")


class RoleForm(FlaskForm):
    # The service names the roles when an unknown one is sent, more clearly than "Not a valid choice".
    role = SelectField("Role", choices=[SelectChoice(role, role.capitalize()) for role in ROLES],
                       validate_choice=False)
    submit = SubmitField("Change role")
