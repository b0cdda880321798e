"""Command-line tools: ``flask --app wsgi seed-demo``."""
from __future__ import annotations

import secrets

import click
from flask.cli import AppGroup, with_appcontext
from sqlalchemy import func, select

from forum.accounts import services as accounts
from forum.accounts.models import User
from forum.database import utcnow
from forum.extensions import db
from forum.threads import services as threads

DEMO_USERS = [
    ("ada", "Ada Lovelace", "Analytical Engine Lab"),
    ("grace", "Grace Hopper", "Compiler Research Group"),
    ("alan", "Alan Turing", "Computing Laboratory"),
    ("emmy", "Emmy Noether", "Institute for Symmetry"),
]

# (author, title, body, replies); a reply is (author, body, stance, replies to it).
DEMO_THREADS = [
    ("ada", "Is attention really all you need for long-context reasoning?",
     "Since *Attention Is All You Need* (arXiv:1706.03762) the default answer to every "
     "sequence problem has been a Transformer. For contexts past 100k tokens I am less sure.\n\n"
     "Cost grows as $O(n^2)$ in sequence length $n$. State-space models such as Mamba "
     "(arXiv:2312.00752, code at https://github.com/state-spaces/mamba) claim linear scaling. "
     "Which tasks still need full attention?",
     [("grace", "Retrieval-heavy tasks do. The Mamba paper itself shows weaker "
                "associative recall; hybrids keep a few attention layers for that.", "challenges",
       [("alan", "Do we have a benchmark that isolates recall from reasoning? "
                 "Needle-in-a-haystack is too easy.", "question",
         [("emmy", "See the RULER benchmark (arXiv:2404.06654). It separates multi-hop "
                   "tracing from plain retrieval.", "evidence", [])])]),
      ("emmy", "FlashAttention (arXiv:2205.14135, https://github.com/Dao-AILab/flash-attention) "
               "made quadratic attention cheap enough in practice that the asymptotics "
               "matter less than they seem.", "supports", [])]),
    ("grace", "Scaling laws: compute-optimal or inference-optimal?",
     "Chinchilla (arXiv:2203.15556) says tokens and parameters should grow together. "
     "But models that will serve billions of queries are trained far past that point.\n\n"
     "```python\ndef chinchilla_tokens(params):\n    return 20 * params  # rule of thumb\n```\n\n"
     "Should we stop calling the Chinchilla ratio *optimal*?",
     [("alan", "Optimal for a fixed training budget, and nothing more. Once inference "
               "cost enters, the optimum moves towards smaller models trained longer.", "supports",
       [("ada", "Agreed. The Llama papers (arXiv:2302.13971) make exactly this argument.",
         "evidence", [])]),
      ("emmy", "Was Kaplan et al. (arXiv:2001.08361) wrong, or just measuring "
               "a different regime?", "question", [])]),
    ("alan", "Reproducing nanoGPT results on a single GPU",
     "I tried https://github.com/karpathy/nanoGPT on one consumer GPU. "
     "The Shakespeare character model trains in minutes; GPT-2 124M does not. "
     "Has anyone measured how far gradient accumulation gets you?",
     [("ada", "It gets you the same loss curve per token, just slower. Watch the "
              "learning-rate schedule: it is defined per iteration, not per token.", "evidence", []),
      ("grace", "@alan which PyTorch version? `torch.compile` changed a lot between releases.",
       "question", [])]),
]


def register(app) -> None:
    app.cli.add_command(seed_demo)
    app.cli.add_command(markup_cli)


markup_cli = AppGroup("markup", help="Stored post HTML.")


@markup_cli.command("rerender")
@click.option("--budget", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Seconds of CPU per post (default: RENDER_CPU_BUDGET).")
def markup_rerender(budget: float | None) -> None:
    """Render every post again and store its HTML: run after the Markdown renderer changes."""
    from forum.threads import rerender

    with click.progressbar(length=rerender.live_count(), label="Posts") as bar:
        summary = rerender.rerender_all(progress=bar.update, budget_seconds=budget)
    click.echo(summary.line())


@click.command("seed-demo")
@click.option("--force", is_flag=True, help="Seed even though the database has users.")
@with_appcontext
def seed_demo(force: bool) -> None:
    """Create demo members and debates, so a newcomer sees a living forum."""
    if db.session.scalar(select(func.count(User.id))) and not force:
        click.echo("The database already has users; not seeding (use --force to seed anyway).")
        return
    users, passwords = {}, {}
    for username, display_name, affiliation in DEMO_USERS:
        if accounts.find_by_username(username):
            username = f"{username}-{secrets.token_hex(2)}"
        passwords[username] = secrets.token_urlsafe(12)
        users[username.split("-")[0]] = accounts.register(
            username, f"{username}@demo.example", passwords[username],
            display_name=display_name, affiliation=affiliation,
            email_confirmed_at=utcnow(),  # demo addresses take no mail: confirmed from the start
            approved_at=utcnow())  # established members: their posts are public at once
    for author, title, body, replies in DEMO_THREADS:
        thread = threads.start_thread(users[author], title, body)
        _seed_replies(thread, users, replies, parent_id=None)
    click.echo(f"Seeded {len(DEMO_USERS)} members and {len(DEMO_THREADS)} threads.")
    click.echo("Demo logins (shown once, not stored anywhere else):")
    for username, password in passwords.items():
        click.echo(f"  {username:<12} {password}")


def _seed_replies(thread, users, replies, parent_id):
    for author, body, stance, children in replies:
        post = threads.reply(thread, users[author], body, parent_id=parent_id, stance=stance)
        _seed_replies(thread, users, children, parent_id=post.id)
