"""Cell values that spreadsheet programs will not execute."""

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_CELL_LIMIT = 32_767


def safe_cell(value) -> str:
    """Text for a CSV or XLSX cell: a leading character that would start a formula
    is neutralised with an apostrophe (OWASP CSV injection)."""
    text = "" if value is None else str(value)
    if text.startswith(FORMULA_PREFIXES):
        text = "'" + text
    return text


def xlsx_cell(value) -> str:
    text = safe_cell(value)
    if len(text) > EXCEL_CELL_LIMIT:
        marker = " […]"
        text = text[: EXCEL_CELL_LIMIT - len(marker)] + marker
    return text
