"""Digest forms: they validate; services change state."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, HiddenField, StringField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, Email, InputRequired, Length


class SubscribeForm(FlaskForm):
    email = EmailField("Email", validators=[
        InputRequired(message="Enter your email address."), Length(max=254),
        Email(message="Enter a valid email address, like ada@example.org.", check_deliverability=False)])
    subscribe = SubmitField("Subscribe")


class ConfirmForm(FlaskForm):
    """Confirming, and optionally choosing what to follow: the confirmation link is also a manage link."""
    tags = StringField("Tags (optional)", validators=[Length(max=500)],
                       description="Comma-separated tag names, like ml, theory.")
    papers = StringField("arXiv papers (optional)", validators=[Length(max=500)],
                         description="Comma-separated arXiv ids, like 2301.12345.")
    threads = TextAreaField("Threads (optional)", validators=[Length(max=2000)],
                            description="Thread addresses or numbers, separated by commas or lines.")
    confirm = SubmitField("Confirm my subscription")


class DigestSettingsForm(FlaskForm):
    enabled = BooleanField("Send me the weekly digest")
    tags = StringField("Only threads with these tags", validators=[Length(max=500)],
                       description="Comma-separated tag names; leave both empty for the whole forum.")
    papers = StringField("Or mentioning these arXiv papers", validators=[Length(max=500)],
                         description="Comma-separated arXiv ids, like 2301.12345.")
    save = SubmitField("Save digest settings")


class ManageForm(FlaskForm):
    tags = StringField("Tags", validators=[Length(max=500)],
                       description="Comma-separated tag names, like ml, theory.")
    papers = StringField("arXiv papers", validators=[Length(max=500)],
                         description="Comma-separated arXiv ids, like 2301.12345.")
    threads = TextAreaField("Threads", validators=[Length(max=2000)],
                            description="Thread addresses or numbers, separated by commas or lines.")
    save = SubmitField("Save what I follow")


class FollowForm(FlaskForm):
    """The Follow / Stop following button on a tag or paper page."""
    value = HiddenField(validators=[InputRequired(), Length(max=100)])
    on = HiddenField(validators=[AnyOf(["0", "1"])])
