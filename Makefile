# Set-up is part of both targets: a fresh machine needs only `make demo` or `make test`.
PY := .venv/bin/python

.venv/.installed: pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	# The CPU build of torch first: a bare "torch" requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[dev]"
	touch $@

.PHONY: demo test
demo: .venv/.installed  ## fine-tune minilm-l6 on the bundled SMS Spam sample, evaluate, save, predict
	HF_HUB_OFFLINE=1 .venv/bin/nlptransfer train --config tasks/configs/spam.yaml progress=false overwrite_output_dir=true
	.venv/bin/nlptransfer predict out/spam --text "WIN a FREE prize now, text CLAIM to 80080" --text "Running late, see you at 7"

test: .venv/.installed  ## the whole default test suite (CPU, offline; timings in the README)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider
