"""The notifications page, following and clearing notifications, watch/mute buttons, email setting."""
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from forum.accounts.forms import ConfirmForm
from forum.extensions import db
from forum.notifications import services
from forum.notifications.forms import EmailNotificationsForm
from forum.threads.models import Thread

bp = Blueprint("notifications", __name__)

EXPIRED = "This form expired; reload the page and try again."

# The buttons offered at each watch level: (endpoint, label).
WATCH_BUTTONS = {
    "watching": [("notifications.unwatch", "Stop watching"), ("notifications.mute", "Mute")],
    "normal": [("notifications.watch", "Watch"), ("notifications.mute", "Mute")],
    "muted": [("notifications.unwatch", "Unmute"), ("notifications.watch", "Watch")],
}


@bp.app_context_processor
def header_helpers() -> dict:
    """Callables, not values: a page pays for the query only if its template asks."""
    return {"unread_notification_count": _unread_count, "thread_watch": _watch}


def _unread_count() -> int:
    if not current_user.is_authenticated:
        return 0
    if "unread_notifications" not in g:
        counted = current_user.unread_notifications  # by the user loader's statement, if it ran
        g.unread_notifications = (counted if counted is not None
                                  else services.unread_count(current_user.id))
    return g.unread_notifications


def _watch(thread: Thread) -> tuple[str, list[tuple[str, str]]] | None:
    """(level, buttons) for the member on a thread page; None when logged out (no query)."""
    if not current_user.is_authenticated:
        return None
    level = services.watch_level(current_user.id, thread)
    return level, WATCH_BUTTONS[level]


@bp.route("/notifications")
@login_required
def index():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    notifications = db.paginate(services.notifications_of(current_user.id), page=page,
                                per_page=services.per_page(), error_out=False)
    if page > 1 and not notifications.items:
        abort(404, description=f"There is no page {page} of your notifications.")
    return render_template("notifications/index.html", notifications=notifications,
                           form=ConfirmForm())


@bp.get("/notifications/<int:notification_id>")
@login_required
def follow(notification_id: int):
    """Go to what the notification is about, marking it read: a plain link, so it opens in a
    new tab, can be copied, and works without JavaScript (services.open_notification says why
    this GET may write)."""
    target = services.open_notification(current_user, notification_id)
    if target is None:
        abort(404, description="You have no such notification.")
    thread_id, post_id = target
    if post_id is not None:
        return redirect(url_for("threads.permalink", post_id=post_id))
    return redirect(url_for("threads.show", thread_id=thread_id))


@bp.post("/notifications/read-all")
@login_required
def read_all():
    if not ConfirmForm().validate_on_submit():
        abort(400, description=EXPIRED)
    count = services.mark_all_read(current_user)
    flash(f"Marked {count} notification{'' if count == 1 else 's'} read.", "info")
    return redirect(url_for(".index"))


@bp.post("/t/<int:thread_id>/watch")
@login_required
def watch(thread_id: int):
    return _set_level(thread_id, "watching", "You are watching this thread: every reply notifies you.")


@bp.post("/t/<int:thread_id>/unwatch")
@login_required
def unwatch(thread_id: int):
    return _set_level(thread_id, "normal", "Not watching: only replies to you and mentions notify you.")


@bp.post("/t/<int:thread_id>/mute")
@login_required
def mute(thread_id: int):
    return _set_level(thread_id, "muted", "Thread muted: only mentions of you notify you.")


def _set_level(thread_id: int, level: str, message: str):
    thread = db.session.get(Thread, thread_id)
    if thread is None or thread.is_deleted or not thread.can_be_seen_by(current_user):
        abort(404, description="That thread does not exist.")
    if not ConfirmForm().validate_on_submit():
        abort(400, description=EXPIRED)
    services.set_watch_level(current_user, thread, level)
    flash(message, "info")
    return redirect(url_for("threads.show", thread_id=thread.id, slug=thread.slug, _anchor="top"))


@bp.post("/settings/notifications")
@login_required
def email_setting():
    form = EmailNotificationsForm()
    if not form.validate_on_submit():
        abort(400, description=EXPIRED)
    services.set_email_enabled(current_user, form.email.data)
    flash("Notification emails are on: at most one message an hour." if form.email.data
          else "Notification emails are off.", "success")
    return redirect(url_for("accounts.settings"))
