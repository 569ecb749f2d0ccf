"""Retrieval benchmark; the same as `ember bench retrieval` (src/ember/bench/retrieval.py).

python bench/retrieval/run.py [--set pydoc|stdlib|heldout|manual] [--topic NAME ...]
    [--model NAME] [-o FILE]

--set pydoc (the default) asks questions.json of CPython's documentation topics; --set
stdlib asks questions-stdlib.json of the standard library's docstrings; --set heldout asks
questions-heldout.json of other modules' docstrings, a set held out from tuning; --set
manual asks questions-manual.json of GNU manuals written as Word and PDF files, held out.
"""

import sys
from pathlib import Path

from ember.bench.retrieval import DEFAULT_SET, SETS
from ember.cli.app import main


def chosen_set(args: list[str]) -> str:
    """The value of --set in ``args`` (either spelling), else the default."""
    for i, arg in enumerate(args):
        if arg == "--set" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--set="):
            return arg.split("=", 1)[1]
    return DEFAULT_SET


if __name__ == "__main__":
    args = sys.argv[1:]
    given = any(a == "--questions" or a.startswith("--questions=") for a in args)
    name = chosen_set(args)
    if not given and name in SETS:  # an unknown set: the command says so
        args = ["--questions", str(Path(__file__).with_name(SETS[name].questions)), *args]
    sys.argv[1:] = ["bench", "retrieval", *args]
    main()
