"""Front page and tag listings, thread pages, and the forms to start, reply, edit and delete."""

from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template,
                   request, url_for)
from flask_login import current_user, login_required

from forum import pagecache
from forum import ratelimits
from forum.accounts.access import confirmed_required
from forum.accounts.forms import ConfirmForm
from forum.database import utcnow
from forum.errors import typed_fields
from forum.extensions import db
from forum.markup import RenderTooComplex, render_markdown
from forum.moderation import services as moderation
from forum.moderation.policy import participation_required
from forum.papers import queries as paper_queries
from forum.threads import listing, queries, ranking, reading, services, votes, widgets
from forum.threads.diffing import version_text, word_diff
from forum.threads.forms import EditPostForm, ReplyForm, ThreadForm, VoteForm
from forum.threads.models import STANCES, Post, Thread
from forum.threads.tags import normalize_tag

bp = Blueprint("threads", __name__)


@bp.route("/")
@pagecache.anonymous_page
def index():
    return _thread_list("threads/index.html")


@bp.route("/tags")
def tags():
    return render_template("threads/tags.html", tags=queries.all_tags())


@bp.route("/tags/<tag>")
@pagecache.anonymous_page
def tag(tag: str):
    name = normalize_tag(tag)
    if name is None:
        abort(404, description=f"{tag[:40]!r} is not a valid tag.")
    if name != tag:
        return redirect(url_for(".tag", tag=name, **request.args), 301)
    if "." in name and not queries.tag_exists(name):  # /tags/rl.json: a suffix, not a tag
        abort(404, description=f"There is no tag {name!r}; a tag's feed is /tags/<tag>.atom.")
    return _thread_list("threads/tag.html", tag=name)


def _thread_list(template: str, tag: str | None = None):
    tab = request.args.get("tab", "hot")
    period = request.args.get("period", "week")
    if tab not in ranking.TABS or period not in ranking.TOP_PERIODS:
        abort(400, description="Unknown tab or period: use hot, active, new or top "
                               "(top with day, week, month, year or all).")
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    now = utcnow()
    threads = queries.front_page_listing(tab, now=now, period=period, tag=tag, page=page,
                                         per_page=current_app.config["THREADS_PER_PAGE"])
    rows = listing.thread_items(
        threads.items, tags=threads.tags, tab=tab, now=now,
        cited=paper_queries.cited_titles([thread.id for thread in threads.items]),
        unread=reading.unread_counts(current_user, threads.items))
    return render_template(template, threads=threads, tab=tab, period=period, tag=tag, rows=rows,
                           tabs=ranking.TABS, periods=ranking.TOP_PERIODS)


@bp.route("/t/<int:thread_id>")
@bp.route("/t/<int:thread_id>/<slug>")
@pagecache.anonymous_page
def show(thread_id: int, slug: str | None = None):
    if slug is not None and "." in slug:  # slugs have no dots: /t/1/x.json is no format we serve
        abort(404, description="Unknown address: a thread's feed is /t/<id>.atom.")
    thread = _seen(queries.thread_for_page(thread_id) or _not_found_thread())
    if slug != thread.slug:
        return redirect(thread_url(thread, **request.args), 301)
    sort, stance = _reply_order()
    tree = queries.reply_tree(thread.id, request.args.get("page", 1, type=int) or 1,
                              current_app.config["REPLIES_PER_PAGE"], sort=sort, stance=stance,
                              thread_author_id=thread.author_id, viewer=current_user)
    my_votes = votes.votes_by(current_user.id, thread.id) if current_user.is_authenticated else {}
    cited = paper_queries.thread_citations(thread.id)
    last_read = reading.last_read(current_user, thread.id)
    page = render_template("threads/show.html", thread=thread, tree=tree, my_votes=my_votes,
                           cited=cited, cited_papers=len(cited.papers), cited_repos=len(cited.repos),
                           last_read=last_read, first_unread=_first_unread(tree, last_read),
                           replies=widgets.ReplyPage.build(thread, tree, current_user._get_current_object(),
                                                           my_votes, last_read),
                           form=ReplyForm(formdata=None), stances=STANCES, sorts=ranking.REPLY_SORTS)
    if reading.visit_is_news(last_read, thread):
        reading.record_visit(current_user, thread.id)
    return page


def _first_unread(tree, last_read):
    """The first reply on this page written by someone else since the member's last visit."""
    if last_read is None:
        return None
    return next((row.post for row in tree.rows if not row.masked and row.post.created_at > last_read
                 and row.post.author_id != current_user.id), None)


def _reply_order() -> tuple[str, str | None]:
    sort = request.args.get("sort", "best")
    stance = request.args.get("stance") or None
    if sort not in ranking.REPLY_SORTS:
        abort(400, description="Unknown sort: use best, oldest or newest.")
    if stance is not None and stance not in STANCES:
        abort(400, description="Unknown stance: use " + ", ".join(STANCES) + ".")
    return sort, stance


@bp.post("/t/<int:thread_id>/vote")
@ratelimits.voting
@login_required
@confirmed_required
def vote_thread(thread_id: int):
    thread = db.session.get(Thread, thread_id) or _not_found_thread()
    return _vote(thread, thread_url(thread, _anchor="top"))


@bp.post("/p/<int:post_id>/vote")
@ratelimits.voting
@login_required
@confirmed_required
def vote_post(post_id: int):
    post = queries.post_with_thread(post_id) or abort(404, description="That reply does not exist.")
    return _vote(post, post_url(post))


def _vote(target, back: str):
    """Vote, then answer JSON to the script or redirect back to the page without it."""
    wants_json = request.accept_mimetypes.best == "application/json"
    try:
        if not VoteForm().validate_on_submit():
            raise votes.VoteError("This form expired; reload the page and vote again.", 400)
        result = votes.cast_vote(current_user, target, votes.parse_vote_value(request.form.get("value")))
    except votes.VoteError as error:
        if wants_json:
            return jsonify(error=error.message), error.status
        abort(error.status, description=error.message)
    if wants_json:
        return jsonify(score=result.score, vote=result.vote)
    return redirect(back)


@bp.route("/t/<int:thread_id>/history")
def thread_history(thread_id: int):
    thread = _seen(queries.thread_with_author(thread_id) or _not_found_thread())
    return _history(thread, thread_url(thread))


@bp.route("/p/<int:post_id>/history")
def post_history(post_id: int):
    post = _seen(queries.post_with_thread(post_id)
                 or abort(404, description="That reply does not exist."))
    return _history(post, post_url(post))


def _history(target, back: str):
    if not target.can_show_history_to(current_user):
        abort(410, description="This was deleted; its history is not shown.")
    versions = [*queries.revisions_of(target), target]
    steps = [word_diff(version_text(older), version_text(newer))
             for older, newer in zip(versions, versions[1:])]
    return render_template("threads/history.html", target=target, versions=versions,
                           steps=steps, back=back)


@bp.route("/t/new", methods=["GET", "POST"])
@ratelimits.posting
@login_required
@confirmed_required
@participation_required
def new():
    form = ThreadForm()
    if request.method == "GET" and request.args.get("paper"):
        _prefill_paper(form, request.args["paper"])
    if form.validate_on_submit() and not form.preview.data:
        try:
            thread = services.start_thread(current_user, form.title.data, form.body.data,
                                           form.tags.data,
                                           submission_token=form.submission_token.data)
        except services.PostingError as error:
            form.form_errors.append(error.message)
            return _render_form("threads/new.html", form, form.body.data, error.status,
                                suggestions=queries.tag_suggestions())
        if thread.is_held:
            flash("Thanks! A new member's first posts wait for a moderator; yours will be "
                  "public once approved. Only you can see it until then.", "info")
        return redirect(thread_url(thread))
    return _render_form("threads/new.html", form, form.body.data,
                        suggestions=queries.tag_suggestions())


@bp.route("/t/<int:thread_id>/edit", methods=["GET", "POST"])
@ratelimits.posting
@login_required
@confirmed_required
@participation_required
def edit(thread_id: int):
    thread = _editable(queries.thread_for_page(thread_id) or _not_found_thread())
    form = ThreadForm(obj=thread, tags=", ".join(tag.name for tag in thread.tags))
    if form.validate_on_submit() and not form.preview.data:
        try:
            moderation.edit_by(current_user, thread, title=form.title.data, body=form.body.data,
                               tags=form.tags.data or "", reason=form.reason.data)
        except (services.PostingError, moderation.ModerationError) as error:
            form.form_errors.append(error.message)
            return _render_form("threads/edit.html", form, form.body.data, error.status,
                                thread=thread, suggestions=queries.tag_suggestions())
        return redirect(thread_url(thread))
    return _render_form("threads/edit.html", form, form.body.data, thread=thread,
                        suggestions=queries.tag_suggestions())


@bp.post("/t/<int:thread_id>/delete")
@login_required
@confirmed_required
@participation_required
def delete(thread_id: int):
    thread = _editable(db.session.get(Thread, thread_id) or _not_found_thread())
    if ConfirmForm().validate_on_submit():
        _delete(thread)
        flash("Thread deleted. Its replies stay readable.", "info")
    return redirect(thread_url(thread))


@bp.route("/t/<int:thread_id>/reply", methods=["GET", "POST"])
@ratelimits.posting
@login_required
@confirmed_required
@participation_required
def reply(thread_id: int):
    thread = _seen(queries.thread_with_author(thread_id) or _not_found_thread())
    form = ReplyForm()
    if request.method == "GET":
        form.parent_id.data = request.args.get("parent", "")
    parent, parent_error = _parent_of(thread, form.parent_id.data)
    if parent_error:  # keep what was typed: show the form again with the message
        form.form_errors.append(parent_error)
        return _render_form("threads/reply.html", form, form.body.data, 400, thread=thread)
    if form.validate_on_submit() and not form.preview.data:
        located = {}  # the redirect's target, found in the reply's own transaction
        try:
            post = services.reply(thread, current_user, form.body.data,
                                  parent_id=parent and parent.id, stance=form.stance.data or None,
                                  submission_token=form.submission_token.data,
                                  before_commit=lambda new: located.update(url=post_url(new, thread)))
        except services.PostingError as error:
            form.form_errors.append(error.message)
            return _render_form("threads/reply.html", form, form.body.data, error.status,
                                thread=thread, parent=parent)
        if post.is_held:
            flash("Thanks! A new member's first posts wait for a moderator; yours will be "
                  "public once approved. Only you can see it until then.", "info")
        return redirect(located.get("url") or post_url(post, thread))  # or the earlier copy's
    if not thread.can_be_replied_to_by(current_user):
        form.form_errors.append("This thread takes no new replies.")
        return _render_form("threads/reply.html", form, form.body.data, 410, thread=thread, parent=parent)
    return _render_form("threads/reply.html", form, form.body.data, thread=thread, parent=parent)


@bp.route("/p/<int:post_id>")
def permalink(post_id: int):
    post = queries.post_with_thread(post_id)
    if post is None or not post.can_be_seen_by(current_user):
        abort(404, description="That reply does not exist.")
    return redirect(post_url(post))


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@ratelimits.posting
@login_required
@confirmed_required
@participation_required
def edit_post(post_id: int):
    post = _editable(queries.post_with_thread(post_id) or abort(404))
    form = EditPostForm(obj=post)
    if form.validate_on_submit() and not form.preview.data:
        thread = post.thread
        try:
            moderation.edit_by(current_user, post, body=form.body.data,
                               stance=form.stance.data or None, reason=form.reason.data)
        except (services.PostingError, moderation.ModerationError) as error:
            form.form_errors.append(error.message)
            return _render_form("threads/edit_post.html", form, form.body.data, error.status,
                                post=post)
        return redirect(post_url(post, thread))
    return _render_form("threads/edit_post.html", form, form.body.data, post=post)


@bp.post("/p/<int:post_id>/delete")
@login_required
@confirmed_required
@participation_required
def delete_post(post_id: int):
    post = _editable(queries.post_with_thread(post_id) or abort(404))
    if ConfirmForm().validate_on_submit():
        thread = post.thread
        _delete(post)
        flash("Reply deleted. The replies to it stay.", "info")
        return redirect(post_url(post, thread))
    return redirect(post_url(post))


def thread_url(thread: Thread, **args) -> str:
    args.pop("slug", None)
    return url_for("threads.show", thread_id=thread.id, slug=thread.slug, **args)


def post_url(post: Post, thread: Thread | None = None) -> str:
    page = queries.page_of_post(post, current_app.config["REPLIES_PER_PAGE"])
    args = {"page": page} if page > 1 else {}
    return thread_url(thread or post.thread, **args, _anchor=post.anchor)


def _render_form(template: str, form, body: str | None, status: int | None = None, **context):
    """A form page; with "Preview" pressed it shows the rendered body, without JS.

    A body over the length limit is never rendered (the form already says why), and one
    too complex to render within the CPU budget gets the budget's message instead."""
    preview = None
    if form.preview.data and body and len(body) <= services.BODY_MAX_LENGTH:
        try:
            preview = render_markdown(body)
        except RenderTooComplex as error:
            form.form_errors.append(error.sentence)
    if status is None:
        status = 422 if form.errors or form.form_errors else 200
    return render_template(template, form=form, preview=preview, **context), status


@bp.app_errorhandler(RenderTooComplex)
def _too_complex(error: RenderTooComplex):
    """Text too complex to render on a path that has no form of its own to show again
    (posting services turn it into a PostingError, so their forms come back): 422, the
    typed text kept."""
    db.session.rollback()  # an edit may have staged its revision before rendering
    return render_template("errors/error.html", code=422, title="Check your input",
                           message=error.sentence,
                           typed=typed_fields()), 422


def _parent_of(thread: Thread, parent_id: str | None) -> tuple[Post | None, str | None]:
    """The reply being answered, or an error message when it is not in this thread."""
    if not parent_id:
        return None, None
    parent = queries.post_with_thread(int(parent_id)) if parent_id.isdigit() else None
    if parent is None or parent.thread_id != thread.id:
        return None, "The reply you answered is not part of this thread."
    return parent, None


def _delete(target) -> None:
    """The author's delete, or a moderator's with the reason typed beside the button."""
    try:
        moderation.delete_by(current_user, target, request.form.get("reason", ""))
    except moderation.ModerationError as error:
        abort(error.status, description=error.message)


def _editable(target):
    if target.is_deleted:
        abort(410, description="This was deleted and can no longer be changed.")
    if not target.can_be_edited_by(current_user):
        abort(403, description="You can only change what you wrote.")
    return target


def _seen(target):
    """The thread or reply, if this visitor may see it (held and hidden ones are not public)."""
    if not target.can_be_seen_by(current_user):
        abort(404, description="That does not exist, or is not public.")
    return target


def _not_found_thread():
    abort(404, description="That thread does not exist.")


def _prefill_paper(form: ThreadForm, ident: str) -> None:
    """"Start a debate about this paper": the new thread's body begins by citing it."""
    from forum.papers.arxiv import normalize_arxiv_id
    arxiv_id = normalize_arxiv_id(ident)
    if arxiv_id:
        form.body.data = f"Discussing arXiv:{arxiv_id}\n\n"
