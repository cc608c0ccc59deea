"""The licence PDF (ReportLab) with its QR code (segno) and the signed token inside it."""

from __future__ import annotations

import io
import re
import textwrap
from datetime import UTC, datetime
from typing import Any

import segno
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen import canvas

TOKEN_MARKER = "civicloom-licence:"  # noqa: S105 - a marker, not a secret
_TOKEN = re.compile(rb"civicloom-licence:([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)")


def _date(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%d %B %Y")


def _qr(pdf: canvas.Canvas, url: str, x: float, y: float, size: float) -> None:
    """Draw the QR code as vector squares (sharp at any zoom, no image library needed)."""
    code = segno.make(url, error="m")
    rows = list(code.matrix_iter(scale=1, border=2))
    cell = size / len(rows)
    pdf.setFillColorRGB(0, 0, 0)
    for r, row in enumerate(rows):
        for c, dark in enumerate(row):
            if dark:
                pdf.rect(x + c * cell, y + size - (r + 1) * cell, cell, cell, stroke=0, fill=1)


def render_licence_pdf(claims: dict[str, Any], token: str, verification_url: str) -> bytes:
    """A one-page A4 licence; the compact JWS is in the document keywords and printed."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle(f"Licence {claims['jti']}")
    pdf.setAuthor(str(claims.get("dept", "civicloom")))
    pdf.setSubject(f"Verify at {verification_url}")
    pdf.setKeywords(f"{TOKEN_MARKER}{token}")
    width, height = A4
    left = 20 * mm
    pdf.setFont("Helvetica-Bold", 22)
    pdf.drawString(left, height - 30 * mm, "Licence")
    pdf.setFont("Helvetica", 11)
    pdf.drawString(left, height - 38 * mm, f"Licence number {claims['jti']}")
    holder = claims.get("holder", {})
    lines = [
        ("Holder", str(holder.get("name", ""))),
        ("Registration number", str(holder.get("registration_number", "") or "-")),
        ("Activity", str(claims.get("activity", ""))),
        ("Premises", str(claims.get("premises", ""))),
        ("Valid from", _date(int(claims["nbf"]))),
        ("Valid until", _date(int(claims["exp"]))),
        ("Issued by", str(claims.get("dept", ""))),
        ("Signing key", str(claims.get("kid", ""))[:24]),
    ]
    y = height - 55 * mm
    for label, value in lines:
        pdf.setFont("Helvetica-Bold", 11)
        pdf.drawString(left, y, label)
        pdf.setFont("Helvetica", 11)
        pdf.drawString(left + 50 * mm, y, value[:80])
        y -= 8 * mm
    qr_size = 45 * mm
    _qr(pdf, verification_url, width - left - qr_size, height - 30 * mm - qr_size, qr_size)
    pdf.setFont("Helvetica", 9)
    pdf.drawString(left, y - 4 * mm, f"Check this licence: {verification_url}")
    pdf.drawString(left, y - 9 * mm, "or offline: civicloom verify <this file> --jwks jwks.json")
    pdf.setFont("Courier", 5.5)
    ty = 40 * mm
    pdf.drawString(left, ty + 4 * mm, "Signed payload (compact JWS, Ed25519):")
    for chunk in textwrap.wrap(token, 110, break_on_hyphens=False)[:24]:
        pdf.drawString(left, ty, chunk)
        ty -= 2.6 * mm
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def extract_token(data: bytes) -> str | None:
    """The compact JWS embedded in a licence PDF (or None)."""
    match = _TOKEN.search(data)
    return match.group(1).decode("ascii") if match else None
