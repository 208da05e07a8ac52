"""``python -m sync.cli``: the ``crmsync`` command without its console script."""

from sync.cli import main

main()
