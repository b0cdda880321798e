"""Front page, thread pages, and the forms to start, reply, edit and delete."""
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from forum.accounts.forms import ConfirmForm
from forum.extensions import db
from forum.markup import render_markdown
from forum.threads import queries, services
from forum.threads.forms import EditPostForm, ReplyForm, ThreadForm
from forum.threads.models import Post, Thread

bp = Blueprint("threads", __name__)


@bp.route("/")
def index():
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    threads = db.paginate(queries.front_page(), page=page, error_out=False,
                          per_page=current_app.config["THREADS_PER_PAGE"])
    return render_template("threads/index.html", threads=threads)


@bp.route("/t/<int:thread_id>")
@bp.route("/t/<int:thread_id>/<slug>")
def show(thread_id: int, slug: str | None = None):
    thread = queries.thread_with_author(thread_id) or _not_found_thread()
    if slug != thread.slug:
        return redirect(thread_url(thread, **request.args), 301)
    tree = queries.reply_tree(thread.id, request.args.get("page", 1, type=int) or 1,
                              current_app.config["REPLIES_PER_PAGE"])
    return render_template("threads/show.html", thread=thread, tree=tree,
                           form=ReplyForm(formdata=None), confirm=ConfirmForm())


@bp.route("/t/new", methods=["GET", "POST"])
@login_required
def new():
    form = ThreadForm()
    if form.validate_on_submit() and not form.preview.data:
        thread = services.start_thread(current_user, form.title.data, form.body.data)
        return redirect(thread_url(thread))
    return _render_form("threads/new.html", form, form.body.data)


@bp.route("/t/<int:thread_id>/edit", methods=["GET", "POST"])
@login_required
def edit(thread_id: int):
    thread = _editable(queries.thread_with_author(thread_id) or _not_found_thread())
    form = ThreadForm(obj=thread)
    if form.validate_on_submit() and not form.preview.data:
        services.edit_thread(thread, form.title.data, form.body.data)
        return redirect(thread_url(thread))
    return _render_form("threads/edit.html", form, form.body.data, thread=thread)


@bp.post("/t/<int:thread_id>/delete")
@login_required
def delete(thread_id: int):
    thread = _editable(db.session.get(Thread, thread_id) or _not_found_thread())
    if ConfirmForm().validate_on_submit():
        services.delete_thread(thread)
        flash("Thread deleted. Its replies stay readable.", "info")
    return redirect(thread_url(thread))


@bp.route("/t/<int:thread_id>/reply", methods=["GET", "POST"])
@login_required
def reply(thread_id: int):
    thread = queries.thread_with_author(thread_id) or _not_found_thread()
    form = ReplyForm()
    if request.method == "GET":
        form.parent_id.data = request.args.get("parent", "")
    parent, parent_error = _parent_of(thread, form.parent_id.data)
    if parent_error:  # keep what was typed: show the form again with the message
        form.form_errors.append(parent_error)
        return _render_form("threads/reply.html", form, form.body.data, 400, thread=thread)
    if form.validate_on_submit() and not form.preview.data:
        try:
            post = services.reply(thread, current_user, form.body.data, parent_id=parent and parent.id)
        except services.PostingError as error:
            form.form_errors.append(error.message)
            return _render_form("threads/reply.html", form, form.body.data, error.status,
                                thread=thread, parent=parent)
        return redirect(post_url(post, thread))
    if not thread.can_be_replied_to_by(current_user):
        form.form_errors.append("This thread takes no new replies.")
        return _render_form("threads/reply.html", form, form.body.data, 410, thread=thread, parent=parent)
    return _render_form("threads/reply.html", form, form.body.data, thread=thread, parent=parent)


@bp.route("/p/<int:post_id>")
def permalink(post_id: int):
    post = queries.post_with_thread(post_id)
    if post is None:
        abort(404, description="That reply does not exist.")
    return redirect(post_url(post))


@bp.route("/p/<int:post_id>/edit", methods=["GET", "POST"])
@login_required
def edit_post(post_id: int):
    post = _editable(queries.post_with_thread(post_id) or abort(404))
    form = EditPostForm(obj=post)
    if form.validate_on_submit() and not form.preview.data:
        thread = post.thread
        services.edit_post(post, form.body.data)
        return redirect(post_url(post, thread))
    return _render_form("threads/edit_post.html", form, form.body.data, post=post)


@bp.post("/p/<int:post_id>/delete")
@login_required
def delete_post(post_id: int):
    post = _editable(queries.post_with_thread(post_id) or abort(404))
    if ConfirmForm().validate_on_submit():
        thread = post.thread
        services.delete_post(post)
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
    """A form page; with "Preview" pressed it shows the rendered body, without JS."""
    preview = render_markdown(body) if form.preview.data and body else None
    if status is None:
        status = 422 if form.errors or form.form_errors else 200
    return render_template(template, form=form, preview=preview, **context), status


def _parent_of(thread: Thread, parent_id: str | None) -> tuple[Post | None, str | None]:
    """The reply being answered, or an error message when it is not in this thread."""
    if not parent_id:
        return None, None
    parent = queries.post_with_thread(int(parent_id)) if parent_id.isdigit() else None
    if parent is None or parent.thread_id != thread.id:
        return None, "The reply you answered is not part of this thread."
    return parent, None


def _editable(target):
    if target.is_deleted:
        abort(410, description="This was deleted and can no longer be changed.")
    if not target.can_be_edited_by(current_user):
        abort(403, description="You can only change what you wrote.")
    return target


def _not_found_thread():
    abort(404, description="That thread does not exist.")
