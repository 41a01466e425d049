"""The ticket PDF of a booking: one page per seat, each with the QR code of its ticket.

Rendering is pure: it takes plain data and touches neither the database nor the network,
so callers run it outside any transaction (it is the slow part of ticket generation).

ReportLab is imported by the functions that draw, not by this module: importing it costs
about a second of CPU, which every worker, beat and ``celery`` command would otherwise pay
at start (the tasks module imports this one) whether or not it ever renders a ticket.
"""

import io
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reportlab.graphics.shapes import Drawing


@dataclass(frozen=True)
class TicketLine:
    ticket_id: str
    seat_label: str
    section: str
    code: str


@dataclass(frozen=True)
class TicketDocument:
    booking_id: str
    event_name: str
    venue: str
    starts_at: datetime
    holder: str
    tickets: tuple[TicketLine, ...]


MM = 72 / 25.4  # reportlab.lib.units.mm: points per millimetre
QR_SIZE = 60 * MM


def _qr_drawing(value: str) -> "Drawing":
    from reportlab.graphics.barcode.qr import QrCodeWidget
    from reportlab.graphics.shapes import Drawing

    widget = QrCodeWidget(value, barLevel="M")
    x0, y0, x1, y1 = widget.getBounds()
    drawing = Drawing(
        QR_SIZE, QR_SIZE, transform=[QR_SIZE / (x1 - x0), 0, 0, QR_SIZE / (y1 - y0), 0, 0]
    )
    drawing.add(widget)
    return drawing


def render_tickets_pdf(document: TicketDocument) -> bytes:
    """A PDF (bytes starting with %PDF) with one page and one QR code per ticket."""
    if not document.tickets:
        raise ValueError("a ticket PDF needs at least one ticket")
    from reportlab.graphics import renderPDF
    from reportlab.lib.pagesizes import A6, landscape
    from reportlab.pdfgen import canvas

    mm = MM
    buffer = io.BytesIO()
    size = landscape(A6)
    pdf = canvas.Canvas(buffer, pagesize=size)
    pdf.setTitle(f"Tickets {document.event_name}")
    pdf.setSubject(f"booking {document.booking_id}")
    width, height = size
    for number, line in enumerate(document.tickets, start=1):
        pdf.setFont("Helvetica-Bold", 14)
        pdf.drawString(8 * mm, height - 12 * mm, document.event_name[:40])
        pdf.setFont("Helvetica", 9)
        pdf.drawString(8 * mm, height - 18 * mm, document.venue[:60])
        pdf.drawString(8 * mm, height - 23 * mm, f"{document.starts_at:%A %d %B %Y, %H:%M %Z}")
        pdf.setFont("Helvetica-Bold", 22)
        pdf.drawString(8 * mm, height - 40 * mm, f"Seat {line.seat_label}")
        pdf.setFont("Helvetica", 9)
        if line.section:
            pdf.drawString(8 * mm, height - 46 * mm, f"Section {line.section}")
        pdf.drawString(8 * mm, height - 52 * mm, f"Holder: {document.holder[:40]}")
        pdf.drawString(8 * mm, 14 * mm, f"Ticket {line.ticket_id}")
        pdf.drawString(8 * mm, 9 * mm, f"Booking {document.booking_id}")
        pdf.drawString(8 * mm, 4 * mm, f"{number} of {len(document.tickets)}")
        renderPDF.draw(_qr_drawing(line.code), pdf, width - QR_SIZE - 6 * mm, 12 * mm)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
