"""Retrieval benchmark; the same as `ember bench retrieval` (src/ember/bench/retrieval.py).

python bench/retrieval/run.py [--topic NAME ...] [--model NAME] [-o FILE]
"""

import sys
from pathlib import Path

from ember.cli.app import main

if __name__ == "__main__":
    questions = Path(__file__).with_name("questions.json")
    sys.argv[1:1] = ["bench", "retrieval", "--questions", str(questions)]
    main()
