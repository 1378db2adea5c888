"""The readers on the real benchmark files (counts from their READMEs); skipped without ../shared."""
from conftest import shared_path

from nlptransfer.data.tagged_table import read_tagged_table, tag_order
from nlptransfer.data.text_table import read_text_table


def test_conll2003_reads_with_documented_counts():
    folder = shared_path("data", "conll2003")
    counts = {split: len(read_tagged_table(folder / f"{split}.txt", name=split))
              for split in ("train", "validation", "test")}
    assert counts == {"train": 14041, "validation": 3250, "test": 3453}
    train = read_tagged_table(folder / "train.txt")
    assert train.scheme == "IOB2"
    assert tag_order(train.tags) == ["O", "B-LOC", "I-LOC", "B-MISC", "I-MISC", "B-ORG", "I-ORG", "B-PER", "I-PER"]


def test_sms_spam_reads_with_documented_counts():
    table = read_text_table(shared_path("data", "sms_spam", "train.csv"))
    assert len(table) == 4200 and table.labels.count("spam") == 569
