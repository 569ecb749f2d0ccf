"""Engine benchmark; the same as `ember bench engine` (see src/ember/bench/engine_bench.py).

python bench/engine.py [--model NAME ...] [--llama-bin PATH/TO/llama.cpp/build/bin]
"""

import sys

from ember.cli.app import main

if __name__ == "__main__":
    sys.argv[1:1] = ["bench", "engine"]
    main()
