"""Nearest 50 of 100,000 unit vectors (384 dimensions): sqlite-vec's vec0 table against
the in-memory numpy matrix Ember uses (src/ember/documents/vector_index.py).

Needs a Python whose sqlite3 can load extensions (Debian's /usr/bin/python3 can; a
pyenv-built one often cannot) and `pip install sqlite-vec numpy`:

    python bench/retrieval/vec0_vs_numpy.py
"""

import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np
import sqlite_vec  # type: ignore[import-not-found]

N, D, K = 100_000, 384, 50


def median_ms(run: object, repeat: int = 7) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return sorted(times)[repeat // 2] * 1000


def main() -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((N, D)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    query = vectors[123] + 0.1 * rng.standard_normal(D).astype(np.float32)
    query /= np.linalg.norm(query)
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "vec.db")
        db.enable_load_extension(True)
        sqlite_vec.load(db)
        db.execute(
            f"CREATE VIRTUAL TABLE vec USING vec0(embedding float[{D}] distance_metric=cosine)"
        )
        db.executemany(
            "INSERT INTO vec(rowid, embedding) VALUES (?, ?)",
            [(i + 1, vectors[i].tobytes()) for i in range(N)],
        )
        db.commit()
        sql = "SELECT rowid, distance FROM vec WHERE embedding MATCH ? AND k = ?"
        vec0 = median_ms(lambda: db.execute(sql, (query.tobytes(), K)).fetchall())
        db.close()

    def in_memory() -> None:
        scores = vectors @ query
        top = np.argpartition(-scores, K - 1)[:K]
        top[np.argsort(-scores[top])]

    print(f"{N} vectors x {D}: vec0 k={K} {vec0:.1f} ms, numpy in memory {median_ms(in_memory):.1f} ms")


if __name__ == "__main__":
    main()
