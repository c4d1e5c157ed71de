"""`python -m ivr.cli`: the `ivr` command (how `ivr serve` starts its scheduler)."""

from ivr.cli import main

main()
