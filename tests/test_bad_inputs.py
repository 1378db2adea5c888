"""A catalogue of bad inputs, as a new user makes them: each gets exit status 2 on the command
line (or the documented exception from the API), a message that names the file, row, column,
label or option at fault, and leaves every file that was already there exactly as it was.

Command lines run in-process through ``nlptransfer.cli.main`` (the console script is that call);
a few also run as real processes to check the exit status the shell sees. Data problems use a
model name that cannot load: the error they get proves the data was checked first.
"""
import gzip
import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from nlptransfer import ConfigError, DataError, ModelLoadError, TextClassifier, TrainConfig
from nlptransfer.cli import main

ROOT = Path(__file__).resolve().parents[1]
NO_MODEL = "no-such-org/no-such-model"  # any load attempt fails with ModelLoadError
GOOD = "text,label\nWIN a free prize,spam\nsee you at lunch,ham\nclaim your cash now,spam\nrunning late,ham\n"
GOOD_NER = "Anna B-PER\nsings O\n\nin O\nParis B-LOC\n"


def _write(folder: Path, name: str, content) -> Path:
    path = folder / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
            for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="module")
def saved_model(tiny_models, tmp_path_factory) -> Path:
    """A small fitted spam model to point evaluate / predict at."""
    folder = tmp_path_factory.mktemp("saved")
    train = _write(folder, "train.csv", GOOD + GOOD.split("\n", 1)[1] * 2)
    TextClassifier(tiny_models["bert"], "spam", "frozen", training=TrainConfig(epochs=1, progress=False),
                   output_dir=str(folder / "model")).fit(train).save(folder / "model")
    return folder / "model"


def _files(tmp: Path, saved: Path, tiny: dict) -> dict:
    """The named inputs the cases refer to, written into ``tmp``."""
    damaged = tmp / "damaged"
    os.system(f"cp -r '{saved}' '{damaged}'")
    return {
        "good": _write(tmp, "good.csv", GOOD),
        "good_ner": _write(tmp, "good.txt", GOOD_NER),
        "empty": _write(tmp, "empty.csv", b""),
        "header_only": _write(tmp, "header.csv", "text,label\n"),
        "not_gzip": _write(tmp, "plain.csv.gz", GOOD),
        "truncated_gz": _write(tmp, "cut.csv.gz", gzip.compress(GOOD.encode())[:30]),
        "latin1": _write(tmp, "latin1.csv", "text,label\ncaf\xe9 cr\xe8me,ham\nfree,spam\n".encode("latin-1")),
        "unclosed_quote": _write(tmp, "unclosed.csv", 'text,label\n"WIN a prize,spam\nsee you,ham\n'),
        "merged_rows": _write(tmp, "merged.csv", 'text,label\n"WIN a prize,spam\nsee you,ham\nlunch",ham\nok,spam\n'),
        "extra_field": _write(tmp, "extra.csv", "text,label\nWIN a prize, now,spam\nsee you,ham\n"),
        "semicolons": _write(tmp, "semi.csv", "text;label\nWIN a prize;spam\nsee you;ham\n"),
        "tabs_as_csv": _write(tmp, "tabs.csv", "text\tlabel\nWIN a prize\tspam\nsee you\tham\n"),
        "no_text_col": _write(tmp, "notext.csv", "sms,label\nWIN,spam\nhi,ham\n"),
        "no_label_col": _write(tmp, "nolabel.csv", "text,category\nWIN,spam\nhi,ham\n"),
        "empty_text": _write(tmp, "emptytext.csv", 'text,label\nWIN,spam\n"",ham\n'),
        "blank_text": _write(tmp, "blanktext.csv", 'text,label\nWIN,spam\n"   ",ham\n'),
        "na_label": _write(tmp, "na.csv", "text,label\nWIN,spam\nhi,NA\nyo,ham\n"),
        "empty_label": _write(tmp, "emptylabel.csv", "text,label\nWIN,spam\nhi,\n"),
        "nan_label": _write(tmp, "nan.csv", "text,label\nWIN,spam\nhi,NaN\n"),
        "bad_jsonl": _write(tmp, "bad.jsonl", '{"text": "WIN", "label": "spam"}\n{"text": oops}\n'),
        "list_jsonl": _write(tmp, "list.jsonl", '{"text": "WIN", "label": "spam"}\n["hi", "ham"]\n'),
        "number_text": _write(tmp, "number.jsonl", '{"text": "WIN", "label": "spam"}\n{"text": 5, "label": "ham"}\n'),
        "one_class": _write(tmp, "oneclass.csv", "text,label\nWIN,spam\nFREE,spam\n"),
        "three_class": _write(tmp, "three.csv", "text,label\nWIN,spam\nhi,ham\nhm,maybe\n"),
        "val_unseen": _write(tmp, "valunseen.csv", "text,label\nnew text,eggs\n"),
        "ner_one_col": _write(tmp, "onecol.txt", "Anna B-PER\nsings\n"),
        "ner_x_prefix": _write(tmp, "xprefix.txt", "Anna X-PER\nsings O\n"),
        "ner_not_iob": _write(tmp, "notiob.txt", "Anna PERSON\nsings O\n"),
        "ner_dangling_i": _write(tmp, "dangling.txt", "Anna B-PER\nsings O\nin O\nParis I-LOC\n"),
        "ner_mismatch": _write(tmp, "mismatch.jsonl", '{"tokens": ["a", "b"], "tags": ["O"]}\n'),
        "ner_no_tokens": _write(tmp, "notokens.jsonl", '{"words": ["a"], "tags": ["O"]}\n'),
        "ner_empty_sentence": _write(tmp, "emptysent.jsonl", '{"tokens": [], "tags": []}\n'),
        "ner_docstart_only": _write(tmp, "docstart.txt", "-DOCSTART- -X- O O\n\n"),
        "ner_only_o": _write(tmp, "onlyo.txt", "Anna O\nsings O\n"),
        "ner_latin1": _write(tmp, "latin1.txt", "Andr\xe9 B-PER\nsings O\n".encode("latin-1")),
        "yaml_syntax": _write(tmp, "bad.yaml", "task: spam\nepochs: [3\n"),
        "yaml_list": _write(tmp, "list.yaml", "- task\n- spam\n"),
        "a_file": _write(tmp, "i-am-a-file", "not a folder"),
        "used_run": saved,
        "no_meta": tmp,
        "damaged": damaged,
        "texts_latin1": _write(tmp, "texts.txt", "caf\xe9\n".encode("latin-1")),
        "tiny": tiny["bert"],
    }


T = ["train", "--task", "spam", "--model", NO_MODEL, "--output-dir", "{tmp}/new-out", "progress=false"]
CASES = [  # (id, argv with {names}, message regex)
    ("missing file", ["train", "--train", "{tmp}/nope.csv"], r"nope.csv' does not exist"),
    ("folder as file", [*T, "--train", "{tmp}"], r"is a folder"),
    ("empty file", [*T, "--train", "{empty}"], r"empty.csv' is empty"),
    ("header only", [*T, "--train", "{header_only}"], r"header.csv' has no rows"),
    ("not gzip", [*T, "--train", "{not_gzip}"], r"plain.csv.gz' ends in .gz but is not gzip"),
    ("truncated gzip", [*T, "--train", "{truncated_gz}"], r"cut.csv.gz' is a damaged or truncated gzip"),
    ("latin-1", [*T, "--train", "{latin1}"], r"latin1.csv' is not UTF-8 text: byte \d+ \(line 2\).*iconv"),
    ("unclosed quote", [*T, "--train", "{unclosed_quote}"], r"unclosed.csv', line \d+: not valid CSV.*never closes"),
    ("quote spans rows", [*T, "--train", "{merged_rows}"], r"merged.csv', row 1 \(lines 2-4\): a quote opened on line 2"),
    ("extra field", [*T, "--train", "{extra_field}"], r"extra.csv', row 1 \(line 2\): 3 fields where the header has 2"),
    ("semicolons", [*T, "--train", "{semicolons}"], r"semi.csv': the header .* no comma delimiter.*semicolon"),
    ("tabs in .csv", [*T, "--train", "{tabs_as_csv}"], r"tabs.csv': the header .* no comma delimiter.*tab-separated"),
    ("no text column", [*T, "--train", "{no_text_col}"], r"notext.csv' has no column 'text'.*text_column"),
    ("no label column", [*T, "--train", "{no_label_col}"], r"nolabel.csv' has no column 'label'.*label_column"),
    ("empty text", [*T, "--train", "{empty_text}"], r"emptytext.csv', row 2 \(line 3\), column 'text': the text is empty"),
    ("blank text", [*T, "--train", "{blank_text}"], r"blanktext.csv', row 2 \(line 3\), column 'text': the text is empty"),
    ("NA label", [*T, "--train", "{na_label}"], r"na.csv', row 2 \(line 3\), column 'label': the label is missing \('NA'\)"),
    ("empty label", [*T, "--train", "{empty_label}"], r"emptylabel.csv', row 2 \(line 3\), column 'label': the label is missing"),
    ("NaN label", [*T, "--train", "{nan_label}"], r"nan.csv', row 2 \(line 3\), column 'label': the label is missing"),
    ("bad JSONL", [*T, "--train", "{bad_jsonl}"], r"bad.jsonl': line 2 is not valid JSON"),
    ("JSONL list", [*T, "--train", "{list_jsonl}"], r"list.jsonl': line 2 is not a JSON object"),
    ("number text", [*T, "--train", "{number_text}"], r"number.jsonl', row 2 \(line 2\), column 'text': expected text, got int"),
    ("one class", [*T, "--train", "{one_class}"], r"oneclass.csv' has only one class \('spam'\)"),
    ("three classes for spam", [*T, "--train", "{three_class}"], r"three.csv': the spam task is binary but the labels"),
    ("validation label unseen", [*T, "--train", "{good}", "--validation", "{val_unseen}"],
     r"valunseen.csv', row 1 \(line 2\): label 'eggs' never occurs in the train data"),
    ("test file missing", [*T, "--train", "{good}", "--test", "{tmp}/nope-test.csv"], r"nope-test.csv' does not exist"),
    ("test file latin-1", [*T, "--train", "{good}", "--test", "{latin1}"], r"test file .*latin1.csv' is not UTF-8"),
    ("NER one column", [*T, "--task", "ner", "--train", "{ner_one_col}"], r"onecol.txt', line 2: 'sings' has one column"),
    ("NER tag index", [*T, "--task", "ner", "--train", "{good_ner}", "tag_column_index=5"],
     r"good.txt', line 1: 2 columns, but the tag column index is 5"),
    ("NER unknown prefix", [*T, "--task", "ner", "--train", "{ner_x_prefix}"],
     r"xprefix.txt', sentence 1, token 1 \('Anna'\).*'X-PER' is not O or PREFIX-TYPE"),
    ("NER not IOB", [*T, "--task", "ner", "--train", "{ner_not_iob}"], r"notiob.txt', sentence 1, token 1.*'PERSON'"),
    ("NER dangling I-", [*T, "--task", "ner", "--train", "{ner_dangling_i}"],
     r"dangling.txt', sentence 1, token 4 \('Paris'\) \(line 4\): 'I-LOC' continues no LOC entity.*repair"),
    ("NER count mismatch", [*T, "--task", "ner", "--train", "{ner_mismatch}"], r"mismatch.jsonl', sentence 1: 2 tokens but 1 tags"),
    ("NER no tokens column", [*T, "--task", "ner", "--train", "{ner_no_tokens}"], r"notokens.jsonl' has no column 'tokens'"),
    ("NER empty sentence", [*T, "--task", "ner", "--train", "{ner_empty_sentence}"],
     r"emptysent.jsonl', sentence 1: expected a non-empty list of words"),
    ("NER no sentences", [*T, "--task", "ner", "--train", "{ner_docstart_only}"], r"docstart.txt' has no sentences"),
    ("NER only O", [*T, "--task", "ner", "--train", "{ner_only_o}"], r"onlyo.txt' has no entity tags"),
    ("NER latin-1", [*T, "--task", "ner", "--train", "{ner_latin1}"], r"latin1.txt' is not UTF-8 text"),
    ("unknown option", [*T, "--train", "{good}", "epoch=1"], r"Unknown config key 'epoch'.*Did you mean 'epochs'"),
    ("wrong type", [*T, "--train", "{good}", "epochs=two"], r"epochs must be of type int; got 'two'"),
    ("negative rate", [*T, "--train", "{good}", "learning_rate=-0.001"], r"learning_rate must be above 0; got -0.001"),
    ("dropout", [*T, "--train", "{good}", "dropout=1.5"], r"dropout must be in \[0, 1\); got 1.5"),
    ("lora rank", [*T, "--train", "{good}", "lora_r=0"], r"lora_r must be at least 1; got 0"),
    ("warmup", [*T, "--train", "{good}", "warmup_ratio=1"], r"warmup_ratio must be in \[0, 1\); got 1.0"),
    ("clipping", [*T, "--train", "{good}", "max_grad_norm=0"], r"max_grad_norm must be above 0"),
    ("seed", [*T, "--train", "{good}", "seed=-1"], r"seed must be in \[0, 4294967295\]; got -1"),
    ("target precision", [*T, "--train", "{good}", "target_precision=1.5"], r"target_precision must be in \(0, 1\]"),
    ("long_texts", [*T, "--train", "{good}", "long_texts=middle"], r"long_texts must be one of truncate, head_tail, chunks"),
    ("tracker", [*T, "--train", "{good}", "report_to=wandb"], r"report_to: unknown tracker 'wandb'"),
    ("augment mention for spam", [*T, "--train", "{good}", "augment=mention"], r"augment=mention replaces entity men"),
    ("augment copies", [*T, "--train", "{good}", "augment_copies=0"], r"augment_copies must be at least 1; got 0"),
    ("augment mlm alone", [*T, "--train", "{good}", "augment=mlm"], r"augment=mlm needs augment_model="),
    ("not key=value", [*T, "--train", "{good}", "lora"], r"Override 'lora' must look like key=value"),
    ("YAML syntax", [*T, "--config", "{yaml_syntax}"], r"bad.yaml' is not valid YAML at line 3"),
    ("YAML list", [*T, "--config", "{yaml_list}"], r"list.yaml' must hold a mapping"),
    ("config missing", [*T, "--config", "{tmp}/nope.yaml"], r"Config file '.*nope.yaml' does not exist"),
    ("no training data", ["train", "--task", "spam"], r"No training data: set train=PATH"),
    ("output is a file", [*T, "--train", "{good}", "--output-dir", "{a_file}"], r"output_dir '.*i-am-a-file' is a file"),
    ("output holds a run", ["train", "--task", "spam", "--model", "{tiny}", "--train", "{good}", "--output-dir",
                            "{used_run}"], r"already holds a run \(.*nlptransfer.json\).*overwrite_output_dir=true"),
    ("max_length too big", ["train", "--task", "spam", "--model", "{tiny}", "--train", "{good}", "--output-dir",
                            "{tmp}/new-out", "max_length=1024"], r"max_length=1024 is more than .* takes \(128 tokens\)"),
    ("model unreachable", ["train", "--task", "spam", "--model", NO_MODEL, "--train", "{good}", "--output-dir",
                           "{tmp}/new-out"], r"Could not load .*no-such-org/no-such-model.*local folder"),
    ("no saved model", ["predict", "{no_meta}", "--text", "hi"], r"is not a saved nlptransfer model \(no nlptransfer.json\)"),
    ("damaged metadata", ["predict", "{damaged}", "--text", "hi"], r"nlptransfer.json is damaged \(not valid JSON"),
    ("predict latin-1 file", ["predict", "{used_run}", "--file", "{texts_latin1}"], r"texts.txt' is not UTF-8 text"),
    ("predict missing file", ["predict", "{used_run}", "--file", "{tmp}/nope.txt"], r"nope.txt' does not exist"),
    ("nothing to predict", ["predict", "{used_run}"], r"Nothing to predict: pass --text"),
    ("evaluate missing column", ["evaluate", "{used_run}", "--data", "{no_label_col}"], r"nolabel.csv' has no column 'label'"),
    ("evaluate missing data", ["evaluate", "{used_run}", "--data", "{tmp}/nope.csv"], r"nope.csv' does not exist"),
    ("report without metrics", ["report", "{tmp}"], r"has no metrics-\*.json: evaluate first"),
    ("compare strategy", ["compare", "--task", "spam", "--train", "{good}", "--validation", "{good}", "--test", "{good}",
                          "--strategies", "full,magic", "--output-dir", "{tmp}/cmp"], r"strategy 'magic' is not one of"),
    ("compare fractions", ["compare", "--task", "spam", "--train", "{good}", "--validation", "{good}", "--test", "{good}",
                           "--train-fractions", "0,1", "--output-dir", "{tmp}/cmp"], r"fractions must be in \(0, 1\]"),
]


@pytest.mark.parametrize("case,argv,message", CASES, ids=[c[0] for c in CASES])
def test_cli_bad_input(case, argv, message, saved_model, tiny_models, tmp_path, capsys):
    names = {k: str(v) for k, v in _files(tmp_path, saved_model, tiny_models).items()}
    if case == "damaged metadata":
        (Path(names["damaged"]) / "nlptransfer.json").write_text('{"kind": "text-classif')
    before_tmp, before_model = _snapshot(tmp_path), _snapshot(saved_model)
    with pytest.raises(SystemExit) as exit_:
        main([a.format(tmp=tmp_path, **names) for a in argv])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert re.search(message, err), err
    assert _snapshot(tmp_path) == before_tmp and _snapshot(saved_model) == before_model  # nothing changed


ARGPARSE = [("unknown strategy", ["train", "--strategy", "magic"], r"invalid choice: 'magic'"),
            ("unknown task", ["train", "--task", "weather"], r"invalid choice: 'weather'"),
            ("compare without test", ["compare", "--task", "spam", "--train", "x", "--validation", "y"],
             r"the following arguments are required: --test")]


@pytest.mark.parametrize("case,argv,message", ARGPARSE, ids=[c[0] for c in ARGPARSE])
def test_command_line_usage_errors(case, argv, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2 and re.search(message, capsys.readouterr().err)


def test_real_processes_exit_2(tmp_path):
    """What the shell sees: status 2, one message line, no traceback."""
    bin_ = Path(sys.executable).parent / "nlptransfer"
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    empty = _write(tmp_path, "empty.csv", b"")
    for argv in (["train", "--task", "spam", "--train", str(empty)], ["train", "learning_rate=-1", "--train", "x.csv"]):
        r = subprocess.run([str(bin_), *argv], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr, r.stderr
    r = subprocess.run([sys.executable, str(ROOT / "tasks" / "classification.py"), "task=ner", f"train={empty}"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "not text classification" in r.stderr, r.stderr


API = [
    ("predict a None", lambda m: m.predict(["ok", None]), TypeError, r"item 1 is NoneType"),
    ("predict a number", lambda m: m.predict_proba([3]), TypeError, r"item 0 is int 3"),
    ("config type", lambda m: TrainConfig(epochs="3"), ConfigError, r"epochs must be of type int; got '3'"),
    ("config range", lambda m: TrainConfig(batch_size=0), ConfigError, r"batch_size must be at least 1"),
    ("ner with TextClassifier", lambda m: TextClassifier("x", "ner").fit(pd.DataFrame({"text": ["a"], "label": ["b"]})),
     ConfigError, r"task 'ner' is not text classification: use EntityTagger"),
    ("DatasetDict", lambda m: TextClassifier("x").fit(_dataset_dict()), DataError, r"pass one split, e.g. dataset\['train'\]"),
    ("a list as data", lambda m: TextClassifier("x").fit([("a", "b")]), DataError, r"Cannot read train data of type list"),
    ("DataFrame without label", lambda m: TextClassifier("x").fit(pd.DataFrame({"text": ["a", "b"]})), DataError,
     r"train DataFrame has no column 'label'"),
    ("save onto a file", lambda m: m.save(m._file), ConfigError, r"cannot save to .*: it is a file"),
    ("unfitted", lambda m: TextClassifier().predict(["x"]), AttributeError, r"not fitted yet: call fit\(\)"),
    ("threshold is read-only", lambda m: setattr(m, "threshold_", 0.3), AttributeError, r"threshold_|no setter"),
    ("hub model offline", lambda m: TextClassifier(NO_MODEL).fit(pd.DataFrame({"text": ["a", "b"], "label": ["x", "y"]})),
     ModelLoadError, r"HF_HUB_OFFLINE"),
]


def _dataset_dict():
    import datasets

    return datasets.DatasetDict({"train": datasets.Dataset.from_dict({"text": ["a"], "label": [0]})})


@pytest.mark.parametrize("case,call,error,message", API, ids=[c[0] for c in API])
def test_api_bad_input(case, call, error, message, saved_model, tmp_path):
    from nlptransfer import load

    model = load(saved_model)
    model._file = _write(tmp_path, "a-file", "x")
    before = _snapshot(saved_model)
    with pytest.raises(error, match=message):
        call(model)
    assert _snapshot(saved_model) == before


def test_catalogue_is_large_enough():
    assert len(CASES) + len(ARGPARSE) + len(API) >= 60
