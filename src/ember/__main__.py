"""`python -m ember` runs the same CLI as the `ember` console script."""

from ember.cli.app import main

main()
