"""parse_atom on the recorded arXiv feeds (2016 and 2026 shapes), errors and hostile input."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

from forum.papers.arxiv import ArxivError, PaperMetadata, parse_atom, parse_atom_entries

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "arxiv"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def test_2016_search_feed():
    records = parse_atom(fixture("api_2016_search_au_del_maestro.xml"))
    assert len(records) == 10
    assert all(isinstance(r, PaperMetadata) for r in records)
    first = records[0]
    assert (first.arxiv_id, first.version) == ("1201.4869", 1)
    assert first.title == "A Luttinger Liquid Core Inside Helium-4 Filled Nanopores"
    assert first.authors == ["Adrian Del Maestro"]
    assert first.abstract.startswith("As helium-4 is cooled below 2.17 K it undergoes a phase transition to a "
                                     "fundamentally new state")
    assert "\n" not in first.abstract and "  " not in first.abstract
    assert first.categories == ["cond-mat.mes-hall", "cond-mat.other"]
    assert first.primary_category == "cond-mat.mes-hall"
    assert first.published == datetime(2012, 1, 23, 21, 15, 2, tzinfo=timezone.utc)
    assert first.updated.tzinfo is not None and first.updated.utcoffset().total_seconds() == 0
    assert first.doi == "10.1142/S021797921244002X"
    assert first.journal_ref == "Int. J. Mod. Phys. B, 26, 1244002 (2012)"
    assert first.comment == "26 pages, 10 figures"
    assert first.withdrawn is False


def test_2016_feed_old_style_ids_versions_and_wrapped_titles():
    records = {r.arxiv_id: r for r in parse_atom(fixture("api_2016_search_au_del_maestro.xml"))}
    assert {"cond-mat/0412498", "cond-mat/0603029", "cond-mat/0607501", "cond-mat/0702661"} <= set(records)
    old = records["cond-mat/0607501"]
    assert old.version == 2
    assert old.title.startswith("A striped supersolid phase and the search for deconfined quantum ")
    assert "\n" not in old.title
    assert old.authors == ["R. G. Melko", "A. Del Maestro", "A. A. Burkov"]
    assert records["1303.6954"].updated > records["1303.6954"].published
    assert records["0807.2873"].primary_category == "cond-mat.supr-con"


def test_2026_empty_feed_is_no_records():
    assert parse_atom(fixture("api_2026_id_list_0808.05394_empty.xml")) == []


def test_2026_error_feed_raises_with_arxivs_message():
    with pytest.raises(ArxivError, match="incorrect id format for abc"):
        parse_atom(fixture("api_2026_id_list_abc_error400.xml"))


def test_oai_pmh_record_is_not_an_atom_feed():
    with pytest.raises(ArxivError, match="Atom"):
        parse_atom(fixture("hepcrawl_oai_single_record_2018.xml"))


# Hand-written in the 2026 shape the README describes (namespaces on <feed>,
# https links, unwrapped summary, affiliation inside <author>, primary_category
# without scheme); not a recording.
FEED_2026 = b"""<?xml version='1.0' encoding='UTF-8'?>
<feed xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom" xmlns="http://www.w3.org/2005/Atom">
  <id>https://arxiv.org/api/abc</id>
  <title>arXiv Query: search_query=&amp;id_list=1706.03762,hep-th/9901001&amp;start=0&amp;max_results=2</title>
  <updated>2026-04-12T22:09:33Z</updated>
  <opensearch:totalResults>2</opensearch:totalResults>
  <entry>
    <id>https://arxiv.org/abs/1706.03762v7</id>
    <title>Attention Is All
      You Need</title>
    <updated>2023-08-02T00:41:18Z</updated>
    <link href="https://arxiv.org/abs/1706.03762v7" rel="alternate" type="text/html"/>
    <link href="https://arxiv.org/pdf/1706.03762v7" rel="related" type="application/pdf" title="pdf"/>
    <summary>The dominant sequence transduction models are based on complex recurrent or convolutional neural networks.</summary>
    <category term="cs.CL" scheme="http://arxiv.org/schemas/atom"/>
    <category term="cs.LG" scheme="http://arxiv.org/schemas/atom"/>
    <published>2017-06-12T17:57:34Z</published>
    <arxiv:comment>15 pages, 5 figures</arxiv:comment>
    <arxiv:primary_category term="cs.CL"/>
    <author><name>Ashish Vaswani</name><arxiv:affiliation>Google Brain</arxiv:affiliation></author>
    <author><name>Noam  Shazeer</name></author>
  </entry>
  <entry>
    <id>https://arxiv.org/abs/hep-th/9901001v1</id>
    <title>Withdrawn paper</title>
    <updated>1999-01-05T10:00:00-05:00</updated>
    <summary>This paper has been withdrawn by the author due to an error.</summary>
    <category term="hep-th" scheme="http://arxiv.org/schemas/atom"/>
    <published>1999-01-04T10:00:00-05:00</published>
    <arxiv:comment>This paper has been withdrawn</arxiv:comment>
    <author><name>A. Author</name></author>
  </entry>
</feed>"""


def test_2026_shape():
    first, second = parse_atom(FEED_2026)
    assert (first.arxiv_id, first.version) == ("1706.03762", 7)
    assert first.title == "Attention Is All You Need"
    assert first.authors == ["Ashish Vaswani", "Noam Shazeer"]
    assert first.primary_category == "cs.CL" and first.categories == ["cs.CL", "cs.LG"]
    assert first.published == datetime(2017, 6, 12, 17, 57, 34, tzinfo=timezone.utc)
    assert first.doi is None and first.journal_ref is None and first.withdrawn is False
    assert (second.arxiv_id, second.version, second.withdrawn) == ("hep-th/9901001", 1, True)
    assert second.primary_category == "hep-th"  # no primary_category element: first category
    assert second.updated == datetime(1999, 1, 5, 15, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("garbage", [
    b"", b"   ", b"not xml at all", b"<feed", b"\x00\xff\xfe garbage",
    b"<html><body>Service Unavailable</body></html>",
    b'{"error": "json"}',
    FEED_2026[:400],
])
def test_garbled_answers_raise(garbage):
    with pytest.raises(ArxivError):
        parse_atom(garbage)


def test_refuses_doctype_and_entities():
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol2;</title></feed>')
    with pytest.raises(ArxivError, match="DOCTYPE"):
        parse_atom(bomb)
    external = (b'<?xml version="1.0"?><!DOCTYPE feed [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                b'<feed xmlns="http://www.w3.org/2005/Atom">&x;</feed>')
    with pytest.raises(ArxivError):
        parse_atom(external)


def test_entry_with_unexpected_id_raises():
    feed = b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>https://example.org/x</id><title>x</title></entry></feed>'
    with pytest.raises(ArxivError, match="unexpected entry id"):
        parse_atom(feed)


def test_one_malformed_entry_fails_only_itself():
    broken = (FIXTURES / "api_2016_search_au_del_maestro.xml").read_bytes().replace(
        b"<published>2012-01-23T21:15:02Z</published>", b"<published>soon</published>", 1)
    feed = parse_atom_entries(broken)
    assert len(feed.records) == 9 and "1201.4869" not in {r.arxiv_id for r in feed.records}
    assert "unreadable date" in feed.failed["1201.4869"] and feed.unreadable == []
    with pytest.raises(ArxivError, match="unreadable"):
        parse_atom(broken)  # the strict form still refuses it


def test_an_entry_whose_id_is_unreadable_is_reported_not_raised():
    feed = parse_atom_entries(b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><id>https://example.org/x'
                              b'</id><title>x</title></entry></feed>')
    assert feed.records == [] and "unexpected entry id" in feed.unreadable[0]


def test_records_keep_the_dates_of_the_versions_the_feed_names():
    record = parse_atom((FIXTURES / "api_2016_search_au_del_maestro.xml").read_bytes())[0]
    assert record.version_dates[1] == record.published
    assert record.version_dates[record.version] == record.updated
