"""Quality benchmark; the same as `ember bench quality` (src/ember/bench/quality.py).

python bench/quality/run.py [--model NAME ...] [--mode no-tools|tools] [--limit N] [-o FILE]
"""

import sys

from ember.cli.app import main

if __name__ == "__main__":
    sys.argv[1:1] = ["bench", "quality"]
    main()
