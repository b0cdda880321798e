"""Thread and reply forms. "Preview" re-renders the form with the result, without JS."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional, ValidationError

from forum.threads.models import STANCES
from forum.threads.services import BODY_MAX_LENGTH, TITLE_LENGTH
from forum.threads.submissions import new_token
from forum.threads.tags import MAX_TAGS, TagError, parse_tags

BODY_HELP = "Markdown, with $math$, code blocks and tables. Mention arXiv ids and GitHub links freely."
TAGS_HELP = (f"Up to {MAX_TAGS}, separated by commas or spaces: lower case letters, digits, "
             "'-' and '.' (arXiv categories like cs.lg work).")
STANCE_CHOICES = [SelectChoice("", "No particular stance")] + [
    SelectChoice(name, name.capitalize()) for name in STANCES]
STANCE_VALUES = {"", *STANCES}
# Shown only to a moderator changing someone else's post (moderation/_edit_reason.html).
MODERATOR_REASON = "Reason for this moderator edit (kept in the audit log)"


def _valid_tags(form, field):
    try:
        parse_tags(field.data)
    except TagError as error:
        raise ValidationError(error.message) from None


def _valid_stance(form, field):
    if (field.data or "") not in STANCE_VALUES:
        raise ValidationError("Choose a stance from the list: " + ", ".join(STANCES) + ", or none.")


class ThreadForm(FlaskForm):
    title = StringField("Title", validators=[
        InputRequired(message="Give your thread a title."), Length(*TITLE_LENGTH)])
    body = TextAreaField("Body", description=BODY_HELP, validators=[
        InputRequired(message="Write what your thread is about."), Length(max=BODY_MAX_LENGTH)])
    tags = StringField("Tags", description=TAGS_HELP, validators=[Optional(), _valid_tags])
    submission_token = HiddenField(default=new_token)  # sent twice, one thread (submissions.py)
    reason = StringField(MODERATOR_REASON, validators=[Optional(), Length(max=1000)])
    preview = SubmitField("Preview")
    submit = SubmitField("Post thread")


class _StanceField(SelectField):
    """A stance select whose bad values get our message (not WTForms' "Not a valid choice")."""

    def pre_validate(self, form):
        pass


class ReplyForm(FlaskForm):
    parent_id = HiddenField(validators=[Optional()])
    submission_token = HiddenField(default=new_token)  # sent twice, one reply (submissions.py)
    stance = _StanceField("Stance", choices=STANCE_CHOICES, default="", validators=[_valid_stance],
                          description="Does your reply support, challenge, question, or bring evidence?")
    body = TextAreaField("Your reply", description=BODY_HELP, validators=[
        InputRequired(message="Write your reply."), Length(max=BODY_MAX_LENGTH)])
    preview = SubmitField("Preview")
    submit = SubmitField("Post reply")


class EditPostForm(FlaskForm):
    stance = _StanceField("Stance", choices=STANCE_CHOICES, default="", validators=[_valid_stance])
    reason = StringField(MODERATOR_REASON, validators=[Optional(), Length(max=1000)])
    body = TextAreaField("Body", description=BODY_HELP, validators=[
        InputRequired(message="A reply cannot be empty."), Length(max=BODY_MAX_LENGTH)])
    preview = SubmitField("Preview")
    submit = SubmitField("Save")


class VoteForm(FlaskForm):
    """Only for its CSRF token: the vote's direction comes from the button pressed."""
