"""The job types and their data (the source's ``JobTypeMap``), checked when a job runs."""

from typing import Any, Literal

from pydantic import BaseModel, Field


class SendEmail(BaseModel):
    """SEND_EMAIL: a templated email to one recipient."""

    template: Literal["welcome", "promotion"]
    recipient: str = Field(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")
    user_id: str | None = None
    subject: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class GenerateReport(BaseModel):
    """GENERATE_REPORT: one report for one user, with its parameters."""

    report_type: Literal["activity", "billing"]
    user_id: str
    parameters: dict[str, Any] = Field(default_factory=dict)


class ReportResult(BaseModel):
    report_id: int
    rows: int
