"""How many streaming answers one front end's SQLite database keeps up with.

A front end's database work per answer: the question and the answer's row added, the
answer's text written every 0.25 s while it streams (chat/assistant.py), its final state
once. Inference runs elsewhere (on workers), so this is what bounds one front end's
users. The benchmark writes that pattern as fast as it can from several threads (the
server's one writer path serialises them), on a real file in WAL mode with the
conversation search index (FTS5) kept up to date by its triggers, and reports writes
per second and the concurrent streams that rate covers at 4 writes per second each.

    python bench/store_writes.py [--answers 300] [--threads 4] [--updates 40]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path

from ember.chat.conversations import ConversationStore
from ember.storage import Database

WORDS = "The answer grows by a few words every quarter of a second while it streams. "


def answer(store: ConversationStore, updates: int) -> int:
    """One answer's writes; returns how many."""
    conversation = store.create(title="load")
    question = store.add_message(
        conversation.id, role="user", content="A question?", parent_id=None
    )
    reply = store.add_message(
        conversation.id, role="assistant", content="", parent_id=question.id, status="streaming"
    )
    text = ""
    for _ in range(updates):
        text += WORDS
        store.update_message(reply.id, content=text)
    store.update_message(reply.id, content=text, status="complete", meta={"usage": {}})
    return 3 + updates + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--updates", type=int, default=40, help="text writes per answer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(Path(tmp) / "ember.db")
        store = ConversationStore(db)
        writes = [0] * args.threads
        per_thread = args.answers // args.threads

        def work(i: int) -> None:
            for _ in range(per_thread):
                writes[i] += answer(store, args.updates)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(args.threads)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        db.close()
    total = sum(writes)
    rate = total / elapsed
    print(
        json.dumps(
            {
                "answers": per_thread * args.threads,
                "writes": total,
                "seconds": round(elapsed, 2),
                "writes_per_s": round(rate),
                "answers_per_s": round(per_thread * args.threads / elapsed, 1),
                "streams_covered_at_4_writes_per_s": round(rate / 4),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
