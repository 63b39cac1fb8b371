"""The test data both ends agree on: client.py sends it and servers.py
checks it, or the other way round, so it lives in one place."""

import random

CHUNK = 1 << 20


def gen(seed, nbytes):
    """Deterministic data: the same (seed, nbytes) gives the same chunks."""
    rng = random.Random(seed)
    left = nbytes
    while left > 0:
        k = min(CHUNK, left)
        yield rng.randbytes(k)
        left -= k
