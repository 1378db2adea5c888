"""Augmentation: seeded, train only, every copy a real change made of the source's own words, NER
copies valid IOB2 with their mentions intact (eda) or swapped for mentions of the same type."""
import json
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from nlptransfer import ConfigError, EntityTagger, TextClassifier, TrainConfig, compare
from nlptransfer.data.augmentation import AUGMENTED_FILE, _mentions, augment_train, eda_words
from nlptransfer.data.tag_schemes import lenient_iob2
from nlptransfer.data.tagged_table import read_tagged_table
from nlptransfer.data.text_table import read_text_table


def _texts(assets):
    return read_text_table(assets / "sentiment_train.csv", "text", "label", name="train")


def _eda(copies, seed):
    return TrainConfig(augment="eda", augment_copies=copies, seed=seed)


def _tagged(assets):
    return read_tagged_table(assets / "ner_train.txt", name="train")


def test_eda_copies_are_seeded_changed_and_made_of_the_source_words(assets, tmp_path):
    table = _texts(assets)
    out = augment_train(table, _eda(3, 7), tmp_path, say=lambda _: None)
    again = augment_train(table, _eda(3, 7), say=lambda _: None)
    other = augment_train(table, _eda(3, 8), say=lambda _: None)
    assert out.texts == again.texts and out.texts != other.texts
    assert out.texts[:len(table)] == table.texts and out.labels[:len(table)] == table.labels  # originals first
    rows = [json.loads(line) for line in (tmp_path / AUGMENTED_FILE).read_text().splitlines()]
    assert [r["text"] for r in rows] == out.texts[len(table):] and [r["label"] for r in rows] == out.labels[len(table):]
    assert len(table) * 2 < len(rows) <= 3 * len(table)  # few copies come out unchanged (one-word texts)
    kinds = Counter()
    for row in rows:
        source = table.texts[row["from_row"] - 1]
        words, before = Counter(row["text"].split()), Counter(source.split())
        assert row["label"] == table.labels[row["from_row"] - 1] and row["text"] != source and row["text"].strip()
        # Swap keeps the words, deletion drops some, insertion repeats some: never a word from elsewhere.
        kind = "swap" if words == before else "delete" if not words - before else "insert" if not before - words \
            else "other"
        assert kind != "other" and set(words) <= set(before), (source, row["text"])
        kinds[kind] += 1
    assert set(kinds) == {"swap", "delete", "insert"}, kinds


def test_eda_moves_only_movable_words():
    rng = np.random.default_rng(0)
    words = "a b c d e f g h i j".split()
    movable = [w in "bdfh" for w in words]
    for _ in range(200):
        new, order = eda_words(words, rng, movable, alpha=0.3)
        assert new == [words[i] for i in order]
        fixed = [w for w in new if w not in "bdfh"]
        assert fixed == [w for w in words if w not in "bdfh"]  # the others stay, in order, once each


@pytest.mark.parametrize("method", ["eda", "mention"])
def test_ner_copies_are_valid_iob2_and_keep_or_swap_mentions_by_type(method, assets):
    table = _tagged(assets)
    out = augment_train(table, TrainConfig(augment=method, augment_copies=2, seed=0), say=lambda _: None)
    assert out.words[:len(table)] == table.words and len(out) > len(table)
    pool = {(tuple(w[s:e]), k) for w, t in zip(table.words, table.tags) for s, e, k in _mentions(t)}
    swapped = 0
    for words, tags in zip(out.words[len(table):], out.tags[len(table):]):
        assert len(words) == len(tags) and lenient_iob2(tags) == tags  # strict IOB2
        mentions = [(tuple(words[s:e]), k) for s, e, k in _mentions(tags)]
        assert set(mentions) <= pool  # a mention of its type from train, never a made-up span
        source = [(w, t) for w, t in zip(table.words, table.tags)
                  if [k for _, k in mentions] == [k for _, _, k in _mentions(t)]]
        if method == "eda":  # only O words moved: the mentions are the source's, in order
            assert any(mentions == [(tuple(w[s:e]), k) for s, e, k in _mentions(t)] for w, t in source)
        else:  # the words outside mentions are the source's, unchanged
            outside = [w for w, t in zip(words, tags) if t == "O"]
            assert any(outside == [x for x, y in zip(w, t) if y == "O"] for w, t in source)
            swapped += 1
    assert method == "eda" or swapped > 0


def test_fit_augments_train_only_and_writes_the_copies(tiny_models, assets, tmp_path, capsys):
    run = tmp_path / "run"
    cfg = TrainConfig(epochs=1, max_length=32, progress=False, augment="eda", augment_copies=2)
    clf = TextClassifier(tiny_models["bert"], "sentiment", "frozen", training=cfg, output_dir=str(run))
    clf.fit(assets / "sentiment_train.csv", assets / "sentiment_validation.csv")
    rows = [json.loads(line) for line in (run / AUGMENTED_FILE).read_text().splitlines()]
    train = pd.read_csv(assets / "sentiment_train.csv")
    assert f"augment=eda: {len(rows)} augmented texts added to the {len(train)} of train" in capsys.readouterr().out
    assert all(train["label"][r["from_row"] - 1] == r["label"] for r in rows)
    validation = set(pd.read_csv(assets / "sentiment_validation.csv")["text"])
    assert not validation & {r["text"] for r in rows}
    metrics = json.loads((run / "metrics-validation.json").read_text())
    assert metrics["n"] == len(validation)
    tagger = EntityTagger(tiny_models["bert"], "frozen", output_dir=str(tmp_path / "ner"), training=TrainConfig(
        epochs=1, max_length=32, progress=False, augment="mention")).fit(assets / "ner_train.txt")
    assert tagger.predict(["Omar works in Cape Town"])  # trains and predicts on the augmented set
    assert (tmp_path / "ner" / AUGMENTED_FILE).exists()


def test_mention_is_for_ner_and_compare_pairs_augmented_rows(tiny_models, assets, tmp_path):
    with pytest.raises(ConfigError, match="augment=mention replaces entity mentions"):
        TextClassifier(tiny_models["bert"], "sentiment", training=TrainConfig(augment="mention"))._run_config()
    with pytest.raises(ConfigError, match="augment 'mention' is not one of none, eda, mlm "):
        compare("sentiment", assets / "sentiment_train.csv", assets / "sentiment_validation.csv",
                assets / "sentiment_validation.csv", augment=["none", "mention"], output_dir=str(tmp_path / "x"))
    summary = compare("sentiment", assets / "sentiment_train.csv", assets / "sentiment_validation.csv",
                      assets / "sentiment_validation.csv", models=[tiny_models["bert"]], strategies=["frozen"],
                      augment=["none", "eda"], seeds=1, classic=False, output_dir=str(tmp_path / "cmp"),
                      training=TrainConfig(epochs=1, max_length=32, progress=False))
    assert sorted({r["strategy"] for r in summary["rows"]}) == ["frozen", "frozen+eda"]
    assert [(g["strategy"], g["reference"]) for g in summary["versus_plain"]] == [("frozen+eda", "frozen")]
    run = next((tmp_path / "cmp" / "runs").glob("*frozen+eda*"))
    assert (run / "run" / AUGMENTED_FILE).exists()


def _adapted(family, tiny_models, assets, tmp_path):
    from nlptransfer import adapt

    texts = pd.read_csv(assets / "sentiment_train.csv")["text"].tolist()
    out = tmp_path / f"{family}-mlm"
    adapt(tiny_models[family], texts, out, held_out=0, training=TrainConfig(epochs=1, max_length=32, progress=False))
    return str(out)


@pytest.mark.parametrize("family", ["bert", "roberta"])  # WordPiece and byte-level BPE vocabularies
def test_mlm_replaces_o_words_by_whole_words_from_the_masked_lm(family, tiny_models, assets, tmp_path):
    from nlptransfer.models.fill_mask import MaskedWordFiller

    with pytest.raises(ConfigError, match="ships no masked-LM head"):
        MaskedWordFiller(tiny_models[family])  # a bare backbone: its head would be random
    filler_folder = _adapted(family, tiny_models, assets, tmp_path)
    filler = MaskedWordFiller(filler_folder)
    table = _tagged(assets)
    config = TrainConfig(augment="mlm", augment_model="x", augment_copies=2, seed=3)
    out = augment_train(table, config, say=lambda _: None, filler=filler)
    assert augment_train(table, config, say=lambda _: None, filler=filler).words == out.words  # seeded
    assert len(out) > len(table)
    vocabulary = set(filler.words.values())
    changed = 0
    for words, tags in zip(out.words[len(table):], out.tags[len(table):]):
        source = [(w, t) for w, t in zip(table.words, table.tags) if t == tags and len(w) == len(words)]
        assert source, "tags and length are the source's: one word in, one word out"
        w0 = next(w for w, _ in source if all(a == b for a, b, t in zip(w, words, tags) if t != "O"))
        replaced = [b for a, b, t in zip(w0, words, tags) if a != b]
        assert replaced and all(t == "O" for a, b, t in zip(w0, words, tags) if a != b)
        assert all(b in vocabulary and not b.startswith(("##", "Ġ")) for b in replaced), replaced
        changed += len(replaced)
    assert changed >= len(out) - len(table)
    if family == "bert":  # through fit: start_fit loads the masked LM and the run folder gets the copies
        run = tmp_path / "run"
        TextClassifier(tiny_models["bert"], "sentiment", "frozen", output_dir=str(run), training=TrainConfig(
            epochs=1, max_length=32, progress=False, augment="mlm", augment_model=filler_folder)
        ).fit(assets / "sentiment_train.csv")
        assert len((run / AUGMENTED_FILE).read_text().splitlines()) > len(pd.read_csv(assets / "sentiment_train.csv")) / 2
    with pytest.raises(ConfigError, match="augment=mlm needs augment_model="):
        EntityTagger("x", training=TrainConfig(augment="mlm"))._run_config()
