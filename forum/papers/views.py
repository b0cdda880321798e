"""Paper pages, BibTeX, the most discussed papers, and repository pages."""
from __future__ import annotations

from flask import Blueprint, Response, abort, redirect, render_template, url_for

from forum.papers import queries
from forum.papers.arxiv import normalize_arxiv_id
from forum.papers.bibtex import bibtex_entry
from forum.papers.github import normalize_repo
from forum.papers.models import Paper

bp = Blueprint("papers", __name__)


@bp.route("/papers")
def index():
    return render_template("papers/index.html", this_week=queries.most_discussed_this_week(),
                           all_time=queries.most_discussed_papers())


@bp.route("/papers/<path:ident>")
def paper(ident: str):
    as_bibtex = ident.endswith(".bib")
    arxiv_id = _canonical_or_404(ident[:-4] if as_bibtex else ident)
    canonical = arxiv_id + (".bib" if as_bibtex else "")
    if ident != canonical:
        return redirect(url_for(".paper", ident=canonical), 301)
    paper = queries.paper_by_arxiv_id(arxiv_id)
    if as_bibtex:
        return Response(bibtex_entry(paper or Paper(arxiv_id=arxiv_id, authors=[])),
                        mimetype="application/x-bibtex; charset=utf-8")
    citations = queries.paper_citations(paper.id) if paper else []
    repos = queries.repos_alongside_paper(paper.id) if paper else []
    return render_template("papers/paper.html", arxiv_id=arxiv_id, paper=paper,
                           arxiv=paper or Paper(arxiv_id=arxiv_id), citations=citations, repos=repos,
                           versions=queries.versions_discussed(paper, citations))


@bp.route("/repos/<owner>/<name>")
@bp.route("/repos/<owner>/<name>/<path:rest>")
def repository(owner: str, name: str, rest: str | None = None):
    full_name = normalize_repo(f"https://github.com/{owner}/{name}" + (f"/{rest}" if rest else ""))
    if full_name is None:
        abort(404, description=f"{owner}/{name} is not a valid GitHub repository name.")
    repo = queries.repo_by_name(full_name)
    canonical = repo.full_name if repo else full_name  # the spelling first cited, whatever the case
    if f"{owner}/{name}" != canonical or rest is not None:
        owner_part, name_part = canonical.split("/")
        return redirect(url_for(".repository", owner=owner_part, name=name_part), 301)
    citations = queries.repo_citations(repo.id) if repo else []
    papers = queries.papers_alongside_repo(repo.id) if repo else []
    return render_template("papers/repo.html", full_name=full_name, repo=repo,
                           citations=citations, papers=papers)


def _canonical_or_404(ident: str) -> str:
    arxiv_id = normalize_arxiv_id(ident)
    if arxiv_id is None:
        abort(404, description=f"{ident!r} is not an arXiv identifier. "
                               "Try a form like 1706.03762 or hep-th/9901001.")
    return arxiv_id
