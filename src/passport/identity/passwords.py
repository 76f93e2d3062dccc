"""Password hashing (argon2id, OWASP parameters) and the password policy."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from passport.identity.errors import InvalidValue

MIN_LENGTH = 8
MAX_LENGTH = 1024

# OWASP's argon2id recommendation: m=19456 KiB, t=2, p=1.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


class PasswordPolicyError(InvalidValue):
    """A new password the policy refuses; the message says why."""


def check_password_text(password: str, *, field: str = "password") -> None:
    """Refuse passwords that cannot be hashed faithfully: NUL, unpaired surrogates, too long."""
    if "\x00" in password:
        raise InvalidValue("Password must not contain a NUL character.", field=field)
    if len(password) > MAX_LENGTH:
        raise InvalidValue(f"Password must be at most {MAX_LENGTH} characters.", field=field)
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(
            "Password must be valid Unicode text (it holds an unpaired surrogate).", field=field
        ) from None


def check_new_password(password: str, *, field: str = "password") -> None:
    """The policy for a new password: 8 to 1024 characters, not a common password."""
    check_password_text(password, field=field)
    if len(password) < MIN_LENGTH:
        raise PasswordPolicyError(
            f"Password must be at least {MIN_LENGTH} characters.", field=field
        )
    if password.casefold() in common_passwords():
        raise PasswordPolicyError(
            "Password is on the list of commonly used passwords; choose another.", field=field
        )


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords, casefolded."""
    text = files("passport.identity").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().casefold() for line in text.splitlines() if line and not line.startswith("#")
    )


class PasswordHashing:
    """argon2id hashing on a few dedicated threads: one per slot, each hash 19 MiB and CPU.

    Requests wait for a slot; the hashes themselves always run on the same few threads.
    So only those threads' memory arenas ever hold argon2's 19 MiB blocks: with hashes on
    whichever request thread, every thread of the pool came to keep one (a worker under
    login load grew to 345-365 MB; on the hashing threads it stays at 110 MB), and each hash
    finds its memory warm (measured over HTTP: about 4 % more logins a second).
    """

    def __init__(self, max_concurrent: int = 4) -> None:
        self.slots = max_concurrent
        self._threads = ThreadPoolExecutor(max_concurrent, thread_name_prefix="passport-argon2")
        self._dummy_hash = self._threads.submit(
            _HASHER.hash, "passport: a password nobody has"
        ).result()

    def hash(self, password: str) -> str:
        """A new argon2id hash of the password."""
        return self._threads.submit(_HASHER.hash, password).result()

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when the password matches. Without a hash, the same work against a dummy."""
        return self._threads.submit(self._verify, stored_hash, password).result()

    def _verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return _HASHER.verify(stored_hash or self._dummy_hash, password) and bool(stored_hash)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    @staticmethod
    def needs_rehash(stored_hash: str) -> bool:
        """True when the hash was made with other parameters than the current ones."""
        try:
            return _HASHER.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True
