"""The format pages document every field of every record kind."""

from __future__ import annotations

from dataclasses import fields

import pytest
from conftest import ROOT

from smot.records import RECORD_TYPES

PAGES = {
    "header": "envelope.md", "video": "envelope.md", "end": "envelope.md",
    "frame": ("detections.md", "tracks.md"),
    "caption": "semantics.md", "summary": "semantics.md", "interaction": "semantics.md",
    "trajectory_feature": "fused.md", "video_feature": "fused.md",
}


@pytest.mark.parametrize("kind", sorted(RECORD_TYPES))
def test_every_field_is_documented(kind):
    pages = PAGES[kind] if isinstance(PAGES[kind], tuple) else (PAGES[kind],)
    for page in pages:
        text = (ROOT / "formats" / page).read_text()
        assert f"`{kind}`" in text or f"{kind}:" in text, f"{page} does not name the {kind} record"
        for field in fields(RECORD_TYPES[kind]):
            if kind == "frame" and page == "detections.md" and field.name in ("ids", "det_index"):
                continue  # detections carry no track ids
            assert f"`{field.name}`" in text, f"{page} does not document {kind}.{field.name}"


def test_format_index_links_every_page():
    index = (ROOT / "formats" / "README.md").read_text()
    for page in (ROOT / "formats").glob("*.md"):
        if page.name != "README.md":
            assert f"({page.name})" in index, f"formats/README.md does not link {page.name}"


def test_command_reference_is_current():
    """docs/cli.md lists every command and option, generated from the code (`make docs`)."""
    from smot import reference

    assert (ROOT / "docs" / "cli.md").read_text() == reference.render(), "run `make docs` and commit docs/cli.md"


def test_readme_shows_every_command():
    from smot import reference

    readme = (ROOT / "README.md").read_text()
    for name in reference.commands():
        assert f"smot {name}" in readme, f"README.md does not show `smot {name}`"
