"""smot render: arrows point from subject to object, labels keep off heads, videos and sheets are whole."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from conftest import BENSMOT_MINI, run

from smot import visual
from smot.records import Caption, Frame, Interaction, Video
from smot.stages.render import RenderConfig, VideoResults, annotate, contact_sheet


def colored(image: np.ndarray, color) -> np.ndarray:
    return np.all(np.abs(image.astype(int) - np.array(color)) < 40, axis=2)


def test_the_arrow_head_is_at_the_object():
    """Left box 1 -> right box 2: near the object end the arrow is tall (its barbs), near the subject thin."""
    image = np.zeros((200, 400, 3), np.uint8)
    style = visual.Style.for_height(200)
    subject, object_ = np.array([20, 40, 80, 190.0]), np.array([300, 40, 360, 190.0])
    visual.draw_interaction(image, subject, object_, "x", 1, style)
    mask = colored(image, visual.track_color(1))
    # anchors at x=50 and x=330 (box centres), the line at y = 40 + 150 / 3 = 90
    columns = np.nonzero(mask.any(axis=0))[0]
    assert 50 < columns.min() < 70 and 310 < columns.max() < 330  # stops short of both anchors
    def extent(column):  # the arrow's height in one pixel column
        rows = np.nonzero(mask[:, column])[0]
        return rows.max() - rows.min() + 1

    assert extent(columns.max() - 6) > 2 * extent(columns.min() + 3)
    # the other direction mirrors it
    image[:] = 0
    visual.draw_interaction(image, object_, subject, "x", 1, style)
    mask = colored(image, visual.track_color(1))
    columns = np.nonzero(mask.any(axis=0))[0]
    assert extent(columns.min() + 6) > 2 * extent(columns.max() - 3)


def test_the_two_directions_of_a_pair_do_not_overlap():
    style = visual.Style.for_height(360)
    a, b = np.array([100, 50, 180, 250.0]), np.array([300, 60, 370, 250.0])
    one, two = np.zeros((360, 640, 3), np.uint8), np.zeros((360, 640, 3), np.uint8)
    label_one = visual.draw_interaction(one, a, b, "approach.v.01", 1, style, offset=style.line_height)
    label_two = visual.draw_interaction(two, b, a, "embrace.v.02", 2, style, offset=style.line_height)
    lines_one, lines_two = colored(one, visual.track_color(1)), colored(two, visual.track_color(2))
    assert not (lines_one & lines_two).any()
    assert label_one[3] <= label_two[1] or label_two[3] <= label_one[1]  # labels on either side


def test_label_placement_prefers_below_and_keeps_off_heads_and_other_labels():
    frame = (640, 360)
    box = np.array([100, 50, 180, 250.0])
    # below the box when free: (x1, y2 + 3)
    assert visual.place_label(box, (120, 40), frame, [], []) == (100, 253)
    # below is taken by another label: above the box, (x1, y1 - h - 3)
    assert visual.place_label(box, (120, 40), frame, [(90, 240, 300, 300)], []) == (100, 7)
    # the box is at the bottom of the frame and above is a head: to its right (x2 + 3, y1)
    low = np.array([100, 200, 180, 350.0])
    assert visual.place_label(low, (120, 40), frame, [], [(100, 150, 180, 170)]) == (183, 200)


def test_wrap_cuts_long_captions_with_an_ellipsis():
    assert visual.wrap("a b c d e f g h", 5, 2) == ["a b c", "d..."]
    assert visual.wrap("  spaced   out  ", 20, 3) == ["spaced out"]


def results_of_two_people(frames: int = 4) -> VideoResults:
    video = Video(id="s/c", frames=frames, width=320, height=180)
    records = [Frame(video="s/c", frame=t, boxes=np.array([[20.0 + t, 40, 70 + t, 170], [200, 40, 250, 170]]),
                     scores=np.ones(2), ids=np.array([1, 2])) for t in range(1, frames + 1)]
    records += [Caption(video="s/c", track=1, text="A man in a red shirt walks right."),
                Interaction(video="s/c", subject=1, object=2, predicate="approach.v.01", score=0.9),
                Interaction(video="s/c", subject=2, object=1, predicate="look.v.01", score=0.1)]
    return VideoResults.collect(video, records, min_score=0.5)


def test_annotate_draws_every_frame_and_filters_weak_interactions():
    results = results_of_two_people()
    assert results.interactions == {(1, 2): ["approach.v.01"]}
    images = [np.zeros((180, 320, 3), np.uint8) for _ in range(4)]
    out = list(annotate(images, results, RenderConfig()))
    assert len(out) == 4 and all(image.any() for image in out)
    with pytest.raises(ValueError):  # frames and images must pair up
        list(annotate(images[:3], results, RenderConfig()))


def test_contact_sheet_grid():
    tiles = [np.full((90, 160, 3), i * 40, np.uint8) for i in range(5)]
    sheet = contact_sheet(tiles, columns=3, width=480, labels=[str(i) for i in range(5)])
    assert sheet.shape == (180, 480, 3)
    assert (sheet[100:170, 330:470] == 255).all()  # the sixth cell is empty


def test_render_command_writes_a_video_and_a_sheet(tmp_path):
    stream = tmp_path / "gt.smot"
    assert run(["convert", BENSMOT_MINI, "-o", stream]).code == 0
    video, sheet = tmp_path / "out.mp4", tmp_path / "sheet.png"
    result = run(["render", BENSMOT_MINI, stream, "-o", video, "--contact-sheet", sheet, "--codec", "mp4v",
                  "--sheet-frames", "3", "--sheet-width", "960"])
    assert result.code == 0, result.stderr
    capture = cv2.VideoCapture(str(video))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 3
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (640, 360)
    capture.release()
    assert cv2.imread(str(sheet)).shape == (180, 960, 3)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["gt.smot", "out.mp4", "sheet.png"]


def test_render_rejects_what_it_cannot_draw(tmp_path):
    det = tmp_path / "det.txt"
    det.write_text("1,-1,1,1,10,10,0.9,-1,-1,-1\n")
    (tmp_path / "det.smot").write_bytes(run(["convert", det]).stdout)
    result = run(["render", BENSMOT_MINI, tmp_path / "det.smot", "-o", tmp_path / "x.mp4"])
    assert result.code == 3 and "expected smot.tracks or smot.fused" in result.stderr
    res = tmp_path / "res.txt"
    res.write_text("1,1,1,1,10,10,1,-1,-1,-1\n")
    (tmp_path / "res.smot").write_bytes(run(["convert", res, "--frames", "5"]).stdout)
    result = run(["render", BENSMOT_MINI, tmp_path / "res.smot", "-o", tmp_path / "x.mp4"])
    assert result.code == 3 and "the source has 3 frames, the stream's video 'res' has 5" in result.stderr
    assert not (tmp_path / "x.mp4").exists()
    assert run(["render", BENSMOT_MINI, tmp_path / "res.smot"]).code == 2  # nothing to write
