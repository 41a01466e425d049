"""The ticket PDF: one page and one QR code per seat, the QR carrying the signed code."""

import re
import shutil
import subprocess
import uuid
from datetime import UTC, datetime

import pytest

from tickets.codes import ticket_code_make, ticket_code_read
from tickets.pdf import TicketDocument, TicketLine, render_tickets_pdf


def document(seats: int) -> TicketDocument:
    lines = []
    for n in range(seats):
        ticket_id = uuid.uuid4()
        lines.append(
            TicketLine(str(ticket_id), f"A{n + 1}", "A", ticket_code_make(ticket_id=ticket_id))
        )
    return TicketDocument(
        booking_id=str(uuid.uuid4()),
        event_name="Spring Gala",
        venue="Main Hall",
        starts_at=datetime(2030, 5, 1, 19, 30, tzinfo=UTC),
        holder="Ada Lovelace",
        tickets=tuple(lines),
    )


def test_one_page_per_ticket():
    content = render_tickets_pdf(document(3))

    assert content.startswith(b"%PDF")
    assert len(re.findall(rb"/Type /Page\b", content)) == 3


def test_a_pdf_without_tickets_is_refused():
    with pytest.raises(ValueError):
        render_tickets_pdf(document(0))


def test_a_code_reads_back_to_its_ticket():
    ticket_id = uuid.uuid4()
    assert ticket_code_read(code=ticket_code_make(ticket_id=ticket_id)) == ticket_id
    assert ticket_code_read(code="x") is None


@pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
    reason="needs pdftoppm (poppler-utils) and zbarimg (zbar-tools) to read the QR codes",
)
def test_the_qr_codes_decode_to_the_signed_ticket_codes(tmp_path):
    doc = document(2)
    (tmp_path / "t.pdf").write_bytes(render_tickets_pdf(doc))
    subprocess.run(
        ["pdftoppm", "-png", "-r", "150", str(tmp_path / "t.pdf"), str(tmp_path / "page")],
        check=True,
    )
    decoded = []
    for page in sorted(tmp_path.glob("page-*.png")):
        out = subprocess.run(
            ["zbarimg", "-q", "--raw", str(page)], capture_output=True, text=True, check=True
        )
        decoded.append(out.stdout.strip())

    assert decoded == [line.code for line in doc.tickets]
