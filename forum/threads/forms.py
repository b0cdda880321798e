"""Thread and reply forms. "Preview" re-renders the form with the result, without JS."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from forum.threads.services import BODY_MAX_LENGTH, TITLE_LENGTH

BODY_HELP = "Markdown, with $math$, code blocks and tables. Mention arXiv ids and GitHub links freely."


class ThreadForm(FlaskForm):
    title = StringField("Title", validators=[
        InputRequired(message="Give your thread a title."), Length(*TITLE_LENGTH)])
    body = TextAreaField("Body", description=BODY_HELP, validators=[
        InputRequired(message="Write what your thread is about."), Length(max=BODY_MAX_LENGTH)])
    preview = SubmitField("Preview")
    submit = SubmitField("Post thread")


class ReplyForm(FlaskForm):
    parent_id = HiddenField(validators=[Optional()])
    body = TextAreaField("Your reply", description=BODY_HELP, validators=[
        InputRequired(message="Write your reply."), Length(max=BODY_MAX_LENGTH)])
    preview = SubmitField("Preview")
    submit = SubmitField("Post reply")


class EditPostForm(FlaskForm):
    body = TextAreaField("Body", description=BODY_HELP, validators=[
        InputRequired(message="A reply cannot be empty."), Length(max=BODY_MAX_LENGTH)])
    preview = SubmitField("Preview")
    submit = SubmitField("Save")
