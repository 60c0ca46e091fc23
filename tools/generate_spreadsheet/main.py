#!/opt/persona/office/venv/bin/python3 -BI
"""generate_spreadsheet: an .xlsx workbook from sheet descriptions (openpyxl).

Cells are typed from JSON: numbers, booleans, null (empty), strings; a string starting with
"=" is a formula, an ISO date ("2024-03-31") or date-time ("2024-03-31T14:30:00") string is a
date. {"value": ..., "type": ..., "numberFormat": ..., "bold": ...} says the type explicitly.
openpyxl stores formulas without cached results: Excel and LibreOffice compute them on open.
"""

import datetime
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.realpath(__file__)), "..", "office_runtime"))
import persona_office  # noqa: E402
from persona_office import fail  # noqa: E402

MAX_SHEETS = 50
MAX_CELLS = 100_000  # all sheets together
MAX_COLUMNS = 1_000
MAX_CHARTS = 10  # per sheet
MAX_CELL_TEXT = 32_767  # Excel's limit
HEADER_FILL = "7E5DFF"  # the primary design token
HEADER_TEXT = "FFFFFF"
SERIES_COLOURS = ["7E5DFF", "FFA726", "4DA0FC", "2EC4B6", "EF476F", "8D99AE"]
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?$")
SHEET_NAME_BAD = set('[]:*?/\\')


def parse_date(text, where, with_time):
    try:
        if with_time:
            return datetime.datetime.fromisoformat(text.replace(" ", "T"))
        return datetime.date.fromisoformat(text)
    except ValueError:
        fail("invalid_cell", f"{where}: {text!r} is not a valid {'date-time' if with_time else 'date'} (use 2024-03-31 or 2024-03-31T14:30:00)")


def cell_value(raw, where):
    """(value, number format or None, bold, is formula) of one cell description."""
    number_format = None
    bold = False
    kind = None
    value = raw
    if isinstance(raw, dict):
        if "value" not in raw:
            fail("invalid_cell", f"{where}: a cell object needs a value")
        value = raw["value"]
        kind = raw.get("type")
        number_format = raw.get("numberFormat")
        bold = bool(raw.get("bold", False))
    if value is None:
        return None, number_format, bold, False
    if kind is None:
        if isinstance(value, bool):
            kind = "boolean"
        elif isinstance(value, (int, float)):
            kind = "number"
        elif isinstance(value, str) and value.startswith("=") and len(value) > 1:
            kind = "formula"
        elif isinstance(value, str) and DATE_RE.match(value):
            kind = "date"
        elif isinstance(value, str) and DATETIME_RE.match(value):
            kind = "datetime"
        else:
            kind = "string"
    if kind == "string":
        text = value if isinstance(value, str) else str(value)
        if len(text) > MAX_CELL_TEXT:
            fail("cell_too_long", f"{where} has {len(text)} characters; a cell holds at most {MAX_CELL_TEXT}")
        if text.startswith("="):
            # Kept as text (the caller sets the cell's type: openpyxl takes "=..." for a formula).
            return text, number_format or "@", bold, "text"
        return text, number_format, bold, False
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(value) if "." in str(value) or "e" in str(value).lower() else int(value)
            except (TypeError, ValueError):
                fail("invalid_cell", f"{where}: {value!r} is not a number")
        return value, number_format, bold, False
    if kind == "boolean":
        if not isinstance(value, bool):
            fail("invalid_cell", f"{where}: {value!r} is not true or false")
        return value, number_format, bold, False
    if kind == "formula":
        if not isinstance(value, str) or not value.strip():
            fail("invalid_cell", f"{where}: a formula must be text like =SUM(B2:B4)")
        formula = value if value.startswith("=") else "=" + value
        if formula.count("(") != formula.count(")"):
            fail("invalid_cell", f"{where}: unbalanced parentheses in {formula}")
        if len(formula) > 8_192:
            fail("cell_too_long", f"{where}: a formula has at most 8192 characters")
        return formula, number_format, bold, True
    if kind in ("date", "datetime"):
        if not isinstance(value, str):
            fail("invalid_cell", f"{where}: a {kind} is an ISO text like 2024-03-31")
        parsed = parse_date(value, where, kind == "datetime" or "T" in value or " " in value)
        default = "yyyy-mm-dd hh:mm" if isinstance(parsed, datetime.datetime) else "yyyy-mm-dd"
        return parsed, number_format or default, bold, False
    fail("invalid_cell", f"{where}: type must be string, number, boolean, date, datetime or formula")


def charts_of(spec):
    return spec.get("charts") or []


def build(arguments):
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, PieChart, Reference
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.cell import column_index_from_string, coordinate_from_string, range_boundaries

    sheets = arguments.get("sheets")
    if not isinstance(sheets, list) or not sheets:
        fail("invalid_arguments", "sheets must be a non-empty array")
    if len(sheets) > MAX_SHEETS:
        fail("too_many_sheets", f"{len(sheets)} sheets requested; the limit is {MAX_SHEETS}")
    total_cells = 0
    for s, sheet in enumerate(sheets):
        rows = sheet.get("rows") if isinstance(sheet, dict) else None
        if not isinstance(rows, list):
            fail("invalid_arguments", f"sheets[{s}].rows must be an array of rows")
        for r, row in enumerate(rows):
            if not isinstance(row, list):
                fail("invalid_arguments", f"sheets[{s}].rows[{r}] must be an array of cells")
            if len(row) > MAX_COLUMNS:
                fail("too_many_columns", f"sheets[{s}].rows[{r}] has {len(row)} cells; the limit is {MAX_COLUMNS} columns")
            total_cells += len(row)
    if total_cells > MAX_CELLS:
        fail("too_many_cells", f"{total_cells} cells requested; the limit is {MAX_CELLS} cells in all sheets together")

    workbook = Workbook()
    workbook.remove(workbook.active)
    names = set()
    counts = {"rows": 0, "cells": 0, "formulas": 0, "charts": 0}
    header_font = Font(bold=True, color=HEADER_TEXT)
    header_fill = PatternFill("solid", start_color=HEADER_FILL, end_color=HEADER_FILL)
    bold_font = Font(bold=True)

    for s, spec in enumerate(sheets):
        where = f"sheets[{s}]"
        name = spec.get("name") or f"Sheet{s + 1}"
        if not isinstance(name, str) or len(name) > 31 or any(c in SHEET_NAME_BAD for c in name) or name.strip("'") != name:
            fail("invalid_arguments", f"{where}.name must be at most 31 characters without []:*?/\\ or leading/trailing quotes")
        if name.lower() in names:
            fail("invalid_arguments", f"{where}.name {name!r} is used twice (sheet names are case-insensitive)")
        names.add(name.lower())
        ws = workbook.create_sheet(title=name)
        rows = spec["rows"]
        header = spec.get("headerRow", True) and len(rows) > 0
        formats = spec.get("numberFormats") or {}
        column_formats = {}
        for column, number_format in formats.items():
            try:
                column_formats[column_index_from_string(column.upper())] = number_format
            except ValueError:
                fail("invalid_arguments", f"{where}.numberFormats: {column!r} is not a column letter (A, B, ..., AA)")
        widths = [0] * (max((len(r) for r in rows), default=0) + 1)
        for r, row in enumerate(rows):
            for c, raw in enumerate(row):
                cell_where = f"{where}.rows[{r}][{c}]"
                value, number_format, bold, formula = cell_value(raw, cell_where)
                if value is None and not isinstance(raw, dict):
                    continue
                cell = ws.cell(row=r + 1, column=c + 1, value=value)
                if formula == "text":
                    cell.data_type = "s"
                elif formula:
                    counts["formulas"] += 1
                if number_format:
                    cell.number_format = number_format
                elif (c + 1) in column_formats and not (header and r == 0):
                    cell.number_format = column_formats[c + 1]
                if header and r == 0:
                    cell.font = header_font
                    cell.fill = header_fill
                    cell.alignment = Alignment(vertical="center")
                elif bold:
                    cell.font = bold_font
                shown = value.isoformat() if isinstance(value, (datetime.date, datetime.datetime)) else str(value)
                widths[c + 1] = max(widths[c + 1], min(len(shown) if formula is not True else 10, 60))
            counts["cells"] += len(row)
        counts["rows"] += len(rows)

        explicit_widths = spec.get("columnWidths") or {}
        for column in range(1, len(widths)):
            ws.column_dimensions[get_column_letter(column)].width = max(8, widths[column] + 2)
        for column, width in explicit_widths.items():
            try:
                column_index_from_string(column.upper())
            except ValueError:
                fail("invalid_arguments", f"{where}.columnWidths: {column!r} is not a column letter")
            ws.column_dimensions[column.upper()].width = width
        # Printed (and converted to PDF) one page wide, as many pages tall as it takes.
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.page_setup.orientation = "landscape" if charts_of(spec) or len(widths) > 8 else "portrait"
        if header and spec.get("freezeHeader", True):
            ws.freeze_panes = "A2"
        if header and spec.get("autoFilter", False) and rows and rows[0]:
            ws.auto_filter.ref = f"A1:{get_column_letter(len(rows[0]))}{len(rows)}"

        charts = charts_of(spec)
        if len(charts) > MAX_CHARTS:
            fail("too_many_charts", f"{where} has {len(charts)} charts; the limit is {MAX_CHARTS} per sheet")
        for n, chart_spec in enumerate(charts):
            chart_where = f"{where}.charts[{n}]"
            kind = chart_spec.get("type", "column")
            try:
                min_col, min_row, max_col, max_row = range_boundaries(chart_spec["data"].upper())
            except (KeyError, ValueError, TypeError, AttributeError):
                fail("invalid_chart", f"{chart_where}.data must be a cell range like B1:C5")
            if None in (min_col, min_row, max_col, max_row):
                fail("invalid_chart", f"{chart_where}.data must be a bounded range like B1:C5, not whole rows or columns")
            titles = chart_spec.get("seriesNamesInFirstRow", True)
            if max_row > len(rows) or max_row - min_row < (1 if titles else 0):
                fail("invalid_chart", f"{chart_where}.data {chart_spec['data']} must lie inside the sheet's {len(rows)} rows and hold data")
            if kind == "pie" and max_col != min_col:
                fail("invalid_chart", f"{chart_where}: a pie chart takes one column of data")
            chart = {"bar": BarChart, "column": BarChart, "line": LineChart, "pie": PieChart}.get(kind)
            if chart is None:
                fail("invalid_chart", f"{chart_where}.type must be column, bar, line or pie")
            chart = chart()
            if kind in ("bar", "column"):
                chart.type = "bar" if kind == "bar" else "col"
                chart.grouping = "clustered"
            data = Reference(ws, min_col=min_col, min_row=min_row, max_col=max_col, max_row=max_row)
            chart.add_data(data, titles_from_data=titles)
            if chart_spec.get("categories"):
                try:
                    c_min_col, c_min_row, c_max_col, c_max_row = range_boundaries(chart_spec["categories"].upper())
                except (ValueError, TypeError, AttributeError):
                    fail("invalid_chart", f"{chart_where}.categories must be a cell range like A2:A5")
                if None in (c_min_col, c_min_row, c_max_col, c_max_row):
                    fail("invalid_chart", f"{chart_where}.categories must be a bounded range like A2:A5")
                chart.set_categories(Reference(ws, min_col=c_min_col, min_row=c_min_row, max_col=c_max_col, max_row=c_max_row))
            if chart_spec.get("title"):
                chart.title = str(chart_spec["title"])[:255]
            if kind != "pie":
                if chart_spec.get("xAxisTitle"):
                    chart.x_axis.title = str(chart_spec["xAxisTitle"])[:255]
                if chart_spec.get("yAxisTitle"):
                    chart.y_axis.title = str(chart_spec["yAxisTitle"])[:255]
                # openpyxl 3.1 hides axes unless told otherwise (delete="1").
                chart.x_axis.delete = False
                chart.y_axis.delete = False
                for i, series in enumerate(chart.series):
                    colour = SERIES_COLOURS[i % len(SERIES_COLOURS)]
                    if kind == "line":
                        series.graphicalProperties.line.solidFill = colour
                        series.graphicalProperties.line.width = 28575
                        series.smooth = False
                    else:
                        series.graphicalProperties.solidFill = colour
                        series.graphicalProperties.line.solidFill = colour
            chart.width = float(chart_spec.get("width", 18))
            chart.height = float(chart_spec.get("height", 9))
            anchor = chart_spec.get("anchor") or f"{get_column_letter(max(len(widths), 1) + 1)}2"
            try:
                coordinate_from_string(anchor.upper())
            except (ValueError, AttributeError):
                fail("invalid_chart", f"{chart_where}.anchor must be a cell like E2")
            ws.add_chart(chart, anchor.upper())
            counts["charts"] += 1

    if arguments.get("title"):
        workbook.properties.title = str(arguments["title"])[:255]
    workbook.properties.creator = str(arguments.get("author") or "Persona")[:255]
    return workbook, counts


def run(arguments):
    path = arguments.get("path")
    persona_office.resolve_output(path, ".xlsx", create=False)  # path problems before any work
    workbook, counts = build(arguments)
    relative, size, artifact = persona_office.save(path, ".xlsx", workbook.save)
    return {"path": relative, "bytes": size, "artifact": artifact, "sheets": len(workbook.sheetnames),
            "sheetNames": workbook.sheetnames, **counts}


if __name__ == "__main__":
    sys.exit(persona_office.main(run))
