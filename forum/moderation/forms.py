"""Moderation forms: they validate input; services change state."""
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length

from forum.accounts.models import ROLES
from forum.moderation.models import REASON_LENGTH

LOW, HIGH = REASON_LENGTH


class ReportForm(FlaskForm):
    reason = TextAreaField("What is wrong with it?", validators=[
        InputRequired(message="Tell the moderators what is wrong."), Length(LOW, HIGH)],
        description="Spam, abuse, off-topic, plagiarism...: a sentence helps the moderators decide.")
    submit = SubmitField("Send the report")


class ActionForm(FlaskForm):
    """A moderator's button with an optional reason for the audit log."""
    reason = StringField("Reason (for the audit log)", validators=[Length(max=HIGH)])


class BanForm(FlaskForm):
    reason = TextAreaField("Reason", validators=[
        InputRequired(message="Give a reason: the member is shown it."), Length(LOW, HIGH)],
        description="Shown to the member when they try to post, vote or report.")
    until = StringField("Ends (UTC, optional)", validators=[Length(max=40)],
                        description="YYYY-MM-DD or YYYY-MM-DD HH:MM. Empty: until a moderator unbans.")
    submit = SubmitField("Ban")


class RoleForm(FlaskForm):
    # The service names the roles when an unknown one is sent, more clearly than "Not a valid choice".
    role = SelectField("Role", choices=[SelectChoice(role, role.capitalize()) for role in ROLES],
                       validate_choice=False)
    submit = SubmitField("Change role")
