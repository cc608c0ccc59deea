"""A department's monthly statement as a PDF (ReportLab), with the platform's branding."""

from __future__ import annotations

import io
from collections.abc import Callable

from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

from civicloom.funding.domain import Statement, format_minor, meter_labels

BRAND_BLUE = (0x1D / 255, 0x70 / 255, 0xB8 / 255)
CJK_FONT = "STSong-Light"  # a built-in Adobe CID font: Chinese labels without font files


def _font(locale: str) -> tuple[str, str]:
    if locale.startswith("zh"):
        if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
        return CJK_FONT, CJK_FONT
    return "Helvetica", "Helvetica-Bold"


def render_statement_pdf(
    statement: Statement, _: Callable[[str], str], locale: str = "en"
) -> bytes:
    """One landscape A4 page per statement: the meters, the totals and the cost avoided."""
    regular, bold = _font(locale)
    buffer = io.BytesIO()
    width, height = landscape(A4)
    pdf = canvas.Canvas(buffer, pagesize=(width, height), invariant=True)
    pdf.setTitle(f"Funding statement {statement.department} {statement.month}")
    pdf.setAuthor("civicloom")
    left = 15 * mm
    pdf.setFillColorRGB(*BRAND_BLUE)
    pdf.rect(0, height - 18 * mm, width, 18 * mm, stroke=0, fill=1)
    pdf.setFillColorRGB(1, 1, 1)
    pdf.setFont(bold, 16)
    pdf.drawString(left, height - 12 * mm, f"civicloom · {_('Funding statement')}")
    pdf.setFillColorRGB(0, 0, 0)
    pdf.setFont(regular, 11)
    pdf.drawString(
        left,
        height - 27 * mm,
        f"{_('Department')}: {statement.department}   {_('Month')}: {statement.month}   "
        f"{_('Financial year')}: {statement.year}   {_('Currency')}: {statement.currency}",
    )
    headers = [
        _("Component"),
        _("Funding"),
        _("Meter"),
        _("Month"),
        _("Year to date"),
        _("Allowance"),
        _("Charged this month"),
        _("Charged year to date"),
        _("Forecast for the year"),
    ]
    columns = [left + x * mm for x in (0, 28, 50, 98, 114, 134, 154, 192, 230)]
    labels = meter_labels(_)
    y = height - 40 * mm
    pdf.setFont(bold, 8)
    for x, text in zip(columns, headers, strict=True):
        pdf.drawString(x, y, text)
    pdf.setFont(regular, 9)
    for line in statement.lines:
        y -= 6 * mm
        cells = [
            line.component,
            line.funding,
            labels.get(line.meter, line.meter) if line.meter else "-",
            str(line.month_quantity),
            str(line.ytd_quantity),
            str(line.allowance),
            format_minor(line.month_charge_minor, statement.currency),
            format_minor(line.ytd_charge_minor, statement.currency),
            format_minor(line.forecast_charge_minor, statement.currency),
        ]
        for x, text in zip(columns, cells, strict=True):
            pdf.drawString(x, y, text)
    y -= 9 * mm
    pdf.setFont(bold, 10)
    for label, amount in (
        (_("Charged this month"), statement.month_total_minor),
        (_("Charged year to date"), statement.ytd_total_minor),
        (_("Forecast for the year"), statement.forecast_total_minor),
        (_("Cost avoided this year"), statement.avoided_total_minor),
    ):
        pdf.drawString(left, y, f"{label}: {format_minor(amount, statement.currency)}")
        y -= 6 * mm
    pdf.setFont(regular, 8)
    pdf.drawString(
        left,
        12 * mm,
        _("Figures from the platform's daily usage facts; tariffs in blueprints/tariffs/."),
    )
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()
