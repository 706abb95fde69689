"""Printed matter: EMS waybill labels (PDF, A4 sheets, ZPL) and the courier handover manifest."""

from .content import NotBooked
from .render import LABEL_SIZES, PdfLabelRenderer, clear_caches, render_labels, render_manifest, render_zpl

__all__ = [
    "LABEL_SIZES",
    "NotBooked",
    "PdfLabelRenderer",
    "clear_caches",
    "render_labels",
    "render_manifest",
    "render_zpl",
]
