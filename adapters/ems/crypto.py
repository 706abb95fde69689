"""SM4 body encryption of the EMS open platform, and the ems.inland-style parameter signature.

logitcsInterface = "|$4|" + Base64(SM4-ECB-PKCS5(json_text + signKey)), key = Base64Decode(signKey).
Appending signKey to the plaintext is what authenticates the body: a receiver checks the suffix."""

from __future__ import annotations

import base64
import binascii
import hashlib

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PREFIX = "|$4|"
BLOCK_BITS = 128


class SealError(ValueError):
    """A sealed body that does not open with our key: wrong key, tampered or not EMS's format."""


def sm4_ecb(key: bytes, data: bytes, *, encrypt: bool) -> bytes:
    """Raw SM4-ECB over whole blocks (no padding)."""
    cipher = Cipher(algorithms.SM4(key), modes.ECB())  # ECB: what the EMS protocol uses
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def sm4_encrypt(key: bytes, plaintext: bytes) -> bytes:
    padder = padding.PKCS7(BLOCK_BITS).padder()
    return sm4_ecb(key, padder.update(plaintext) + padder.finalize(), encrypt=True)


def sm4_decrypt(key: bytes, ciphertext: bytes) -> bytes:
    unpadder = padding.PKCS7(BLOCK_BITS).unpadder()
    return unpadder.update(sm4_ecb(key, ciphertext, encrypt=False)) + unpadder.finalize()


def key_from_sign_key(sign_key: str) -> bytes:
    return base64.b64decode(sign_key)


def seal(json_text: str, sign_key: str) -> str:
    ciphertext = sm4_encrypt(key_from_sign_key(sign_key), (json_text + sign_key).encode())
    return PREFIX + base64.b64encode(ciphertext).decode("ascii")


def unseal(sealed: str, sign_key: str) -> str:
    """The JSON text inside a sealed body; SealError unless it was sealed with `sign_key`."""
    if not sealed.startswith(PREFIX):
        raise SealError("not an SM4 body")
    try:
        plain = sm4_decrypt(key_from_sign_key(sign_key), base64.b64decode(sealed[len(PREFIX) :]))
        text = plain.decode("utf-8")
    except (ValueError, binascii.Error) as exc:
        raise SealError("body does not decrypt with our key") from exc
    if not text.endswith(sign_key):
        raise SealError("body is not signed with our key")
    return text[: -len(sign_key)]


def sign_params(params: dict[str, str], secret: str) -> str:
    """Base64(SHA-256(k1 v1 k2 v2 … secret)) with keys sorted, as the ems.inland gateway signs."""
    text = "".join(f"{k}{params[k]}" for k in sorted(params)) + secret
    return base64.b64encode(hashlib.sha256(text.encode()).digest()).decode("ascii")
