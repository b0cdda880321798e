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
from forum.papers.demo import load_recorded_metadata
from forum.threads import services as threads

# (username, display name, affiliation, role): one admin and one moderator, so that a
# newcomer's first posts, which wait for approval (moderation/policy.py), can be approved.
DEMO_USERS = [
    ("ada", "Ada Lovelace", "Analytical Engine Lab", "admin"),
    ("grace", "Grace Hopper", "Compiler Research Group", "moderator"),
    ("alan", "Alan Turing", "Computing Laboratory", "member"),
    ("emmy", "Emmy Noether", "Institute for Symmetry", "member"),
]

# (author, title, body, replies); a reply is (author, body, stance, replies to it).
# The demo cites only papers and repositories whose real metadata ships in
# forum/papers/demo_data/, so every card is complete offline.
DEMO_THREADS = [
    ("ada", "Is attention really all you need for long-context reasoning?",
     "Attention is still the default answer to every sequence problem, and still the "
     "bottleneck past 100k tokens: FlashAttention-4 (arXiv:2603.05451) keeps squeezing the "
     "kernels for each new generation of hardware.\n\n"
     "Cost grows as $O(n^2)$ in sequence length $n$. Hybrids that interleave Transformer and "
     "Mamba layers, such as MaBERT (arXiv:2603.03001), claim longer contexts for less. "
     "Which tasks still need full attention?",
     [("grace", "Memory-heavy tasks may not need it at all. Before buying more context, read the "
                "cost-performance comparison of fact-based memory and long-context LLMs for "
                "persistent agents (arXiv:2603.04814).", "challenges",
       [("alan", "Do we even know what attention does with a long context? Some tokens soak up "
                 "attention mass whatever their relevance.", "question",
         [("emmy", "See arXiv:2603.05498 on massive activations and attention sinks: it studies "
                   "why the two keep occurring on the same tokens.", "evidence", [])])]),
      ("emmy", "The KV cache is the other half of the bill. LycheeCluster "
               "(https://arxiv.org/abs/2603.08453) indexes it hierarchically instead of "
               "scanning it linearly.", "supports", [])]),
    ("grace", "Scaling laws: compute-optimal or inference-optimal?",
     "Compute-optimal training says tokens and parameters should grow together. But models "
     "that will serve billions of queries are trained far past that point.\n\n"
     "```python\ndef chinchilla_tokens(params):\n    return 20 * params  # rule of thumb\n```\n\n"
     "Should we stop calling the Chinchilla ratio *optimal*?",
     [("alan", "Optimal for a fixed training budget, and nothing more. Once inference cost "
               "enters, cascades change the picture: COREA (arXiv:2603.03752) answers with a small "
               "model first and escalates only when its calibrated confidence is low.", "supports",
       [("ada", "The same idea one level down: RouteGoT (arXiv:2603.05818) routes each node of a "
                "graph of thoughts by how hard it is.", "evidence", [])]),
      ("emmy", "Do small models keep their safety when we lean on them this much? "
               "arXiv:2603.07017 asks whether safety can emerge from weak supervision.",
       "question", [])]),
    ("alan", "Citing code: does a fork deserve its own citation?",
     "When a paper's code lives in a fork, which repository should a debate cite? Take "
     "https://github.com/PyGithub/PyGithub and a personal fork of it, "
     "https://github.com/EnricoMi/PyGithub: same description, very different star counts. "
     "Has anyone settled on a rule?",
     [("ada", "Cite the commit you ran, in the repository you ran it from. Stars measure "
              "attention, not provenance.", "evidence", []),
      ("grace", "@alan does the fork still track upstream? `git remote -v` tells you in a second.",
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
    users, passwords, roles = {}, {}, {}
    for username, display_name, affiliation, role in DEMO_USERS:
        if accounts.find_by_username(username):
            username = f"{username}-{secrets.token_hex(2)}"
        passwords[username], roles[username] = secrets.token_urlsafe(12), role
        users[username.split("-")[0]] = accounts.register(
            username, f"{username}@demo.example", passwords[username],
            display_name=display_name, affiliation=affiliation, role=role,
            email_confirmed_at=utcnow(),  # demo addresses take no mail: confirmed from the start
            approved_at=utcnow())  # established members: their posts are public at once
    for author, title, body, replies in DEMO_THREADS:
        thread = threads.start_thread(users[author], title, body)
        _seed_replies(thread, users, replies, parent_id=None)
    papers, repos = load_recorded_metadata()  # bundled recordings: full cards, no network
    click.echo(f"Seeded {len(DEMO_USERS)} members and {len(DEMO_THREADS)} threads "
               f"({papers.fetched} papers and {repos.fetched} repositories with recorded details).")
    click.echo("Demo logins (shown once, not stored anywhere else):")
    for username, password in passwords.items():
        click.echo(f"  {username:<12} {password:<18} {roles[username]}")
    click.echo("On a real install, make the first admin with: flask --app wsgi users create-admin")


def _seed_replies(thread, users, replies, parent_id):
    for author, body, stance, children in replies:
        post = threads.reply(thread, users[author], body, parent_id=parent_id, stance=stance)
        _seed_replies(thread, users, children, parent_id=post.id)
