"""The job administration REST API (staff only), mounted at /api/jobs/."""
