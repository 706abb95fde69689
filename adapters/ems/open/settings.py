from __future__ import annotations

from dataclasses import dataclass

from ..settings import EmsSettings


@dataclass(frozen=True)
class EmsOpenSettings(EmsSettings):
    """`endpoint` is the one open-platform URL, e.g. …/amp-prod-api/f/amp/api/open; `sign_key` is Base64
    of the 16-byte SM4 key."""

    authorization: str = ""
    ecommerce_user_id: str = ""
