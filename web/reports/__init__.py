"""Campaign and period reports: figures, charts, XLSX and PDF exports."""
