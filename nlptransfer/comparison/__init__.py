"""``nlptransfer compare``: the grid of models x strategies x seeds x train fractions, one run
per process, the classic baselines, the transfer-gain summary and its report."""
