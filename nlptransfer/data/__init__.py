"""Reading and checking inputs, and turning them into batches: labelled texts, tagged words and
their tag schemes, sub-word windows for tagging, tokenised datasets and loaders."""
