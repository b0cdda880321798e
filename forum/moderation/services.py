"""Moderation use cases. Each writes a ``ModAction`` in the same commit as its change.

Rules a reader might question, in one place:

- Who may ban whom (``can_ban``): moderators and admins ban members; only an
  admin bans a moderator; nobody bans an admin or themselves.
- Roles change only by an admin (or ``flask users set-role``), and the last
  admin cannot stop being one: someone must always be able to appoint others.
- Hiding or deleting content resolves every open report on it; dismissing
  resolves one report.
- A thread's ``reply_count`` counts public, undeleted replies, so hiding,
  unhiding and approving a reply move it by one, as SQL increments.
- Approving a held post publishes it (search, notifications); approving a
  member publishes all their held posts, and their later posts are not held.
  See ``policy.py`` for when posts are held at all.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from forum.accounts import services as accounts
from forum.accounts.models import ROLES, User
from forum.database import utcnow
from forum.extensions import db
from forum.moderation.models import REASON_LENGTH, REPORT_CATEGORIES, ModAction, Report
from forum.moderation.policy import (Banned, ban_message, ensure_can_participate,  # noqa: F401
                                     hold_posts_setting, participation_required)
from forum.notifications.services import post_published
from forum.threads import services as threads
from forum.threads.models import Post, Thread

THREAD_ACTIONS = ("hide", "unhide", "delete", "lock", "unlock", "pin", "unpin", "approve")
POST_ACTIONS = ("hide", "unhide", "delete", "approve")
BAN_END_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M")


class ModerationError(ValueError):
    """A moderation request that cannot be carried out; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


# -- reports ---------------------------------------------------------------------

def report(reporter: User, target: Thread | Post, reason: str, category: str = "other") -> Report:
    """A member flags a thread or reply for the moderators, once per target, under a
    category; words are needed only for "other"."""
    ensure_can_participate(reporter)
    if target.is_deleted:
        raise ModerationError("This was deleted; there is nothing left to report.", 410)
    if not target.can_be_seen_by(reporter):
        raise ModerationError("That does not exist, or is not public.", 404)
    if target.author_id == reporter.id:
        raise ModerationError("You cannot report what you wrote; edit or delete it instead.", 422)
    if category not in REPORT_CATEGORIES:
        raise ModerationError(f"Unknown category {category!r}: use {', '.join(REPORT_CATEGORIES)}.", 422)
    if category == "other" and len((reason or "").strip()) < REASON_LENGTH[0]:
        raise ModerationError("Tell the moderators what is wrong: choose a category, or give a "
                              "few words for \u201cSomething else\u201d.", 422)
    reason = _checked_reason(reason)
    if earlier_report(reporter, target) is not None:
        raise ModerationError(ALREADY_REPORTED, 409)
    column = Report.thread_id if isinstance(target, Thread) else Report.post_id
    row = Report(reporter_id=reporter.id, reason=reason, category=category, **{column.key: target.id})
    db.session.add(row)
    try:
        db.session.commit()
    except IntegrityError:  # the same report sent twice at once
        db.session.rollback()
        raise ModerationError(ALREADY_REPORTED, 409) from None
    return row


ALREADY_REPORTED = "You have already reported this; the moderators will look at it."


def earlier_report(reporter: User, target: Thread | Post) -> Report | None:
    """The report ``reporter`` already made on ``target``: asked before the form is shown, so
    nobody types a report that would be refused."""
    column = Report.thread_id if isinstance(target, Thread) else Report.post_id
    return db.session.scalar(select(Report).where(Report.reporter_id == reporter.id, column == target.id))


def dismiss_report(moderator: User, row: Report, reason: str = "") -> None:
    if not row.is_open:
        raise ModerationError("This report was already dealt with.", 409)
    row.resolved_at, row.resolved_by_id, row.resolution = utcnow(), moderator.id, "dismissed"
    _log(moderator, "dismiss_report", target_of(row), reason,
         detail=f"report #{row.id}")
    db.session.commit()


# -- content ---------------------------------------------------------------------

def act_on(moderator: User, target: Thread | Post, action: str, reason: str = "") -> str:
    """Carry out one of ``THREAD_ACTIONS`` / ``POST_ACTIONS``; return what to tell the moderator."""
    allowed = THREAD_ACTIONS if isinstance(target, Thread) else POST_ACTIONS
    if action not in allowed:
        raise ModerationError(f"Unknown action {action!r}: use {', '.join(allowed)}.", 404)
    reason = _checked_reason(reason)
    if action == "delete":
        return delete_content(moderator, target, reason)
    if action == "approve":
        return approve_post(moderator, target, reason)
    if action in ("hide", "unhide"):
        return set_hidden(moderator, target, action == "hide", reason)
    flag = "locked" if action in ("lock", "unlock") else "pinned"
    return set_thread_flag(moderator, target, flag, action in ("lock", "pin"), reason)


def set_hidden(moderator: User, target: Thread | Post, hidden: bool, reason: str = "") -> str:
    if target.is_deleted:
        raise ModerationError("This was deleted already.", 410)
    if target.is_hidden == hidden:
        raise ModerationError(f"This is {'already hidden' if hidden else 'not hidden'}.", 409)
    was_public = target.is_public
    target.hidden_at = utcnow() if hidden else None
    if isinstance(target, Post) and was_public != target.is_public:
        _count_reply(target, +1 if target.is_public else -1)
    if hidden:
        _resolve_reports(target, moderator, "hidden")
    _log(moderator, "hide" if hidden else "unhide", target, reason)
    db.session.commit()
    return ("Hidden: only moderators and the author see it now." if hidden
            else "Visible again." if target.is_public else "No longer hidden (still awaiting approval).")


def delete_content(moderator: User, target: Thread | Post, reason: str = "") -> str:
    """Soft delete, exactly as the author's own delete does (the tree below stays)."""
    if target.is_deleted:
        raise ModerationError("This was deleted already.", 410)
    _resolve_reports(target, moderator, "deleted")
    _log(moderator, "delete", target, reason)
    if isinstance(target, Thread):
        threads.delete_thread(target)  # commits the log row and the reports with it
    else:
        threads.delete_post(target)
    return "Deleted. It shows as [deleted]; replies below it stay."


# -- through the members' own pages ----------------------------------------------

def edit_by(editor: User, target: Thread | Post, *, title: str = "", body: str,
            tags: str | None = None, stance=threads.KEEP, reason: str = "") -> Thread | Post:
    """Edit a thread or reply from its edit page. Its author just edits; a moderator editing
    someone else's must give a reason, logged in the same commit as the edit, and the
    history then says "edited by a moderator". Raises threads.PostingError, ModerationError."""
    moderated = target.needs_reason_from(editor)
    if moderated:
        _log(editor, "edit", target, _checked_reason(reason, required=True))
    try:
        if isinstance(target, Thread):
            return threads.edit_thread(target, title, body, tags, editor_id=editor.id)
        return threads.edit_post(target, body, stance=stance, editor_id=editor.id)
    except threads.PostingError:
        db.session.rollback()  # the log row goes with the refused edit
        raise


def delete_by(user: User, target: Thread | Post, reason: str = "") -> None:
    """Delete from the thread page: the author's own delete, or a moderator's (with a
    reason, logged, and resolving reports, as from the moderation pages)."""
    if target.needs_reason_from(user):
        delete_content(user, target, _checked_reason(reason, required=True))
    elif isinstance(target, Thread):
        threads.delete_thread(target)
    else:
        threads.delete_post(target)


def set_thread_flag(moderator: User, thread: Thread, flag: str, value: bool, reason: str = "") -> str:
    verb = {("locked", True): "lock", ("locked", False): "unlock",
            ("pinned", True): "pin", ("pinned", False): "unpin"}[(flag, value)]
    if thread.is_deleted:
        raise ModerationError("This thread was deleted.", 410)
    if getattr(thread, flag) == value:
        raise ModerationError(f"This thread is {'already ' if value else 'not '}{flag}.", 409)
    setattr(thread, flag, value)
    _log(moderator, verb, thread, reason)
    db.session.commit()
    return {"lock": "Locked: it takes no new replies.", "unlock": "Unlocked.",
            "pin": "Pinned: it stays at the top of the front page.", "unpin": "Unpinned."}[verb]


def approve_post(moderator: User, target: Thread | Post, reason: str = "") -> str:
    """Publish a held thread or reply; after enough approvals the author is trusted."""
    if target.is_deleted:
        raise ModerationError("This was deleted; there is nothing to approve.", 410)
    if not target.is_held:
        raise ModerationError("This is not awaiting approval.", 409)
    _publish(target)
    _log(moderator, "approve", target, reason)
    author = db.session.get(User, target.author_id)
    trusted = not author.is_approved and _public_post_count(author.id) >= hold_posts_setting()
    if trusted:
        author.approved_at = utcnow()
        _log(moderator, "approve_member", None, "", user=author,
             detail=f"after {hold_posts_setting()} approved posts")
    db.session.commit()
    _announce([target])
    return "Approved and published." + (f" @{author.username} is now trusted: their next posts "
                                        "are public at once." if trusted else "")


# -- members ---------------------------------------------------------------------

def approve_member(moderator: User, user: User, reason: str = "") -> int:
    """Trust a new member: publish their held posts now and hold none later. Returns how many."""
    if user.is_approved:
        raise ModerationError(f"@{user.username} is already approved.", 409)
    user.approved_at = utcnow()
    held = [*db.session.scalars(select(Thread).where(Thread.author_id == user.id,
                                                     Thread.held_at.is_not(None),
                                                     Thread.deleted_at.is_(None))),
            *db.session.scalars(select(Post).where(Post.author_id == user.id,
                                                   Post.held_at.is_not(None),
                                                   Post.deleted_at.is_(None))
                                .order_by(Post.id))]
    for target in held:
        _publish(target)
    _log(moderator, "approve_member", None, _checked_reason(reason), user=user,
         detail=f"{len(held)} held post{'s' if len(held) != 1 else ''} published")
    db.session.commit()
    _announce(held)
    return len(held)


def can_ban(moderator: User, user: User) -> str | None:
    """Why ``moderator`` may not ban ``user``, or None when they may."""
    if not moderator.is_moderator:
        return "Only moderators can ban members."
    if user.id == moderator.id:
        return "You cannot ban yourself."
    if user.is_admin:
        return "Admins cannot be banned; an admin must first change their role."
    if user.is_moderator and not moderator.is_admin:
        return "Only an admin can ban a moderator."
    return None


def ban(moderator: User, user: User, reason: str, until: datetime | None = None) -> None:
    """Ban ``user`` (or change their ban); ``until`` None means until a moderator unbans."""
    refusal = can_ban(moderator, user)
    if refusal:
        raise ModerationError(refusal, 403)
    reason = _checked_reason(reason, required=True)
    if until is not None and until <= utcnow():
        raise ModerationError("The end date is in the past: give a future date, or none "
                              "for a ban without end.", 422)
    user.banned, user.ban_reason, user.banned_until = True, reason, until
    _log(moderator, "ban", None, reason, user=user,
         detail=f"until {until:%Y-%m-%d %H:%M UTC}" if until else "no end date")
    db.session.commit()


def unban(moderator: User, user: User, reason: str = "") -> None:
    if not user.is_banned:
        raise ModerationError(f"@{user.username} is not banned.", 409)
    user.banned, user.banned_until = False, None
    _log(moderator, "unban", None, _checked_reason(reason), user=user)
    db.session.commit()


# Preset ban lengths; "permanent" has no end, "date" takes the typed end date.
BAN_LENGTHS = {"1d": timedelta(days=1), "1w": timedelta(weeks=1), "1m": timedelta(days=30)}


def ban_end(length: str, typed_date: str | None, now: datetime | None = None) -> datetime | None:
    """When a ban chosen as a preset (or "date" with ``typed_date``) ends; None: no end."""
    if length in BAN_LENGTHS:
        return (now or utcnow()) + BAN_LENGTHS[length]
    if length == "permanent":
        return None
    if length == "date":
        end = parse_ban_end(typed_date)
        if end is None:
            raise ModerationError("Give the end date, as YYYY-MM-DD (UTC).", 422)
        return end
    raise ModerationError(f"Unknown ban length {length!r}.", 422)


def parse_ban_end(text: str | None) -> datetime | None:
    """A ban's end as typed ("2026-12-01", "2026-12-01 18:00", UTC), or None when empty."""
    text = (text or "").strip()
    if not text:
        return None
    for pattern in BAN_END_FORMATS:
        try:
            return datetime.strptime(text, pattern).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    raise ModerationError(f"{text[:40]!r} is not a date: write it as YYYY-MM-DD, optionally "
                          "with a time as YYYY-MM-DD HH:MM (UTC).", 422)


def set_role(actor: User | None, user: User, role: str) -> bool:
    """Give ``user`` a role; ``actor`` None is the command line. Returns False if unchanged."""
    if role not in ROLES:
        raise ModerationError(f"Unknown role {role!r}: use {', '.join(ROLES)}.", 422)
    if actor is not None and not actor.is_admin:
        raise ModerationError("Only admins can change roles.", 403)
    if user.role == role:
        return False
    if user.is_admin and _admin_count() <= 1:
        raise ModerationError(f"@{user.username} is the last admin: make someone else admin "
                              "first, so the forum always has one.", 409)
    old, user.role = user.role, role
    _log(actor, "set_role", None, "", user=user, detail=f"{old} -> {role}")
    db.session.commit()
    return True


def create_admin(username: str, email: str, password: str, *, force: bool = False) -> User:
    """A new confirmed, trusted admin account (``flask users create-admin``)."""
    if _admin_count() and not force:
        raise ModerationError("An admin already exists: use `flask users set-role <username> "
                              "admin`, or --force to create another admin account.", 409)
    try:
        user = accounts.register(username, email, password)
    except accounts.AccountError as error:
        raise ModerationError(error.message, 422) from None
    now = utcnow()
    user.role, user.email_confirmed_at, user.approved_at = "admin", now, now
    _log(None, "set_role", None, "", user=user, detail="new account -> admin")
    db.session.commit()
    return user


# -- helpers ---------------------------------------------------------------------

def _checked_reason(reason: str | None, *, required: bool = False) -> str:
    reason = (reason or "").strip()
    low, high = REASON_LENGTH
    if required and len(reason) < low:
        raise ModerationError(f"Give a reason of at least {low} characters.", 422)
    if len(reason) > high:
        raise ModerationError(f"Keep the reason under {high} characters.", 422)
    return reason


def _log(moderator: User | None, action: str, target: Thread | Post | None, reason: str, *,
         user: User | None = None, detail: str = "") -> None:
    db.session.add(ModAction(
        moderator_id=moderator.id if moderator is not None else None, action=action,
        thread_id=target.id if isinstance(target, Thread) else None,
        post_id=target.id if isinstance(target, Post) else None,
        user_id=user.id if user is not None else (target.author_id if target is not None else None),
        reason=reason, detail=detail))


def target_of(row: Report) -> Thread | Post:
    return db.session.get(Thread, row.thread_id) if row.thread_id else db.session.get(Post, row.post_id)


def _resolve_reports(target: Thread | Post, moderator: User, resolution: str) -> None:
    column = Report.thread_id if isinstance(target, Thread) else Report.post_id
    db.session.execute(update(Report).where(column == target.id, Report.resolved_at.is_(None))
                       .values(resolved_at=utcnow(), resolved_by_id=moderator.id,
                               resolution=resolution))


def _publish(target: Thread | Post) -> None:
    was_public = target.is_public
    target.held_at = None
    if isinstance(target, Post) and target.is_public and not was_public:
        _count_reply(target, +1, bump_activity=True)


def _count_reply(post: Post, delta: int, *, bump_activity: bool = False) -> None:
    if post.is_deleted:
        return
    values = {"reply_count": Thread.reply_count + delta}
    if bump_activity:
        values["last_activity_at"] = utcnow()
    db.session.execute(update(Thread).where(Thread.id == post.thread_id).values(**values))


def _announce(targets: list[Thread | Post]) -> None:
    """Tell those concerned about newly public posts (after commit, as the threads services do)."""
    for target in targets:
        if target.is_public and not target.is_deleted:
            post_published(target)


def _public_post_count(user_id: int) -> int:
    threads_n = select(func.count(Thread.id)).where(Thread.author_id == user_id,
                                                    Thread.held_at.is_(None))
    posts_n = select(func.count(Post.id)).where(Post.author_id == user_id, Post.held_at.is_(None))
    return int(db.session.scalar(select(threads_n.scalar_subquery() + posts_n.scalar_subquery())))


def _admin_count() -> int:
    return db.session.scalar(select(func.count(User.id)).where(User.role == "admin")) or 0
