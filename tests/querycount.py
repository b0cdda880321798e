"""Counting the SQL statements one request costs (transaction control not counted), and
reading the plan a database makes of one statement."""
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


def query_plan(statement) -> str:
    """The plan the session's database makes of ``statement`` (its parameters bound), as text.

    SQLite's is ``EXPLAIN QUERY PLAN``. The test tables are nearly empty, and PostgreSQL
    would rightly scan them, so there sequential scans are turned off for the one
    statement: the plan shows which indexes it can use. Run inside an app context; the
    session is rolled back.
    """
    connection = db.session.connection()
    sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
    if connection.dialect.name == "sqlite":
        explain = "EXPLAIN QUERY PLAN "
    else:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        explain = "EXPLAIN "
    try:
        return "\n".join(str(row) for row in connection.exec_driver_sql(explain + sql).all())
    finally:
        db.session.rollback()
