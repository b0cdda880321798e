"""The OpenAPI 3.1 document: the API's contract, served at ``/api/openapi.json``.

Tests validate it (openapi-spec-validator) and fuzz every operation in it
with schemathesis, checking each answer against these schemas; so a change to
an answer's shape must change this file, and the other way round.
"""
from __future__ import annotations

from flask import current_app, request

from forum.api import params
from forum.search import services as search_services
from forum.threads import ranking
from forum.threads.models import STANCES

STRING = {"type": "string"}
NULLABLE_STRING = {"type": ["string", "null"]}
DATE_TIME = {"type": "string", "format": "date-time"}
NULLABLE_DATE_TIME = {"type": ["string", "null"], "format": "date-time"}
INTEGER = {"type": "integer"}
STRINGS = {"type": "array", "items": STRING}
NON_BLANK = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"  # some text, and no NUL anywhere


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _object(properties: dict, required: list[str] | None = None) -> dict:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required}


def _schemas() -> dict:
    member_ref = {"username": STRING, "display_name": STRING, "url": STRING, "api_url": STRING}
    thread_summary = {
        "id": INTEGER, "title": STRING, "author": _ref("MemberRef"), "created_at": DATE_TIME,
        "edited_at": NULLABLE_DATE_TIME, "last_activity_at": DATE_TIME, "score": INTEGER,
        "reply_count": INTEGER, "locked": {"type": "boolean"}, "pinned": {"type": "boolean"},
        "tags": STRINGS, "url": STRING, "api_url": STRING, "feed_url": STRING}
    stance_counts = _object({name: INTEGER for name in STANCES})
    paper = {
        "arxiv_id": STRING, "title": NULLABLE_STRING, "authors": STRINGS,
        "abstract": NULLABLE_STRING, "categories": STRINGS, "primary_category": NULLABLE_STRING,
        "published_at": NULLABLE_DATE_TIME, "updated_at": NULLABLE_DATE_TIME,
        "doi": NULLABLE_STRING, "journal_ref": NULLABLE_STRING, "withdrawn": {"type": "boolean"},
        "pending": {"type": "boolean"}, "arxiv_url": STRING, "url": STRING, "api_url": STRING,
        "feed_url": STRING}
    repository = {
        "full_name": STRING, "description": NULLABLE_STRING, "stars": {"type": ["integer", "null"]},
        "language": NULLABLE_STRING, "license": NULLABLE_STRING, "topics": STRINGS,
        "pushed_at": NULLABLE_DATE_TIME, "pending": {"type": "boolean"},
        "not_found": {"type": "boolean"}, "github_url": STRING, "url": STRING, "api_url": STRING,
        "feed_url": STRING}
    debates = {"debates": {"type": "array", "items": _ref("ThreadSummary")}}
    return {
        "Error": _object({"error": _object({"status": INTEGER, "message": STRING})}),
        "MemberRef": _object(member_ref),
        "ThreadSummary": _object(thread_summary),
        "Citations": _object({"papers": STRINGS, "repositories": STRINGS}),
        "StanceCounts": stance_counts,
        "Reply": {"anyOf": [_ref("PublicReply"), _ref("RemovedReply")]},
        "RemovedReply": {**_object({"removed": {"const": True},
                                    "replies": {"type": "array", "items": _ref("Reply")}}),
                         "description": "A deleted, held or hidden reply with public replies "
                                        "below it: its place in the tree, nothing of its text."},
        "PublicReply": _object({
            "id": INTEGER, "parent_id": {"type": ["integer", "null"]}, "author": _ref("MemberRef"),
            "stance": {"type": ["string", "null"], "enum": [*STANCES, None]}, "score": INTEGER,
            "upvotes": INTEGER, "downvotes": INTEGER, "created_at": DATE_TIME,
            "edited_at": NULLABLE_DATE_TIME, "body": STRING,
            "body_html": {**STRING, "description": "Sanitized HTML, as the page shows it."},
            "citations": _ref("Citations"), "url": STRING,
            "replies": {"type": "array", "items": _ref("Reply")}}),
        "ThreadDetail": {"allOf": [_ref("ThreadSummary"), _object({
            "body": STRING, "body_html": STRING, "citations": _ref("Citations"),
            "stance_counts": _ref("StanceCounts"), "participants": INTEGER,
            "replies_page": INTEGER, "replies_pages": INTEGER,
            "replies": {"type": "array", "items": _ref("Reply")}})]},
        "Paper": _object(paper),
        "PaperDetail": {"allOf": [_ref("Paper"), _object(debates)]},
        "Repository": _object(repository),
        "RepositoryDetail": {"allOf": [_ref("Repository"), _object(debates)]},
        "Member": _object({**member_ref, "affiliation": STRING, "bio": STRING,
                           "joined_at": DATE_TIME, "karma": INTEGER,
                           "stance_counts": _ref("StanceCounts"), "feed_url": STRING,
                           "recent_threads": {"type": "array", "items": _ref("ThreadSummary")}}),
        "SearchResult": {"anyOf": [
            _object({"kind": {"const": "thread"}, "thread": _ref("ThreadSummary"),
                     "matches": {"type": "array", "items": _object({
                         "kind": STRING, "post_id": {"type": ["integer", "null"]},
                         "snippet_html": STRING})}}),
            _object({"kind": {"const": "paper"}, "paper": _ref("Paper"),
                     "citing_threads": INTEGER})]},
    }


def _errors(*codes: int) -> dict:
    words = {400: "Bad parameter (the message says which)", 404: "Not found",
             405: "Method not allowed", 406: "The client does not accept JSON",
             410: "Deleted", 429: "Too many requests (see Retry-After)"}
    return {str(code): {"description": words[code], "content": {
        "application/json": {"schema": _ref("Error")}}}
        for code in (*codes, 400, 406, 429)}


def _ok(description: str, schema: dict) -> dict:
    return {"200": {"description": description, "content": {"application/json": {"schema": schema}},
                    "headers": {"Access-Control-Allow-Origin": {"schema": {"const": "*"}}}}}


def _query(name: str, schema: dict, description: str) -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}


def _path(name: str, schema: dict, description: str, example) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema,
            "description": description, "example": example}


LIMIT = _query("limit", {"type": "integer", "minimum": 1, "maximum": params.MAX_LIMIT,
                         "default": params.DEFAULT_LIMIT}, "Items per answer.")
CURSOR = _query("cursor", STRING, "Opaque: copy it from `next` (or just follow `next`).")


def _listing(key: str, item: str) -> dict:
    return _object({key: {"type": "array", "items": _ref(item)}, "next": NULLABLE_STRING})


def _paths() -> dict:
    get = lambda summary, parameters, responses, op_id: {  # noqa: E731
        "get": {"summary": summary, "operationId": op_id, "parameters": parameters,
                "responses": responses}}
    return {
        "/api/v1/threads": get(
            "Threads of a front-page tab, optionally of one tag",
            [_query("tab", {"enum": list(ranking.TABS), "default": "hot"}, "Front-page tab."),
             _query("period", {"enum": list(ranking.TOP_PERIODS), "default": "week"},
                    "Period of the top tab."),
             _query("tag", {"type": "string", "pattern": "^[a-z0-9][a-z0-9.-]{0,31}$"},
                    "Only threads with this tag."), LIMIT, CURSOR],
            {**_ok("A page of threads", _listing("threads", "ThreadSummary")), **_errors()},
            "listThreads"),
        "/api/v1/threads/{thread_id}": get(
            "A thread with its reply tree (100 top-level replies per page, with their subtrees)",
            [_path("thread_id", {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                   "The thread's id.", 1),
             _query("sort", {"enum": list(ranking.REPLY_SORTS), "default": "best"},
                    "Order of sibling replies."),
             _query("page", {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1},
                    "Page of top-level replies.")],
            {**_ok("The thread", _object({"thread": _ref("ThreadDetail"), "next": NULLABLE_STRING})),
             **_errors(404, 410)}, "getThread"),
        "/api/v1/papers": get(
            "Papers cited in public debates, most recently first cited first",
            [LIMIT, CURSOR], {**_ok("A page of papers", _listing("papers", "Paper")), **_errors()},
            "listPapers"),
        "/api/v1/papers/{arxiv_id}": get(
            "A paper and the debates citing it",
            [_path("arxiv_id", {"type": "string", "minLength": 1},
                   "An arXiv identifier in any form arXiv uses (1706.03762, hep-th/9901001).",
                   "1706.03762")],
            {**_ok("The paper", _object({"paper": _ref("PaperDetail")})), **_errors(404)},
            "getPaper"),
        "/api/v1/repositories": get(
            "GitHub repositories cited in public debates",
            [LIMIT, CURSOR],
            {**_ok("A page of repositories", _listing("repositories", "Repository")), **_errors()},
            "listRepositories"),
        "/api/v1/repositories/{owner}/{name}": get(
            "A repository and the debates citing it",
            [_path("owner", {"type": "string", "pattern": "^[A-Za-z0-9-]{1,39}$"}, "Owner.", "karpathy"),
             _path("name", {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,100}$"}, "Name.", "nanoGPT")],
            {**_ok("The repository", _object({"repository": _ref("RepositoryDetail")})),
             **_errors(404)}, "getRepository"),
        "/api/v1/members/{username}": get(
            "A member's public profile",
            [_path("username", {"type": "string", "pattern": "^[A-Za-z0-9_-]{3,30}$"},
                   "Username.", "ada")],
            {**_ok("The member", _object({"member": _ref("Member")})), **_errors(404)},
            "getMember"),
        "/api/v1/search": get(
            "Search every public debate, in the search page's query language",
            [{**_query("q", {"type": "string", "maxLength": params.MAX_QUERY_LENGTH, "pattern": NON_BLANK},
                       "The query, e.g. `tag:rl reward shaping`."), "required": True},
             _query("sort", {"enum": list(search_services.SORTS), "default": "relevance"},
                    "Result order."),
             _query("page", {"type": "integer", "minimum": 1, "maximum": search_services.MAX_PAGE,
                             "default": 1}, "Page of results.")],
            {**_ok("Results", _object({"query": STRING, "sort": STRING, "page": INTEGER,
                                       "results": {"type": "array", "items": _ref("SearchResult")},
                                       "suggestion": NULLABLE_STRING, "notes": STRINGS,
                                       "next": NULLABLE_STRING})),
             **_errors()}, "search"),
    }


def document() -> dict:
    site = current_app.config["FORUM_SITE_NAME"]
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{site} API", "version": "1.0.0",
                 "description": "Read-only, public JSON API: what a logged-out visitor can see. "
                                "Listings page with `next` links. Errors are JSON with the "
                                "status code the page would answer.",
                 "license": {"name": current_app.config.get("CONTENT_LICENSE") or "CC BY 4.0"}},
        "servers": [{"url": request.host_url.rstrip("/")}],
        "paths": _paths(),
        "components": {"schemas": _schemas()},
    }
