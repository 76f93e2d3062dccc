"""Password hashes run on a few dedicated threads: as many at once as there are slots."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher

from passport.identity import passwords
from passport.identity.passwords import PasswordHashing

FAST = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)


class Recording:
    """A hasher that notes which thread verifies and how many verify at once."""

    def __init__(self, together: int = 1) -> None:
        # Each verification waits until `together` of them run at once: fewer slots than
        # that would never let them all arrive (and the wait times out).
        self.barrier = threading.Barrier(together, timeout=10)
        self.lock = threading.Lock()
        self.running = 0
        self.peak = 0
        self.threads: set[str] = set()

    def hash(self, password: str) -> str:
        return FAST.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        with self.lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
            self.threads.add(threading.current_thread().name)
        self.barrier.wait()
        try:
            return FAST.verify(stored, password)
        finally:
            with self.lock:
                self.running -= 1


def test_at_most_the_slots_verify_at_once_on_the_hashing_threads_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recording = Recording(together=2)
    monkeypatch.setattr(passwords, "_HASHER", recording)
    hashing = PasswordHashing(2)
    stored = hashing.hash("correct horse battery")

    with ThreadPoolExecutor(8) as callers:
        results = list(
            callers.map(
                lambda n: hashing.verify(stored, "correct horse battery" if n % 2 else "wrong"),
                range(8),
            )
        )

    assert results == [False, True] * 4
    assert recording.peak == 2
    assert len(recording.threads) == 2
    assert all(name.startswith("passport-argon2") for name in recording.threads)


def test_an_unknown_user_costs_a_verification_against_the_dummy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recording = Recording()
    monkeypatch.setattr(passwords, "_HASHER", recording)
    hashing = PasswordHashing(1)

    assert hashing.verify(None, "anything at all") is False
    assert len(recording.threads) == 1
