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


def test_conll2003_validation_encodes_with_the_offline_checkpoint():
    """Every word of the official validation file gets exactly one position to be tagged from
    (words a tokenizer deletes entirely are covered on arbitrary Unicode in test_reader_properties)."""
    from nlptransfer.data.word_windows import encode_words
    from nlptransfer.models.pretrained import load_tokenizer, model_architecture

    table = read_tagged_table(shared_path("data", "conll2003", "validation.txt"), name="validation")
    tokenizer = load_tokenizer("minilm-l6", model_architecture("minilm-l6")[1])
    dataset = encode_words(tokenizer, table.words, 128, 16)
    assert sum(len(w.owned) for w in dataset.windows) == sum(map(len, table.words))
