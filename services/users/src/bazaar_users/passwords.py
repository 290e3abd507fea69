"""Argon2id password hashing, run in worker threads because it is CPU- and memory-bound."""

from __future__ import annotations

import asyncio

import argon2
from argon2.exceptions import InvalidHashError, VerificationError


class Argon2PasswordHasher:
    def __init__(self, hasher: argon2.PasswordHasher | None = None) -> None:
        # argon2-cffi's defaults follow RFC 9106's low-memory recommendation.
        self._hasher = hasher or argon2.PasswordHasher()

    async def hash(self, password: str) -> str:
        return str(await asyncio.to_thread(self._hasher.hash, password))

    async def verify(self, password_hash: str, password: str) -> bool:
        return await asyncio.to_thread(self._verify, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        try:
            return bool(self._hasher.check_needs_rehash(password_hash))
        except InvalidHashError:
            return False

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return bool(self._hasher.verify(password_hash, password))
        except (VerificationError, InvalidHashError):
            return False
