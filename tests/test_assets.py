"""Static files under content-hashed names, cached for a year; code styles only where there is code."""
import hashlib
import re
from pathlib import Path

from tests.factories import make_thread, make_user

STATIC = Path(__file__).resolve().parent.parent / "static"


def _stylesheets(page: str) -> list[str]:
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)


def test_pages_link_hashed_names_served_immutable(client):
    page = client.get("/").get_data(as_text=True)
    site_css = next(href for href in _stylesheets(page) if "/css/site." in href)
    digest = hashlib.sha256((STATIC / "css/site.css").read_bytes()).hexdigest()[:12]
    assert site_css == f"/static/css/site.{digest}.css"
    response = client.get(site_css)
    assert response.status_code == 200
    assert response.get_data() == (STATIC / "css/site.css").read_bytes()
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    scripts = re.findall(r'<script src="([^"]+)"', page)
    assert scripts and all(re.search(r"\.[0-9a-f]{12}\.js$", src) for src in scripts)


def test_plain_names_still_work_but_revalidate(client):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-cache"


def test_a_wrong_hash_or_a_missing_file_is_404(client):
    assert client.get("/static/css/site.000000000000.css").status_code == 404
    assert client.get("/static/css/nothing.css").status_code == 404
    assert client.get("/static/../forum/config.py").status_code == 404


def test_code_stylesheet_only_on_pages_with_code(app, client):
    with app.app_context():
        author = make_user()
        plain = make_thread(author, title="Plain words", body="No code here, only *emphasis*.")
        coded = make_thread(author, title="With code", body="```python\nprint('hi')\n```")
    def has_code_css(url):
        return any("/css/code." in href for href in _stylesheets(client.get(url, follow_redirects=True).get_data(as_text=True)))
    assert not has_code_css("/")
    assert not has_code_css(f"/t/{plain.id}")
    assert has_code_css(f"/t/{coded.id}")
