"""``python -m pipelines`` runs the ``yiwang`` command line."""

from pipelines.cli import main

main()
