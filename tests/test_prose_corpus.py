"""helpers.datasets.prose: prose filtering, documents and segments, deterministic held-out split, optional sources."""

from __future__ import annotations

import importlib.util

import pytest

from helpers.datasets.prose import (
    build_corpus,
    clean_inline,
    docstring_segments,
    extract_documents,
    folder_documents,
    heldout_group,
    is_prose,
    pydoc_documents,
    validation_split,
    wikitext_documents,
)

NUMPYDOC = """Compute the weighted average of an array along the given axis.

The weights are normalised so that they sum to one, and masked values are ignored
when the average is taken over the remaining entries.

Parameters
----------
a : array_like
    Array containing data to be averaged.
weights : array_like, optional
    An array of weights associated with the values in the array.

Returns
-------
float
    The weighted average of the input values.

Notes
-----
The result is returned as a floating point number even when the input is integer.

Examples
--------
>>> average([1, 2, 3])
2.0
"""


@pytest.fixture(autouse=True)
def _private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FSL_CACHE_DIR", str(tmp_path / "cache"))


def test_inline_markup_is_removed():
    text = "Use :func:`numpy.mean` or ``sum`` on *each* **row** of the table [1]_ here."
    assert clean_inline(text) == "Use numpy.mean or sum on each row of the table here."


@pytest.mark.parametrize(
    "lines",
    [
        [">>> x = compute(1, 2)", "3"],
        ["x = compute(a, b) + offset[index]"],
        ["+-----+-----+", "| a   | b   |"],
        ["a : array_like", "    Input array that holds the data values."],
        [":param value: the value that is used for the whole computation."],
        ["Short line."],
        ["The following code is run by the interpreter:", "    for item in items:", "        print(item)"],
        ["this paragraph starts in lower case but is otherwise a normal sentence."],
    ],
)
def test_code_tables_doctests_and_parameter_lists_are_not_prose(lines):
    assert not is_prose(lines)


def test_running_text_is_prose():
    assert is_prose(["The weights are normalised so that they sum to one, and masked values are", "ignored."])


def test_whole_docstring_keeps_parameter_and_return_prose_and_drops_doctests_and_headings():
    segments = docstring_segments(NUMPYDOC)
    assert segments == [
        "Compute the weighted average of an array along the given axis.",
        "The weights are normalised so that they sum to one, and masked values are ignored when the average is "
        "taken over the remaining entries.",
        "a : array_like Array containing data to be averaged. weights : array_like, optional An array of weights "
        "associated with the values in the array.",
        "float The weighted average of the input values.",
        "The result is returned as a floating point number even when the input is integer.",
    ]


def test_kept_headings_open_the_first_paragraph_of_their_section_only():
    dropped, kept = docstring_segments(NUMPYDOC), docstring_segments(NUMPYDOC, headings=True)
    assert len(kept) == len(dropped)
    assert kept[2] == "Parameters: " + dropped[2]
    assert kept[3] == "Returns: " + dropped[3]
    assert kept[4] == "Notes: " + dropped[4]
    assert kept[:2] == dropped[:2]
    google = "Run it.\n\nArgs:\n    x (int): The value that is used for the computation here.\n"
    assert docstring_segments(google, headings=True) == [
        "Args: x (int): The value that is used for the computation here."
    ]


def test_every_paragraph_keeps_code_and_doctests_in_order_with_their_headings():
    segments = docstring_segments(NUMPYDOC, headings=True, every_paragraph=True)
    assert segments[0] == "Compute the weighted average of an array along the given axis."
    assert segments[2].startswith("Parameters: a : array_like Array containing data")
    assert segments[-1] == "Examples: >>> average([1, 2, 3]) 2.0"
    assert len(segments) == len(docstring_segments(NUMPYDOC)) + 1


def test_google_section_titles_and_directives_are_dropped():
    text = "Run it.\n\nArgs:\n    x (int): The value that is used for the computation here.\n\n.. versionadded:: 1.2\n"
    assert docstring_segments(text) == ["x (int): The value that is used for the computation here."]


def test_validation_split_is_by_group_deterministic_and_leaves_the_held_out_documents_alone():
    corpus = build_corpus(("pydoc_topics",), heldout_fraction=0.2)
    fitting, validation = validation_split(corpus.train, 0.2)
    assert (fitting, validation) == validation_split(corpus.train, 0.2)
    assert set(fitting) | set(validation) == set(corpus.train)
    assert not {d.group for d in fitting} & {d.group for d in validation}
    assert not set(validation) & set(corpus.heldout)
    with pytest.raises(ValueError, match="between 0 and 1"):
        validation_split(corpus.train, 1.0)
    with pytest.raises(ValueError, match="Unknown split unit 'topic'"):
        validation_split(corpus.train, 0.2, unit="topic")


def test_a_validation_split_by_document_puts_documents_of_one_group_on_both_sides():
    corpus = build_corpus(("pydoc_topics", "numpy"))
    fitting, validation = validation_split(corpus.train, unit="document")
    assert set(fitting) | set(validation) == set(corpus.train) and not set(fitting) & set(validation)
    assert {d.group for d in fitting} & {d.group for d in validation}


def test_pydoc_topics_give_multi_segment_documents_in_a_stable_order():
    first, second = pydoc_documents(), pydoc_documents()
    assert first == second
    assert len(first) >= 20
    assert all(len(d.segments) >= 2 for d in first)
    assert all(not s.startswith(">>>") and len(s.split()) >= 8 for d in first for s in d.segments)


def test_corpus_splits_by_group_and_is_deterministic():
    corpus = build_corpus(("pydoc_topics",), heldout_fraction=0.2)
    again = build_corpus(("pydoc_topics",), heldout_fraction=0.2)
    assert corpus == again
    train_groups = {d.group for d in corpus.train}
    heldout_groups = {d.group for d in corpus.heldout}
    assert train_groups and heldout_groups and not train_groups & heldout_groups
    assert corpus.documents == len(corpus.train) + len(corpus.heldout)
    assert corpus.segments == len(corpus.texts("train")) + len(corpus.texts("heldout"))
    assert corpus.words > corpus.segments * 8


def test_heldout_group_is_a_pure_function_of_the_name():
    assert heldout_group("stdlib/json/decoder", 0.3) == heldout_group("stdlib/json/decoder", 0.3)
    assert not heldout_group("anything", 0.0)


def test_package_docstrings_are_read_with_ast():
    documents = extract_documents("numpy")
    assert len(documents) > 50
    assert all(d.doc_id.startswith("numpy/") for d in documents)


def test_folder_source(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "one.txt").write_text(
        "The river rises in the hills and flows west towards the sea for many miles.\n\n"
        "Along its banks there are small towns, old mills and a great many bridges.\n"
    )
    (folder / "two.md").write_text("Too short.\n")
    documents = folder_documents(folder)
    assert [d.doc_id for d in documents] == ["file:one.txt"]
    assert len(documents[0].segments) == 2


def test_bad_parameters_have_clear_messages(tmp_path):
    with pytest.raises(ValueError, match="Unknown corpus source"):
        build_corpus(("no_such_source",))
    with pytest.raises(ValueError, match="No corpus source"):
        build_corpus(())
    with pytest.raises(ValueError, match="heldout_fraction"):
        build_corpus(("pydoc_topics",), heldout_fraction=1.5)
    with pytest.raises(ValueError, match="two or more prose paragraphs"):
        folder_documents(tmp_path)
    with pytest.raises(ValueError, match="does not exist"):
        folder_documents(tmp_path / "missing")


@pytest.mark.skipif(importlib.util.find_spec("datasets") is not None, reason="datasets is installed here")
def test_wikitext_without_datasets_says_how_to_get_it():
    with pytest.raises(ImportError, match="pip install datasets"):
        wikitext_documents()
