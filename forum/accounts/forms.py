"""Account forms: they validate input; services change state."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField, SubmitField, TextAreaField
from wtforms.validators import Email, InputRequired, Length, Regexp, ValidationError

from forum.accounts.names import name_problem
from forum.accounts.passwords import password_problem


def _refuse_hidden_characters(what: str):
    """A validator with the clear message for bidi controls, zero-width characters, CR/LF."""
    def check(form, field):
        problem = name_problem(field.data or "", what)
        if problem:
            raise ValidationError(problem)
    return check


class RegisterForm(FlaskForm):
    username = StringField("Username", validators=[
        InputRequired(), Length(3, 30), _refuse_hidden_characters("A username"),
        Regexp(r"^[A-Za-z0-9_-]+\Z", message="Use only letters, digits, '_' and '-'.")],
        render_kw={"autocomplete": "username"})
    email = EmailField("Email", validators=[
        InputRequired(), Length(max=254), Email(message="Enter a valid email address.",
                                                check_deliverability=False)],
        render_kw={"autocomplete": "email"})
    password = PasswordField("Password", validators=[InputRequired()],
                             description="At least 10 characters; not a common password.",
                             render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Create account")

    def validate_password(self, field):
        problem = password_problem(field.data, username=self.username.data or "",
                                   email=self.email.data or "")
        if problem:
            raise ValidationError(problem)


class LoginForm(FlaskForm):
    login = StringField("Username or email", validators=[InputRequired(), Length(max=254)],
                        render_kw={"autocomplete": "username"})
    password = PasswordField("Password", validators=[InputRequired(), Length(max=1024)],
                             render_kw={"autocomplete": "current-password"})
    remember = BooleanField("Remember me")
    submit = SubmitField("Log in")


class ProfileForm(FlaskForm):
    display_name = StringField("Display name", validators=[
        Length(max=80), _refuse_hidden_characters("A display name")],
        render_kw={"autocomplete": "name"})
    affiliation = StringField("Affiliation", validators=[
        Length(max=120), _refuse_hidden_characters("An affiliation")],
        render_kw={"autocomplete": "organization"})
    bio = TextAreaField("Bio", validators=[Length(max=2000)])
    save_profile = SubmitField("Save profile")


class PasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[InputRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField("New password", validators=[InputRequired()],
                                 description="At least 10 characters; not a common password.",
                                 render_kw={"autocomplete": "new-password"})
    change_password = SubmitField("Change password")

    def validate_new_password(self, field):
        problem = password_problem(field.data)
        if problem:
            raise ValidationError(problem)


class ResetRequestForm(FlaskForm):
    email = EmailField("Email", validators=[
        InputRequired(), Length(max=254), Email(message="Enter a valid email address.",
                                                check_deliverability=False)],
        render_kw={"autocomplete": "email"})
    submit = SubmitField("Email me a link")


class ResetPasswordForm(FlaskForm):
    """A new password for ``user``, under the same rules as at sign-up."""
    password = PasswordField("New password", validators=[InputRequired()],
                             description="At least 10 characters; not a common password.",
                             render_kw={"autocomplete": "new-password"})
    submit = SubmitField("Set password and log in")

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def validate_password(self, field):
        problem = password_problem(field.data, username=getattr(self.user, "username", ""),
                                   email=getattr(self.user, "email", ""))
        if problem:
            raise ValidationError(problem)


class ConfirmForm(FlaskForm):
    """A form with nothing but its CSRF token, for POST-only buttons (log out, delete)."""
