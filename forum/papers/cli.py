"""``flask --app wsgi papers refresh``: fetch metadata that is missing, failed and due, or older than 7 days."""
from __future__ import annotations

import click
from flask import current_app
from flask.cli import AppGroup

from forum.papers import refresh
from forum.papers.arxiv import ArxivClient
from forum.papers.github import GitHubClient

papers_cli = AppGroup("papers", help="arXiv and GitHub metadata.")


@papers_cli.command("refresh")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many of each kind.")
def refresh_command(limit: int | None) -> None:
    """Fetch paper and repository details that are missing, due again, or older than 7 days."""
    try:
        http_client = current_app.config.get("HTTP_CLIENT") or refresh.default_http_client()
    except refresh.ContactMissing as error:
        raise click.ClickException(str(error)) from error
    paper_ids, repo_names = refresh.papers_due(limit), refresh.repos_due(limit)
    with click.progressbar(length=len(paper_ids), label="arXiv papers") as bar:
        papers = refresh.refresh_papers(ArxivClient(http_client), paper_ids, progress=bar.update)
    with click.progressbar(length=len(repo_names), label="GitHub repositories") as bar:
        repos = refresh.refresh_repos(GitHubClient(http_client, token=current_app.config.get("GITHUB_TOKEN")),
                                      repo_names, progress=bar.update)
    for error in papers.errors + repos.errors:
        click.echo(f"note: {error}", err=True)
    click.echo(f"{papers.line('papers')}; {repos.line('repositories')}.")
