"""The estimators users fit: ``TextClassifier`` and ``EntityTagger``, the fitting steps behind
them, and the fitted record that saving, loading and reporting take."""
