"""Database access, one repository per model; no HTTP and no business rules here."""
