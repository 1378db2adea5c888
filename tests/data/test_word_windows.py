"""Word <-> sub-token alignment: each word predicted exactly once, long sentences windowed."""
import pytest
from conftest import FAMILIES

from nlptransfer.data.word_splitting import split_words
from nlptransfer.data.word_windows import IGNORE, encode_words, plan_windows
from nlptransfer.models.pretrained import load_tokenizer, model_architecture

SENTENCES = [["Angela", "Merkel", "visited", "Paris", "."], ["Hi"],
             ("The European Commission said on Thursday it disagreed with German advice " * 4).split()]


@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("max_length", [16, 128])
def test_every_word_owned_exactly_once(family, max_length, tiny_models):
    _, arch = model_architecture(tiny_models[family])
    tok = load_tokenizer(tiny_models[family], arch)
    tags = [list(range(len(s))) for s in SENTENCES]
    ds = encode_words(tok, SENTENCES, max_length, overlap=4, tag_ids=tags)
    for s, words in enumerate(SENTENCES):
        owned = sorted(w for win in ds.windows if win.sentence == s for _, w in win.owned)
        assert owned == list(range(len(words)))
    assert all(len(w.input_ids) <= max_length for w in ds.windows)
    if max_length == 16:
        assert sum(w.sentence == 2 for w in ds.windows) > 1  # the long sentence was windowed
    for win in ds.windows:  # labels sit on first sub-tokens only, and are the words' own tags
        for position, word in win.owned:
            assert win.labels[position] == word
        assert sum(label != IGNORE for label in win.labels) >= len(win.owned)


@pytest.mark.parametrize("family", ["roberta", "gpt2"])
def test_bpe_pre_split_words_match_running_text(family, tiny_models):
    """With add_prefix_space (from the table) a pre-split word tokenizes as inside a sentence."""
    _, arch = model_architecture(tiny_models[family])
    tok = load_tokenizer(tiny_models[family], arch)
    words = ["the", "film", "was", "great"]
    split = tok(words, is_split_into_words=True, add_special_tokens=False)["input_ids"]
    running = tok(" ".join(words), add_special_tokens=False)["input_ids"]
    assert split == running


def test_plan_windows_overlap_and_overlong_word():
    assert plan_windows([1] * 10, budget=4, overlap=2) == [(0, 4), (2, 6), (4, 8), (6, 10)]
    assert plan_windows([1, 9, 1], budget=4, overlap=1) == [(0, 1), (1, 2), (2, 3)]


def test_split_words_keeps_offsets():
    text = "Angela Merkel visited Paris, in July."
    words, spans = split_words(text)
    assert words == ["Angela", "Merkel", "visited", "Paris", ",", "in", "July", "."]
    assert [text[a:b] for a, b in spans] == words
