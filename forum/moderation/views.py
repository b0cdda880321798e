"""Moderation pages (queue, content and member pages, audit log, roles) and the report pages.

One ``before_request`` guards every route of this blueprint, so none can
forget it: moderators and admins only, except the report pages (any logged-in
member) and the roles pages (admins only); a banned account, staff included,
is refused with the reason. tests/moderation/test_access.py walks the URL map
to prove each endpoint refuses a member.

The thread page stays cheap: it draws one plain "Report" link per reply (no
form, no CSRF token); the report form and every moderator button live on the
pages here.
"""
from __future__ import annotations

from flask import (Blueprint, abort, flash, g, jsonify, redirect, render_template, request,
                   url_for)
from flask_login import current_user

from forum import ratelimits
from forum.errors import typed_fields
from forum.accounts.models import ROLES, User
from forum.extensions import db, login_manager
from forum.moderation import queries, services
from forum.moderation.forms import ActionForm, BanForm, ReportForm, RoleForm
from forum.moderation.models import Report
from forum.moderation.policy import Banned, ensure_can_participate
from forum.threads import queries as thread_queries
from forum.threads.models import Post, Thread

bp = Blueprint("moderation", __name__)

MEMBER_ENDPOINTS = frozenset({"moderation.report_thread", "moderation.report_post"})
ADMIN_ENDPOINTS = frozenset({"moderation.members", "moderation.set_role"})
PER_PAGE = 30


@bp.before_request
def require_role():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()  # a page: log in and come back; a POST: 401
    ensure_can_participate(current_user)
    if request.endpoint in MEMBER_ENDPOINTS:
        return None
    if request.endpoint in ADMIN_ENDPOINTS and not current_user.is_admin:
        abort(403, description="Only admins can change roles.")
    if not current_user.is_moderator:
        abort(403, description="This page is for moderators.")
    return None


# -- reports (members) -------------------------------------------------------------

@bp.route("/report/thread/<int:thread_id>", methods=["GET", "POST"])
@ratelimits.reporting
def report_thread(thread_id: int):
    thread = db.session.get(Thread, thread_id) or abort(404, description="That thread does not exist.")
    return _report(thread, url_for("threads.show", thread_id=thread.id, slug=thread.slug))


@bp.route("/report/post/<int:post_id>", methods=["GET", "POST"])
@ratelimits.reporting
def report_post(post_id: int):
    post = thread_queries.post_with_thread(post_id) or abort(404, description="That reply does not exist.")
    return _report(post, url_for("threads.permalink", post_id=post.id))


def _report(target: Thread | Post, back: str):
    if target.is_deleted:
        abort(410, description="This was deleted; there is nothing left to report.")
    if not target.can_be_seen_by(current_user):
        abort(404, description="That does not exist, or is not public.")
    earlier = request.method == "GET" and services.earlier_report(current_user, target)
    if earlier:  # said before any typing, not after (a POST is refused with its text kept)
        return render_template("moderation/report.html", target=target, back=back, earlier=earlier), 200
    form = ReportForm()
    status = 200
    if form.validate_on_submit():
        try:
            services.report(current_user, target, form.reason.data or "", form.category.data or "other")
        except services.ModerationError as error:
            form.form_errors.append(error.message)
            status = error.status
        else:
            flash("Thank you: the moderators will look at it.", "success")
            return redirect(back)
    elif form.errors:
        status = 400 if "csrf_token" in form.errors else 422
    return render_template("moderation/report.html", form=form, target=target, back=back), status


# -- the queue, content pages and actions ----------------------------------------

@bp.get("/moderation")
def queue():
    reports = db.paginate(queries.open_reports(), page=_page(), per_page=PER_PAGE, error_out=False)
    return render_template("moderation/queue.html", reports=reports,
                           held=queries.held_content(), form=ActionForm())


@bp.get("/moderation/log")
def log():
    user_id = request.args.get("user", type=int)
    entries = db.paginate(queries.audit_log(user_id), page=_page(), per_page=PER_PAGE,
                          error_out=False)
    return render_template("moderation/log.html", entries=entries, user_id=user_id)


@bp.get("/moderation/thread/<int:thread_id>")
def thread(thread_id: int):
    target = thread_queries.thread_for_page(thread_id) or abort(404, description="That thread does not exist.")
    return _target_page(target)


@bp.get("/moderation/post/<int:post_id>")
def post(post_id: int):
    target = thread_queries.post_with_thread(post_id) or abort(404, description="That reply does not exist.")
    return _target_page(target)


@bp.post("/moderation/thread/<int:thread_id>/<action>")
def act_on_thread(thread_id: int, action: str):
    target = thread_queries.thread_for_page(thread_id) or abort(404, description="That thread does not exist.")
    return _act(target, action)


@bp.post("/moderation/post/<int:post_id>/<action>")
def act_on_post(post_id: int, action: str):
    target = thread_queries.post_with_thread(post_id) or abort(404, description="That reply does not exist.")
    return _act(target, action)


def _act(target: Thread | Post, action: str):
    form = ActionForm()
    if not form.validate_on_submit():
        return _target_page(target, form, 400 if "csrf_token" in form.errors else 422)
    try:
        message = services.act_on(current_user, target, action, form.reason.data)
    except services.ModerationError as error:
        form.form_errors.append(error.message)
        return _target_page(target, form, error.status)
    flash(message, "success")
    return redirect(_moderation_url(target))


def _target_page(target: Thread | Post, form: ActionForm | None = None, status: int = 200):
    reports = queries.reports_on(target)
    latest_open = next((row for row in reports if row.is_open), None)
    if form is None:  # the reason starts as what the latest open report said
        form = ActionForm(formdata=None, reason=latest_open.summary() if latest_open else "")
    return render_template("moderation/target.html", target=target,
                           is_thread=isinstance(target, Thread), form=form, reports=reports,
                           latest_open=latest_open), status


def _ban_length(form: BanForm) -> str:
    """The chosen preset; a client that sends no choice gets the typed date, or no end."""
    if "length" in request.form:
        return form.length.data
    return "date" if (form.until.data or "").strip() else "permanent"


def _reported_reason() -> str:
    """A ban reason prefilled from the report the moderator came from (``?report=<id>``)."""
    row = db.session.get(Report, request.args.get("report", type=int) or 0)
    return row.summary() if row is not None else ""


@bp.post("/moderation/reports/<int:report_id>/dismiss")
def dismiss(report_id: int):
    row = db.session.get(Report, report_id) or abort(404, description="That report does not exist.")
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400 if "csrf_token" in form.errors else 422, description="Reload the page and try again.")
    try:
        services.dismiss_report(current_user, row, form.reason.data)
    except services.ModerationError as error:
        abort(error.status, description=error.message)
    flash("Report dismissed.", "success")
    if request.form.get("back") == "queue":
        return redirect(url_for(".queue"))
    return redirect(_moderation_url(services.target_of(row)))


# -- members ---------------------------------------------------------------------

@bp.get("/moderation/users/<int:user_id>")
def member(user_id: int):
    return _member_page(_user(user_id))


@bp.post("/moderation/users/<int:user_id>/ban")
def ban(user_id: int):
    user, form = _user(user_id), BanForm()
    if not form.validate_on_submit():
        return _member_page(user, form, 400 if "csrf_token" in form.errors else 422)
    try:
        services.ban(current_user, user, form.reason.data,
                     services.ban_end(_ban_length(form), form.until.data))
    except services.ModerationError as error:
        form.form_errors.append(error.message)
        return _member_page(user, form, error.status)
    flash(f"@{user.username} is banned.", "success")
    return redirect(url_for(".member", user_id=user.id))


@bp.post("/moderation/users/<int:user_id>/<action>")
def act_on_member(user_id: int, action: str):
    user, form = _user(user_id), ActionForm()
    if action not in ("unban", "approve"):
        abort(404, description=f"Unknown action {action!r}: use unban or approve.")
    if not form.validate_on_submit():
        return _member_page(user, status=400 if "csrf_token" in form.errors else 422)
    try:
        if action == "unban":
            services.unban(current_user, user, form.reason.data)
            flash(f"@{user.username} is no longer banned.", "success")
        else:
            published = services.approve_member(current_user, user, form.reason.data)
            flash(f"@{user.username} is approved; {published} held post"
                  f"{'s' if published != 1 else ''} published.", "success")
    except services.ModerationError as error:
        flash(error.message, "error")
        return _member_page(user, status=error.status)
    return redirect(url_for(".member", user_id=user.id))


def _member_page(user: User, ban_form: BanForm | None = None, status: int = 200):
    if ban_form is None:
        ban_form = BanForm(formdata=None, reason=user.ban_reason if user.is_banned else _reported_reason(),
                           length="date" if user.is_banned and user.banned_until else
                           "permanent" if user.is_banned else "1w",
                           until=f"{user.banned_until:%Y-%m-%d %H:%M}" if user.is_banned
                           and user.banned_until else "")
    actions = db.session.scalars(queries.audit_log(user.id).limit(20)).unique().all()
    return render_template("moderation/member.html", user=user, ban_form=ban_form,
                           form=ActionForm(), actions=actions,
                           recent=queries.recent_posts_of(user.id),
                           held=queries.held_count_of(user.id),
                           ban_refusal=services.can_ban(current_user, user)), status


@bp.get("/moderation/members")
def members():
    search = request.args.get("q", "")[:100]
    page = db.paginate(queries.members(search), page=_page(), per_page=50, error_out=False)
    return render_template("moderation/members.html", members=page, search=search, roles=ROLES)


@bp.post("/moderation/members/<int:user_id>/role")
def set_role(user_id: int):
    user, form = _user(user_id), RoleForm()
    if not form.validate_on_submit():
        abort(400, description="This form expired; reload the page and try again.")
    try:
        changed = services.set_role(current_user, user, form.role.data or "")
    except services.ModerationError as error:
        abort(error.status, description=error.message)
    flash(f"@{user.username} is now {user.role}." if changed
          else f"@{user.username} already was {user.role}.", "success" if changed else "info")
    return redirect(url_for(".members", q=request.args.get("q") or None))


# -- app-wide: the banned page and the header count ---------------------------------

@bp.app_errorhandler(Banned)
def banned(error: Banned):
    if request.accept_mimetypes.best == "application/json":
        return jsonify(error=error.description), 403
    return render_template("moderation/banned.html", error=error, typed=typed_fields()), 403


@bp.app_template_global()
def moderation_open_count() -> int:
    """Open reports and held posts, for the header; 0 (and no query) for everyone but staff."""
    if not (current_user.is_authenticated and current_user.is_moderator):
        return 0
    if "moderation_open_count" not in g:
        g.moderation_open_count = queries.open_item_count()
    return g.moderation_open_count


def _moderation_url(target: Thread | Post) -> str:
    if isinstance(target, Thread):
        return url_for(".thread", thread_id=target.id)
    return url_for(".post", post_id=target.id)


def _user(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404, description="That member does not exist.")


def _page() -> int:
    return max(request.args.get("page", 1, type=int) or 1, 1)
