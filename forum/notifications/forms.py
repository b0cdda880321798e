"""The one notification setting a member can change: email, off by default."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, SubmitField

from forum.notifications import services


class EmailNotificationsForm(FlaskForm):
    email = BooleanField("Email me my unread notifications (at most one message an hour)")
    save_notifications = SubmitField("Save notification settings")


def email_form_for(user) -> EmailNotificationsForm:
    """The settings-page form, showing the member's current choice."""
    return EmailNotificationsForm(formdata=None, email=services.wants_email(user.id))
