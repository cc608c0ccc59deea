"""The counter receipt as a PDF (ReportLab), with the platform's branding (ADR 0044): the
reference, the service, the date and how to take the application over online."""

from __future__ import annotations

import io
from collections.abc import Callable

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from civicloom.portal.counter import CounterReceipt

BRAND_BLUE = (0x1D / 255, 0x70 / 255, 0xB8 / 255)
CJK_FONT = "STSong-Light"  # a built-in Adobe CID font: Chinese text without font files


def _fonts(locale: str) -> tuple[str, str]:
    if locale.startswith("zh"):
        if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        return CJK_FONT, CJK_FONT
    return "Helvetica", "Helvetica-Bold"


def render_receipt_pdf(
    receipt: CounterReceipt,
    _: Callable[[str], str],
    *,
    locale: str,
    claim_url: str,
    document_label: str,
) -> bytes:
    """One A4 page: what was applied for, for whom, and the claim code with where to enter it."""
    regular, bold = _fonts(locale)
    buffer = io.BytesIO()
    width, height = A4
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setTitle(f"{_('Counter receipt')} {receipt.reference}")
    pdf.setAuthor("civicloom")
    left = 20 * mm
    pdf.setFillColorRGB(*BRAND_BLUE)
    pdf.rect(0, height - 20 * mm, width, 20 * mm, stroke=0, fill=1)
    pdf.setFillColorRGB(1, 1, 1)
    pdf.setFont(bold, 16)
    pdf.drawString(left, height - 13 * mm, f"civicloom · {_('Counter receipt')}")
    pdf.setFillColorRGB(0, 0, 0)
    names = receipt.blueprint.title
    title = names.zh_hans if locale.startswith("zh") else names.en
    lines = [
        (_("Reference"), receipt.reference),
        (_("Service"), title),
        (_("Date"), receipt.submitted_at.date().isoformat()),
        (_("Applicant"), receipt.name_on_document),
        (_("Identity document seen"), f"{document_label} {receipt.document_number_hint}"),
    ]
    y = height - 36 * mm
    for label, value in lines:
        pdf.setFont(bold, 11)
        pdf.drawString(left, y, label)
        pdf.setFont(regular, 11)
        pdf.drawString(left + 55 * mm, y, value)
        y -= 8 * mm
    y -= 6 * mm
    pdf.setFont(bold, 13)
    pdf.drawString(left, y, _("Follow your application online"))
    y -= 8 * mm
    pdf.setFont(regular, 11)
    for text in (
        _("Sign in to the portal and enter this claim code: the application becomes yours."),
        _("The code works once. Keep it safe: whoever enters it takes the application over."),
        _("Where to enter it"),
    ):
        pdf.drawString(left, y, text)
        y -= 6 * mm
    pdf.setFont("Helvetica", 11)
    pdf.drawString(left, y, claim_url)
    y -= 12 * mm
    if receipt.claim_code:
        pdf.setFont(bold, 11)
        pdf.drawString(left, y, _("Claim code"))
        pdf.setFont("Courier-Bold", 20)
        pdf.drawString(left + 55 * mm, y - 1 * mm, receipt.claim_code)
        y -= 10 * mm
    pdf.setFont(regular, 11)
    pdf.drawString(
        left,
        y,
        f"{_('Use it before')} {receipt.claim_expires_at.date().isoformat()}",
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
