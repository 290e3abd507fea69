"""Loading the token-signing key, with an error that says what to fix."""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from chassis import load_private_key


class SigningKeyError(RuntimeError):
    pass


def load_signing_key(path: Path) -> Ed25519PrivateKey:
    try:
        return load_private_key(path)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise SigningKeyError(f"JWT_PRIVATE_KEY_FILE {path}: cannot read it ({reason})") from exc
    except (ValueError, TypeError) as exc:
        # ValueError: not PEM, or not Ed25519; TypeError: the key is password-protected.
        raise SigningKeyError(
            f"JWT_PRIVATE_KEY_FILE {path}: not an unencrypted PEM Ed25519 private key ({exc})"
        ) from exc
