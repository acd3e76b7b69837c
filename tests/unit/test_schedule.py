"""The order in which a stage's chapters are handed to the workers: longest first."""

from __future__ import annotations

from veiligverder.pipeline.chapters import CHAPTERS, Chapter
from veiligverder.pipeline.execute import longest_first


def names(todo) -> list[str]:
    return [item[0].name for item in todo]


def test_estimates_order_a_clean_build_and_ties_keep_the_book_order():
    todo = [(Chapter("a"), "key-a"), (Chapter("b", seconds=10), "key-b"), (Chapter("c"), "key-c"),
            (Chapter("d", seconds=4), "key-d")]
    assert names(longest_first(todo, {})) == ["b", "d", "a", "c"]
    assert longest_first(todo, {})[0] == (Chapter("b", seconds=10), "key-b")  # items travel whole


def test_the_last_build_timings_win_over_the_estimates():
    todo = [(Chapter("a"), None), (Chapter("b", seconds=10), None), (Chapter("c"), None)]
    assert names(longest_first(todo, {"a": 12.5, "b": 3.0})) == ["a", "b", "c"]
    assert names(longest_first(todo, {"b": 0.0})) == ["b", "a", "c"]  # a zero timing is no timing


def test_the_book_starts_its_slowest_chapter_first():
    stage1 = [(c,) for c in CHAPTERS if c.stage == 1]
    assert names(longest_first(stage1, {}))[:2] == ["sensitivity", "power"]
