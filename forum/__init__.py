"""The forum: an open idea-exchange for researchers. ``create_app`` builds it."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

from forum import config as settings
from forum.extensions import csrf, db, limiter, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    # No static route of Flask's own: forum/assets.py serves static files under hashed names.
    app = Flask(__name__, instance_relative_config=True, static_folder=None)
    app.static_folder = str(Path(__file__).resolve().parent.parent / "static")
    app.static_url_path = "/static"
    # Ids in URLs fit the databases' 32-bit integer columns: a larger one is a 404, never a
    # 500 from PostgreSQL ("integer out of range"). Set before any blueprint adds a route.
    from werkzeug.routing import IntegerConverter

    class DatabaseIdConverter(IntegerConverter):
        def __init__(self, map, fixed_digits=0, min=None, max=2**31 - 1, signed=False):
            super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    app.url_map.converters["int"] = DatabaseIdConverter
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_object(settings.Defaults)
    app.config.update({k: v for k, v in settings.from_environment().items() if v is not None})
    app.config.update(config or {})
    _fill_in_defaults(app)
    from forum.accounts import hashing
    hashing.init_app(app)
    from forum.search import backend as search_backend
    search_backend.init_app(app)

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    if app.config.get("TRUSTED_PROXIES"):
        # Behind N reverse proxies the client's address is in X-Forwarded-For; without this every
        # visitor would share the proxy's address, and so its rate limits and login throttle.
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    with app.app_context():
        from forum.database import configure_sqlite
        configure_sqlite(db.engine)

    from forum import assets, cli, cli_errors, errors, opendata, pagecache, request_guard, security, templating
    from forum.accounts import cli as accounts_cli
    from forum.accounts.views import bp as accounts_bp
    from forum.api.views import bp as api_bp
    from forum.digest import cli as digest_cli
    from forum.digest.views import bp as digest_bp
    from forum.feeds.views import bp as feeds_bp
    from forum.health import bp as health_bp
    from forum.moderation.views import bp as moderation_bp
    from forum.notifications import cli as notifications_cli
    from forum.notifications.views import bp as notifications_bp
    from forum.papers import linking as paper_linking  # noqa: F401  (registers its listener)
    from forum.papers.cli import papers_cli
    from forum.papers.views import bp as papers_bp
    from forum.search import cli as search_cli, outbox as search_outbox
    from forum.search.views import bp as search_bp
    from forum.search.postgres import models as _pg_search_models  # noqa: F401  (in every schema)
    from forum.threads import widgets as thread_widgets
    from forum.threads.views import bp as threads_bp

    app.register_blueprint(accounts_bp)
    app.register_blueprint(api_bp)
    accounts_cli.register(app)
    app.register_blueprint(digest_bp)
    app.register_blueprint(feeds_bp)
    digest_cli.register(app)
    app.register_blueprint(health_bp)
    app.register_blueprint(threads_bp)
    app.register_blueprint(search_bp)
    app.register_blueprint(papers_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(moderation_bp)
    notifications_cli.register(app)
    app.cli.add_command(papers_cli)
    search_outbox.register_listeners()
    search_cli.register(app)
    errors.register(app)
    assets.register(app)
    security.register(app)
    request_guard.register(app)
    templating.register(app)
    thread_widgets.register(app)
    pagecache.register(app)
    cli.register(app)
    opendata.register(app)
    cli_errors.register(app)  # last: every command is in app.cli by now
    return app


def _fill_in_defaults(app: Flask) -> None:
    """Settings that depend on the instance folder, decided once the folder is known."""
    instance = Path(app.instance_path)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'forum.db'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = settings.normalize_database_url(
        app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A server may drop idle connections (restart, failover, idle timeout): test each one
        # as it leaves the pool. A SQLite connection is a file handle that cannot go stale, and
        # the ping was a statement of its own on every request.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
            "pool_pre_ping": True, **(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})}
    if not app.config.get("SEARCH_INDEX_DIR"):
        app.config["SEARCH_INDEX_DIR"] = str(instance / "search-index")
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = _instance_secret_key(instance / "secret_key")
    if not app.config.get("RATELIMIT_STORAGE_URI"):
        # Redis when given, so every worker process counts in one place; else this process's memory.
        app.config["RATELIMIT_STORAGE_URI"] = app.config.get("REDIS_URL") or "memory://"
    if app.config.get("PREFERRED_URL_SCHEME") == "https":
        app.config["SESSION_COOKIE_SECURE"] = app.config["REMEMBER_COOKIE_SECURE"] = True


def _instance_secret_key(path: Path) -> str:
    """A random key made on first start and kept, so sessions survive restarts."""
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker made it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key
