"""`python -m tailwatch.cli`: the same command as the `tailwatch` entry point."""

from tailwatch.cli import main

main()
