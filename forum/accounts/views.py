"""Register and confirm, log in and out, reset a password, profiles and settings."""
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from forum import mail, ratelimits
from forum.accounts import services, sessions, tokens
from forum.accounts.forms import (ConfirmForm, LoginForm, PasswordForm, ProfileForm, RegisterForm,
                                  ResetPasswordForm, ResetRequestForm)
from forum.accounts.models import User
from forum.extensions import db, login_manager
from forum.notifications.forms import email_form_for
from forum.threads import queries

bp = Blueprint("accounts", __name__)

MAIL_DOWN = "We could not send the email just now. Please try again in a few minutes."

login_manager.login_view = "accounts.login"
login_manager.login_message = "Log in to continue."
login_manager.login_message_category = "info"


@login_manager.user_loader
def load_user(token: str) -> User | None:
    return sessions.user_for_token(token)


@bp.route("/auth/register", methods=["GET", "POST"])
@ratelimits.register
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            # The same answer whether the address is new or taken (see services' docstring).
            services.sign_up(form.username.data, form.email.data, form.password.data)
        except services.AccountError as error:
            getattr(form, error.field).errors.append(error.message)
        except mail.MailError:
            form.form_errors.append(MAIL_DOWN)
            return render_template("accounts/register.html", form=form), 503
        else:
            return render_template("accounts/check_inbox.html", email=form.email.data.strip())
    return render_template("accounts/register.html", form=form), 422 if form.errors else 200


@bp.route("/auth/login", methods=["GET", "POST"])
@ratelimits.login
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.log_in(form.login.data, form.password.data, request.remote_addr,
                                   request.user_agent.string)
        except services.LoginThrottled as throttled:
            form.form_errors.append("Too many failed log-ins for this name or from your address. "
                                    + ratelimits.describe_wait(throttled.seconds))
            return (render_template("accounts/login.html", form=form), 429,
                    {"Retry-After": str(throttled.seconds)})
        if user is not None and user.is_active:
            login_user(user, remember=form.remember.data)
            return redirect(services.safe_next(request.args.get("next")) or url_for("threads.index"))
        # One message for a wrong username and a wrong password: never say which.
        form.form_errors.append("Wrong username, email or password.")
    status = 401 if form.form_errors else 422 if form.errors else 200
    return render_template("accounts/login.html", form=form), status


@bp.route("/auth/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str):
    # GET only shows a button: mail scanners follow links, and a GET never writes.
    form = ConfirmForm()
    try:
        user = services.user_for_confirm_token(token)
        if form.validate_on_submit():
            services.confirm_email(token)
            return render_template("accounts/confirmed.html", user=user)
    except tokens.BadToken as error:
        return render_template("accounts/bad_link.html", error=error, kind="confirm"), error.status
    return render_template("accounts/confirm.html", form=form, user=user)


@bp.post("/auth/confirm/resend")
@ratelimits.resend_confirmation
@login_required
def resend_confirmation():
    back = services.safe_next(request.form.get("next")) or url_for("threads.index")
    if not ConfirmForm().validate_on_submit():
        abort(400, description="This form expired; reload the page and try again.")
    try:
        sent = services.resend_confirmation(current_user)
    except mail.MailError:
        flash(MAIL_DOWN, "error")
        return redirect(back)
    flash(f"We sent a new confirmation link to {current_user.email}." if sent
          else "Your email address is already confirmed.", "success" if sent else "info")
    return redirect(back)


@bp.route("/auth/reset", methods=["GET", "POST"])
@ratelimits.reset_request
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        try:
            services.request_password_reset(form.email.data)
        except mail.MailError:
            form.form_errors.append(MAIL_DOWN)
            return render_template("accounts/reset_request.html", form=form), 503
        return render_template("accounts/reset_sent.html", email=form.email.data.strip(),
                               minutes=int(tokens.RESET_MAX_AGE.total_seconds() // 60))
    return render_template("accounts/reset_request.html", form=form), 422 if form.errors else 200


# The reset link is a password for an hour: keep its page out of caches and Referer headers.
PRIVATE_PAGE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@bp.route("/auth/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        user = services.user_for_reset_token(token)
    except tokens.BadToken as error:
        return (render_template("accounts/bad_link.html", error=error, kind="reset"), error.status,
                PRIVATE_PAGE)
    form = ResetPasswordForm(user=user)
    if form.validate_on_submit():
        try:
            services.reset_password(user, form.password.data, request.user_agent.string)
        except tokens.BadToken as error:
            return (render_template("accounts/bad_link.html", error=error, kind="reset"),
                    error.status, PRIVATE_PAGE)
        login_user(user)  # a new log-in for this browser; every other one has ended
        flash("Your password is changed and you are logged in. Other sessions were logged out.",
              "success")
        return redirect(url_for("threads.index"))
    status = 422 if form.errors else 200
    return render_template("accounts/reset_password.html", form=form, user=user), status, PRIVATE_PAGE


@bp.post("/auth/logout")
def logout():
    if ConfirmForm().validate_on_submit():
        if current_user.is_authenticated:
            sessions.end(current_user.login_id)  # copies of this browser's cookies end too
        logout_user()
        flash("You are logged out.", "info")
    return redirect(url_for("threads.index"))


@bp.route("/u/<username>")
def profile(username: str):
    user = services.find_by_username(username)
    if user is None:
        abort(404, description=f"There is no member called {username!r}.")
    threads = db.paginate(queries.threads_by(user.id), per_page=10, page=_page_arg("tp"),
                          error_out=False)
    replies = db.paginate(queries.replies_by(user.id), per_page=10, page=_page_arg("rp"),
                          error_out=False)
    return render_template("accounts/profile.html", user=user, threads=threads, replies=replies,
                           karma=queries.karma_of(user.id),
                           stance_counts=queries.stance_counts_of(user.id))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    # Two forms on one page: only the one whose button was pressed reads the request.
    if "change_password" in request.form:
        profile_form, password_form = ProfileForm(formdata=None, obj=current_user), PasswordForm()
    else:
        profile_form, password_form = ProfileForm(obj=current_user), PasswordForm(formdata=None)
    status = 200
    if profile_form.save_profile.data and profile_form.validate_on_submit():
        try:
            services.update_profile(current_user, display_name=profile_form.display_name.data,
                                    affiliation=profile_form.affiliation.data,
                                    bio=profile_form.bio.data)
        except services.AccountError as error:
            getattr(profile_form, error.field).errors.append(error.message)
        else:
            flash("Profile saved.", "success")
            return redirect(url_for(".settings"))
    if password_form.change_password.data and password_form.validate_on_submit():
        try:
            services.change_password(current_user, password_form.current_password.data,
                                     password_form.new_password.data, request.user_agent.string)
        except services.AccountError as error:
            password_form.current_password.errors.append(error.message)
        else:
            login_user(current_user)  # a new log-in for this browser; the others ended
            flash("Password changed. Your other sessions were logged out.", "success")
            return redirect(url_for(".settings"))
    if profile_form.errors or password_form.errors:
        status = 422
    return render_template("accounts/settings.html", profile_form=profile_form,
                           password_form=password_form,
                           notifications_form=email_form_for(current_user),
                           logins=sessions.active(current_user), confirm=ConfirmForm()), status


@bp.post("/settings/sessions/end-others")
@login_required
def end_other_sessions():
    if not ConfirmForm().validate_on_submit():
        abort(400, description="This form expired; reload the page and try again.")
    ended = sessions.end_others(current_user)
    flash(f"Logged out of {ended} other {'session' if ended == 1 else 'sessions'}." if ended
          else "There were no other sessions.", "success" if ended else "info")
    return redirect(url_for(".settings") + "#sessions-heading")


def _page_arg(name: str) -> int:
    return max(request.args.get(name, 1, type=int) or 1, 1)
