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
