"""`python -m seqnet` is the `seqnet` command."""

from seqnet.cli import main

main()
