"""The classic baselines a pretrained model has to beat."""
import numpy as np

from nlptransfer.evaluation.harness import evaluate_entities


def test_classic_baselines_learn(assets):
    import pandas as pd

    from nlptransfer.models.classic import FeatureTagger, TfidfClassifier
    from nlptransfer.data.tagged_table import read_tagged_table

    train, val = pd.read_csv(assets / "spam_train.csv"), pd.read_csv(assets / "spam_validation.csv")
    clf = TfidfClassifier().fit(train.text.tolist(), train.label.tolist(), val.text.tolist(), val.label.tolist())
    from sklearn.metrics import f1_score

    predicted = np.asarray(clf.classes_)[clf.predict_proba(val.text.tolist()).argmax(1)]
    # spam F1: a constant "ham" scores 0 here, a constant "spam" 0.33 (2 spam of 10)
    assert f1_score(val.label, predicted, pos_label="spam") >= 0.8 and clf.c_ in (0.3, 1.0, 3.0, 10.0, 30.0)

    tr, va = read_tagged_table(assets / "ner_train.txt"), read_tagged_table(assets / "ner_validation.txt",
                                                                            name="validation")
    tagger = FeatureTagger().fit(tr.words, tr.tags, va.words, va.tags)
    predicted = tagger.predict_tags(tr.words)
    assert [len(p) for p in predicted] == [len(w) for w in tr.words]
    for tags in predicted:  # valid IOB2: an I-X only after B-X or I-X
        for prev, tag in zip(["O", *tags], tags):
            assert not tag.startswith("I-") or prev[2:] == tag[2:]
    assert evaluate_entities(tr.tags, predicted)["f1"] > 0.5  # it fits what it was trained on
