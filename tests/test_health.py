import pytest
from sqlalchemy import event

from forum.extensions import db


def test_healthz_says_ok_in_plain_text(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ok"
    assert response.mimetype == "text/plain"
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_runs_no_sql(app, client):
    seen = []
    with app.app_context():
        engine = db.engine
    listener = lambda conn, cursor, statement, *args: seen.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        client.get("/healthz")
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert seen == []


def test_healthz_refuses_post(client):
    assert client.post("/healthz").status_code == 405


def _with_index(app):
    import os
    os.makedirs(app.config["SEARCH_INDEX_DIR"], exist_ok=True)


def test_readyz_says_ready_when_database_and_index_answer(app, client):
    _with_index(app)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "ready"
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.no_search_index
def test_readyz_is_503_without_the_search_index(app, client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "not ready: search index unavailable"


def test_readyz_is_503_when_the_database_is_down(tmp_path):
    from forum import create_app
    from tests.conftest import _base_config
    app = create_app({**_base_config(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": "postgresql://postgres@127.0.0.1:1/unreachable"})
    _with_index(app)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_data(as_text=True) == "not ready: database unavailable"
    assert app.test_client().get("/healthz").status_code == 200  # alive all the same


def test_readyz_refuses_post(client):
    assert client.post("/readyz").status_code == 405
