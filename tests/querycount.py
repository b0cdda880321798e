"""Counting the SQL statements one request costs (transaction control not counted)."""
from sqlalchemy import event

from forum.extensions import db

NOT_COUNTED = ("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")


def count_queries(app, client, url):
    """(number of statements, page text) for a GET of ``url``, which must answer 200."""
    statements = []
    with app.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        if not statement.lstrip().upper().startswith(NOT_COUNTED):
            statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 200
    return len(statements), response.get_data(as_text=True)
