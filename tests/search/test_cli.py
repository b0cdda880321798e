"""`flask search sync` and `flask search reindex` say in one line why they cannot work, and exit 1."""
import pytest

from forum import create_app
from tests.conftest import _base_config
from tests.factories import make_thread, make_user


def _one_line_failure(result, *words: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.fixture
def unwritable(app, tmp_path):
    """Rows pending, and an index folder that cannot be made (a file is in the way)."""
    app.config["SEARCH_INDEXER"] = "off"
    with app.app_context():
        make_thread(make_user(), title="Pending change")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the index folder should be")
    app.config["SEARCH_INDEX_DIR"] = str(blocker / "index")
    return app


def test_sync_into_an_unwritable_folder_fails_in_one_line(unwritable, runner):
    _one_line_failure(runner.invoke(args=["search", "sync"]), "not writable")


def test_reindex_into_an_unwritable_folder_fails_in_one_line(unwritable, runner):
    _one_line_failure(runner.invoke(args=["search", "reindex", "--procs", "1"]), "not writable")


@pytest.mark.no_search_index
def test_sync_without_an_index_says_to_reindex(app, runner):
    app.config["SEARCH_INDEXER"] = "off"
    with app.app_context():
        make_thread(make_user(), title="Never indexed")
    _one_line_failure(runner.invoke(args=["search", "sync"]), "search reindex", "1 pending")
    result = runner.invoke(args=["search", "reindex", "--procs", "1"])
    assert result.exit_code == 0 and "Indexed 1 documents" in result.output, result.output
    result = runner.invoke(args=["search", "sync"])
    assert result.exit_code == 0 and "0 still pending" in result.output, result.output


@pytest.mark.parametrize("command", [["search", "sync"], ["search", "reindex", "--procs", "1"]])
def test_database_down_fails_in_one_line(tmp_path, command):
    app = create_app({**_base_config(tmp_path),
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'no' / 'such' / 'forum.db'}"})
    _one_line_failure(app.test_cli_runner().invoke(args=command), "database cannot be used")


@pytest.mark.parametrize("query, note", [
    ("before:0001-01-01", "outside the dates a post can have"),
    ("after:9999-12-31 ideas", "outside the dates a post can have"),
    ("after:1899-12-31 before:3000-01-01", "outside the dates a post can have"),
])
def test_extreme_dates_are_a_note_never_an_error_or_a_rebuild(app, client, query, note):
    with app.app_context():
        make_thread(make_user(), title="Ideas worth dating")
        from forum.search.backend import get_backend
        generation = get_backend().index._read_pointer()
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    assert note in response.get_data(as_text=True)
    with app.app_context():
        assert get_backend().index._read_pointer() == generation  # no rebuild
