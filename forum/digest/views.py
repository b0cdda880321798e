"""Digest pages: subscribe, confirm, manage, unsubscribe (one-click), preview, archive, feed, settings."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from forum import mail, ratelimits
from forum.database import utcnow
from forum.digest import render, selection, services, tokens
from forum.digest.forms import ConfirmForm, DigestSettingsForm, FollowForm, ManageForm, SubscribeForm
from forum.digest.models import DigestIssue
from forum.extensions import csrf, db
from forum.feeds.digest import digest_answer

bp = Blueprint("digest", __name__, url_prefix="/digest")

ARCHIVE_SIZE = 104  # two years of issues on one page


@bp.route("", methods=["GET", "POST"])
@ratelimits.subscribe
def subscribe():
    form = SubscribeForm()
    if form.validate_on_submit():
        try:
            services.request_subscription(form.email.data)
        except mail.MailError:
            form.email.errors.append("We could not send the confirmation email just now. "
                                     "Please try again in a few minutes.")
            return render_template("digest/subscribe.html", form=form), 503
        return render_template("digest/check_inbox.html", email=form.email.data)
    return render_template("digest/subscribe.html", form=form), 422 if form.errors else 200


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    # GET only shows a button: mail scanners follow links, and a GET never writes.
    form = ConfirmForm()
    try:
        email = tokens.read_confirm_token(token)
        if form.validate_on_submit():
            follows, errors = services.parse_follows(form.tags.data, form.papers.data, form.threads.data)
            for name, message in errors.items():
                form[name].errors.append(message)
            if not errors:
                subscription = services.confirm(token, follows)
                return render_template("digest/confirmed.html", email=email,
                                       manage_url=services.manage_url(subscription))
    except tokens.BadToken as error:
        return render_template("digest/bad_link.html", expired=error.expired), 410 if error.expired else 404
    return render_template("digest/confirm.html", form=form, email=email), 422 if form.errors else 200


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # RFC 8058 one-click: the mail client POSTs with no session; the signed token is the authority
def unsubscribe(token: str):
    try:
        subscription = services.find_by_unsubscribe_token(token)
    except tokens.BadToken:
        return render_template("digest/bad_link.html", expired=False), 404
    if request.method == "POST":
        services.unsubscribe(subscription)
        return render_template("digest/unsubscribed.html", email=subscription.email)
    return render_template("digest/unsubscribe.html", email=subscription.email,
                           already=subscription.unsubscribed_at is not None)


@bp.route("/manage/<token>", methods=["GET", "POST"])
def manage(token: str):
    """Choose what the digest puts first, with the signed link every digest carries (no account needed)."""
    try:
        subscription = services.find_by_unsubscribe_token(token)
    except tokens.BadToken:
        return render_template("digest/bad_link.html", expired=False), 404
    form = ManageForm()
    if request.method == "GET":
        form.tags.data = ", ".join(subscription.followed_tags)
        form.papers.data = ", ".join(subscription.followed_papers)
        form.threads.data = ", ".join(str(t) for t in subscription.followed_threads)
    if form.validate_on_submit():
        follows, errors = services.parse_follows(form.tags.data, form.papers.data, form.threads.data)
        for name, message in errors.items():
            form[name].errors.append(message)
        if not errors:
            services.set_follows(subscription, follows)
            flash("Saved: your next digest puts what you follow first.", "success")
            return redirect(url_for("digest.manage", token=token))
    return render_template("digest/manage.html", form=form, subscription=subscription, token=token), \
        422 if form.errors else 200


@bp.route("/preview")
def preview():
    start, end = selection.week_bounds(utcnow().date())
    sections = selection.select_week(start, end)
    return render_template("digest/issue.html", sections=sections, week=selection.week_label(start),
                           is_preview=True, paper_title=render.paper_title)


@bp.route("/archive")
def archive():
    issues = db.session.scalars(select(DigestIssue).order_by(DigestIssue.week.desc()).limit(ARCHIVE_SIZE)).all()
    return render_template("digest/archive.html", issues=issues)


@bp.route("/<week>")
def issue(week: str):
    issue = db.session.scalar(select(DigestIssue).where(DigestIssue.week == week.upper()))
    if issue is None:
        abort(404, f"There is no digest for {week}.")
    return render_template("digest/issue.html", sections=issue.sections, week=issue.week, is_preview=False,
                           paper_title=render.paper_title)


@bp.route("/feed.atom")
def feed():
    issues = db.session.scalars(select(DigestIssue).order_by(DigestIssue.week.desc()).limit(20)).all()
    return digest_answer(issues)  # escaped by construction, like every feed (forum/feeds)


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    subscription = services.member_subscription(current_user)
    form = DigestSettingsForm(obj=None)
    if request.method == "GET" and subscription is not None:
        form.enabled.data = subscription.is_active
        form.tags.data = ", ".join(subscription.followed_tags)
        form.papers.data = ", ".join(subscription.followed_papers)
    if form.validate_on_submit():
        follows, errors = services.parse_follows(form.tags.data, form.papers.data)
        for name, message in errors.items():
            form[name].errors.append(message)
        if not errors:
            try:
                state = services.set_member_digest(current_user, form.enabled.data,
                                                   follows["tags"], follows["papers"])
            except mail.MailError:
                form.enabled.errors.append("We could not send the confirmation email just now; try again later.")
                return render_template("digest/settings.html", form=form), 503
            flash({"on": "Digest settings saved: the digest is on.",
                   "off": "Digest settings saved: the digest is off.",
                   "confirm": "Check your inbox: follow the link we sent to switch the digest on."}[state],
                  "success")
            return redirect(url_for("digest.settings"))
    return render_template("digest/settings.html", form=form), 422 if form.errors else 200


@bp.post("/follow/<kind>")
@login_required
def follow(kind: str):
    """The Follow button of a tag or paper page: ``value`` and ``on`` ("1" or "0") in the form."""
    form = FollowForm()
    if kind not in services.FOLLOW_KINDS or not form.validate_on_submit():
        abort(400, description="This form expired or was incomplete; reload the page and try again.")
    value = _follow_value(kind, form.value.data)
    state = services.set_following(current_user, kind, value, on=form.on.data == "1")
    what = f"#{value}" if kind == "tags" else f"arXiv:{value}"
    if state == "full":
        flash(f"You follow {services.MAX_FOLLOWS} {kind} already: stop following one first.", "info")
    elif form.on.data != "1":
        flash(f"You no longer follow {what}.", "success")
    elif state == "on":
        flash(f"You follow {what}: it comes first in your weekly digest.", "success")
    else:
        flash(f"You follow {what}. Your weekly digest is off: turn it on in digest settings "
              "to receive it.", "info")
    return redirect(_follow_back(kind, value))


def _follow_value(kind: str, raw: str | None) -> str:
    from forum.papers.arxiv import normalize_arxiv_id
    from forum.threads.tags import normalize_tag
    value = (normalize_tag if kind == "tags" else normalize_arxiv_id)((raw or "").strip())
    if not value:
        abort(400, description=f"{(raw or '')[:40]!r} is not a valid {kind[:-1]}.")
    return value


def _follow_back(kind: str, value: str) -> str:
    return url_for("threads.tag", tag=value) if kind == "tags" else url_for("papers.paper", ident=value)


@bp.app_template_global("is_following")
def is_following(kind: str, value: str) -> bool:
    """For the Follow buttons: one small query, on the tag and paper pages that draw one."""
    return services.is_following(current_user, kind, value)
