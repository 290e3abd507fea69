"""Issuing signed access tokens (EdDSA / Ed25519) and publishing the matching JWKS.

Only the users service signs in production; tests sign with a throwaway key through the same code.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import OKPAlgorithm


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def generate_private_key_pem() -> bytes:
    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class TokenSigner:
    def __init__(
        self,
        private_key: Ed25519PrivateKey,
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int = 900,
    ) -> None:
        self._key = private_key
        self.issuer = issuer
        self.audience = audience
        self.ttl_seconds = ttl_seconds
        public = OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
        # RFC 7638 thumbprint: stable across restarts, changes only when the key does.
        canonical = json.dumps(
            {"crv": public["crv"], "kty": public["kty"], "x": public["x"]},
            separators=(",", ":"),
            sort_keys=True,
        )
        self.kid = _b64(hashlib.sha256(canonical.encode()).digest())
        self._jwk = {**public, "kid": self.kid, "use": "sig", "alg": "EdDSA"}

    def jwks(self) -> dict[str, Any]:
        return {"keys": [dict(self._jwk)]}

    def issue(
        self,
        subject: str,
        *,
        roles: Iterable[str] = (),
        ttl_seconds: int | None = None,
        now: float | None = None,
        extra: dict[str, Any] | None = None,
    ) -> str:
        issued = int(now if now is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": subject,
            "iat": issued,
            "nbf": issued,
            "exp": issued + (ttl_seconds if ttl_seconds is not None else self.ttl_seconds),
            "jti": uuid.uuid4().hex,
            "roles": sorted(set(roles)),
            **(extra or {}),
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})
