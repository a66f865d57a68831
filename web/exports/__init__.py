"""File exports of officers' views: CSV, XLSX (openpyxl) and PDF (reportlab, DejaVu Sans)."""
