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
    """A safe cell within Excel's limit, counted as Excel counts it, in UTF-16 code
    units (an emoji is two): a long text is cut with a visible marker rather than
    cut again, without it, by the writer."""
    text = safe_cell(value)
    if len(text) <= EXCEL_CELL_LIMIT // 2 or len(text.encode("utf-16-le")) // 2 <= EXCEL_CELL_LIMIT:
        return text
    marker = " […]"
    budget = EXCEL_CELL_LIMIT - len(marker)
    out, used = [], 0
    for char in text:
        units = 2 if ord(char) > 0xFFFF else 1
        if used + units > budget:
            break
        out.append(char)
        used += units
    return "".join(out) + marker


def workbook(target, *, streaming: bool = False):
    """An XlsxWriter workbook that never turns a text into a formula or a link
    (whatever a State typed stays text). ``streaming``: rows are written out as
    they come (constant memory) instead of kept in memory."""
    import xlsxwriter

    return xlsxwriter.Workbook(
        target,
        {"constant_memory" if streaming else "in_memory": True, "strings_to_formulas": False, "strings_to_urls": False},
    )
