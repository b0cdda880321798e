"""How hard a password hash is to compute, as a setting.

Production keeps argon2-cffi's defaults, RFC 9106's low-memory profile
(argon2id, t=3, m=64 MiB, p=4), stronger than OWASP's minimum (m=19 MiB, t=2,
p=1). The test suite hashes thousands of passwords, so it sets cheap
parameters; an app that is not testing refuses to start with parameters below
OWASP's minimum, so a test configuration copied into production fails loudly
instead of storing weak hashes. A hash records its own parameters, so hashes
made under other settings still verify.
"""
from __future__ import annotations

from argon2 import DEFAULT_MEMORY_COST, DEFAULT_PARALLELISM, DEFAULT_TIME_COST, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, current_app

# OWASP's minimum for argon2id: below either, the app only starts when TESTING.
MIN_TIME_COST = 2
MIN_MEMORY_KIB = 19 * 1024

DEFAULTS = {
    "PASSWORD_HASH_TIME_COST": DEFAULT_TIME_COST,
    "PASSWORD_HASH_MEMORY_KIB": DEFAULT_MEMORY_COST,
    "PASSWORD_HASH_PARALLELISM": DEFAULT_PARALLELISM,
}
# What the test suite uses: the cheapest argon2id that argon2 accepts.
TEST_GRADE = {"PASSWORD_HASH_TIME_COST": 1, "PASSWORD_HASH_MEMORY_KIB": 8,
              "PASSWORD_HASH_PARALLELISM": 1}


class WeakHashingRefused(SystemExit):
    """Raised by create_app: one line, no traceback, from the CLI and gunicorn alike."""


def init_app(app: Flask) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    time_cost = int(app.config["PASSWORD_HASH_TIME_COST"])
    memory_kib = int(app.config["PASSWORD_HASH_MEMORY_KIB"])
    parallelism = int(app.config["PASSWORD_HASH_PARALLELISM"])
    if not app.config.get("TESTING") and (time_cost < MIN_TIME_COST or memory_kib < MIN_MEMORY_KIB):
        raise WeakHashingRefused(
            f"Refusing to start: password hashing set to test-grade parameters (time cost {time_cost},"
            f" {memory_kib} KiB); these are for the test suite only. Unset PASSWORD_HASH_* or set"
            f" at least time cost {MIN_TIME_COST} and {MIN_MEMORY_KIB} KiB.")
    app.extensions["password_hasher"] = PasswordHasher(
        time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism)


def password_hasher(app: Flask) -> PasswordHasher:
    return app.extensions["password_hasher"]


def hash_password(password: str) -> str:
    """A new argon2id hash. Slow on purpose: never call it inside a write transaction."""
    return password_hasher(current_app).hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored_hash``; with no hash (no such account) the same
    work is done, so a missing account takes as long as a wrong password."""
    if not stored_hash:
        hash_password(password)
        return False
    try:
        return password_hasher(current_app).verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False
