"""The case: its contract, intake, procedure findings and working days."""
