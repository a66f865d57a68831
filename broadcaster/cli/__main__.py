"""``python -m broadcaster.cli``: the same as the ``broadcaster`` script."""

from broadcaster.cli import main

main()
