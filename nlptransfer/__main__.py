"""``python -m nlptransfer ...``: the command line, where the ``nlptransfer`` script is not on PATH
(a notebook kernel started from another environment's Jupyter)."""
from .cli import main

main()
