"""Property-based tests of the readers and of NER word splitting on arbitrary Unicode: no crash
other than the documented DataError, what is read is what was written, every word gets exactly one
tag, and offsets point into the original string."""
import csv
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nlptransfer.data.tag_schemes import lenient_iob2
from nlptransfer.data.tagged_table import read_tagged_table
from nlptransfer.data.text_table import normalise_label, read_text_table
from nlptransfer.data.word_splitting import is_invisible, split_words
from nlptransfer.data.word_windows import encode_words
from nlptransfer.errors import DataError
from nlptransfer.models.pretrained import load_tokenizer, model_architecture

from conftest import FAMILIES

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# labels that are present (missing ones are the catalogue's business): padded, numeric, any Unicode
LABELS = st.one_of(st.sampled_from(["ham", "spam", " spam", "1", "1.0", "2", "x y"]),
                   st.text(min_size=1, max_size=6).filter(lambda s: normalise_label(s) is not None))
# characters a word of a CoNLL file can hold: no whitespace, no control or line-separator characters
WORD_CHARS = st.characters(blacklist_categories=("Cs", "Zs", "Zl", "Zp", "Cc"))
TAGS = st.sampled_from(["O", "O", "B-PER", "I-PER", "B-LOC", "I-LOC"])


def _roundtrip_or_documented_error(read, written_texts, written_labels):
    try:
        table = read()
    except DataError as error:  # documented: an empty text, or a text whose later lines look like rows
        assert "the text is empty" in str(error) or "look like rows of their own" in str(error), error
        assert any(not t.strip() or "\n" in t or "\r" in t for t in written_texts)
        return None
    assert table.texts == written_texts
    assert table.labels == [normalise_label(label) for label in written_labels]
    return table


@SETTINGS
@given(rows=st.lists(st.tuples(st.text(min_size=1), LABELS), min_size=1, max_size=8))
def test_csv_reads_back_what_was_written(rows, tmp_path):
    path = tmp_path / "data.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)
    _roundtrip_or_documented_error(lambda: read_text_table(path), [t for t, _ in rows], [label for _, label in rows])


@SETTINGS
@given(rows=st.lists(st.tuples(st.text(min_size=1), LABELS), min_size=1, max_size=8), ascii_only=st.booleans())
def test_jsonl_reads_back_what_was_written(rows, ascii_only, tmp_path):
    path = tmp_path / "data.jsonl"
    path.write_text("".join(json.dumps({"text": t, "label": label}, ensure_ascii=ascii_only) + "\n"
                            for t, label in rows), encoding="utf-8")
    _roundtrip_or_documented_error(lambda: read_text_table(path), [t for t, _ in rows], [label for _, label in rows])


@SETTINGS
@given(sentences=st.lists(st.lists(st.tuples(st.text(WORD_CHARS, min_size=1, max_size=8), TAGS), min_size=1,
                                   max_size=6), min_size=1, max_size=5),
       tabbed=st.booleans(), spaced=st.booleans())
def test_conll_reads_back_what_was_written(sentences, tabbed, spaced, tmp_path):
    sentences = [[(w + (" x" if spaced and tabbed else ""), t) for w, t in s] for s in sentences]
    sentences = [[(w, t) for w, t in s if w != "-DOCSTART-"] for s in sentences]
    sentences = [s for s in sentences if s]
    if not sentences:
        return
    tags = [lenient_iob2([t for _, t in s]) for s in sentences]  # valid IOB2
    sep = "\t" if tabbed else " "
    path = tmp_path / "data.txt"
    path.write_text("\n\n".join("\n".join(f"{w}{sep}{t}" for (w, _), t in zip(s, ts)) for s, ts in
                                zip(sentences, tags)) + "\n", encoding="utf-8")
    table = read_tagged_table(path)
    assert table.words == [[w for w, _ in s] for s in sentences]  # words keep their spaces in tab files
    assert table.tags == tags


@pytest.fixture(scope="module")
def tokenizers(tiny_models):
    return {f: load_tokenizer(tiny_models[f], model_architecture(tiny_models[f])[1]) for f in FAMILIES}


@SETTINGS
@given(text=st.text(max_size=60), family=st.sampled_from(FAMILIES))
def test_word_splitting_covers_every_word_once(text, family, tokenizers):
    tok = tokenizers[family]
    words, spans = split_words(text, tok)
    assert len(words) == len(spans)
    previous_end = 0
    for word, (start, end) in zip(words, spans):
        assert previous_end <= start < end <= len(text) and text[start:end] == word
        assert word.strip() and not is_invisible(word)
        previous_end = end
    if words:
        dataset = encode_words(tok, [words], 16, 2)
        owned = sorted(word for window in dataset.windows for _, word in window.owned)
        assert owned == list(range(len(words)))  # one prediction per word


@SETTINGS
@given(words=st.lists(st.text(min_size=1, max_size=5).filter(str.strip), min_size=1, max_size=12),
       family=st.sampled_from(FAMILIES))
def test_pre_split_words_all_get_one_tag(words, family, tokenizers):
    """Pre-split corpora may hold words a tokenizer deletes entirely (zero-width or control
    characters, lone accents): each still gets exactly one position to be predicted from."""
    dataset = encode_words(tokenizers[family], [words], 16, 2, [[1] * len(words)])
    owned = sorted(word for window in dataset.windows for _, word in window.owned)
    assert owned == list(range(len(words)))
    assert dataset.feature_labels == [1] * len(words)
