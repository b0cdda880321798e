"""Counting the SQL statements one request costs (transaction control not counted)."""
from sqlalchemy import event

from forum.extensions import db

NOT_COUNTED = ("BEGIN", "PRAGMA", "COMMIT", "ROLLBACK")


def statements_of(app, client, url) -> tuple[list[str], str]:
    """(the SQL statements run, page text) for a GET of ``url``, which must answer 200."""
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
    return statements, response.get_data(as_text=True)


def count_queries(app, client, url):
    """(number of statements, page text) for a GET of ``url``, which must answer 200."""
    statements, page = statements_of(app, client, url)
    return len(statements), page
