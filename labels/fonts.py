"""The CJK font for labels: an embedded TrueType face when one is found, else reportlab's STSong-Light.

Characters the font cannot draw are replaced by a visible box, so a rare name character (𠮷) never
vanishes silently from a label."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

FONT_PATH_ENV = "CERTPOST_LABEL_FONT"
CID_FALLBACK = "STSong-Light"
MISSING_GLYPH_MARKS = ("□", "〓", "?")

# (path, subfont index) tried in order; CFF/OTF faces (Noto CJK) do not load in reportlab.
CANDIDATES = (
    ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0),
    ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0),
    ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf", 0),
    ("/usr/share/fonts/truetype/arphic/uming.ttc", 0),
    ("/System/Library/Fonts/STHeiti Medium.ttc", 0),
    ("C:/Windows/Fonts/simhei.ttf", 0),
    ("C:/Windows/Fonts/simsun.ttc", 0),
)


@dataclass(frozen=True)
class LabelFont:
    """A registered font and the characters it can draw (None: judged by GBK encodability)."""

    name: str
    embedded: bool
    codepoints: frozenset[int] | None = field(default=None, repr=False, compare=False)

    def can_draw(self, char: str) -> bool:
        if self.codepoints is not None:
            return ord(char) in self.codepoints
        return _in_gbk(char)

    @property
    def missing_mark(self) -> str:
        return next(mark for mark in MISSING_GLYPH_MARKS if self.can_draw(mark))

    def printable(self, text: str) -> str:
        return _printable(self, text)


@lru_cache(maxsize=4096)
def _printable(font: LabelFont, text: str) -> str:
    """Control characters become spaces; characters without a glyph become a visible mark."""
    mark = font.missing_mark
    out = []
    for char in text:
        if char < " " or char == "\x7f":
            out.append(" ")
        elif font.can_draw(char):
            out.append(char)
        else:
            out.append(mark)
    return "".join(out)


def _in_gbk(char: str) -> bool:
    try:
        char.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


@lru_cache(maxsize=8)
def load_font(path: str | None = None, subfont_index: int = 0) -> LabelFont:
    """Register the label font once per process: `path`, else $CERTPOST_LABEL_FONT, else a known face."""
    chosen = path or os.environ.get(FONT_PATH_ENV)
    tries = [(chosen, subfont_index)] if chosen else list(CANDIDATES)
    for candidate, index in tries:
        if candidate and Path(candidate).is_file():
            return _register_truetype(candidate, index)
    if chosen:
        raise FileNotFoundError(f"label font not found: {chosen}")
    return _register_cid_fallback()


def _register_truetype(path: str, index: int) -> LabelFont:
    name = f"LabelCJK-{Path(path).stem}-{index}"
    if name not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=index))
    face = pdfmetrics.getFont(name).face
    return LabelFont(name, embedded=True, codepoints=frozenset(face.charToGlyph))


def _register_cid_fallback() -> LabelFont:
    if CID_FALLBACK not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CID_FALLBACK))
    return LabelFont(CID_FALLBACK, embedded=False)
