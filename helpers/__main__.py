"""`python -m helpers`: the collection's command line (see helpers.collection.cli)."""

import sys

from helpers.collection.cli import main

if __name__ == "__main__":
    sys.exit(main())
