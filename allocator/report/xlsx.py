"""A small, fast ``.xlsx`` writer for the tables of a run (``plan.xlsx``, ``compare.xlsx``).

openpyxl makes one Python object per cell and serialises each through an XML tree: on a 50k-column
plan (25k cells) that alone took about 1.4 s. The workbooks here need a fixed subset of the
format: values (text, numbers, booleans), a number format, bold/italic/coloured fonts, wrapped
header text, column widths, frozen header rows, an autofilter, print setup and print titles.
This module writes exactly that as SpreadsheetML text, with every distinct style written once,
and is read back by openpyxl, Excel and LibreOffice like the workbook openpyxl wrote (the tests
read it with openpyxl). The interface is the slice of openpyxl's that ``workbook.py`` used:
``Workbook().create_sheet(title)``, ``ws.cell(row=, column=, value=)`` with ``number_format``,
``font`` and ``alignment`` on the cell, ``ws.column_dimensions[letter].width``, ``ws.freeze_panes``,
``ws.auto_filter.ref`` and ``ws.print_title_rows``.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from openpyxl.styles.numbers import BUILTIN_FORMATS_REVERSE
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import to_excel

DATETIME_FORMAT = "yyyy-mm-dd h:mm:ss"
DATE_FORMAT = "yyyy-mm-dd"
ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")  # not allowed in XML 1.0 (openpyxl refuses them too)
INVALID_TITLE = re.compile(r"[\\*?:/\[\]]")


@dataclass(frozen=True)
class Font:
    bold: bool = False
    italic: bool = False
    color: str | None = None  # aRGB, as openpyxl writes it ("00" + RRGGBB)


@dataclass(frozen=True)
class Alignment:
    wrap_text: bool = False
    vertical: str | None = None


PLAIN_FONT = Font()
NO_ALIGNMENT = Alignment()


class Cell:
    __slots__ = ("value", "number_format", "font", "alignment")

    def __init__(self, value=None):
        self.value = value
        self.number_format = "General"
        self.font = PLAIN_FONT
        self.alignment = NO_ALIGNMENT


class _Dimension:
    __slots__ = ("width",)

    def __init__(self):
        self.width: float | None = None


class _Columns(dict):
    def __missing__(self, letter: str) -> _Dimension:
        self[letter] = d = _Dimension()
        return d


class _Filter:
    ref: str | None = None


class Worksheet:
    """Cells addressed one by one (``cell``) and whole columns of a table body (``put_column``)."""

    def __init__(self, title: str):
        self.title = title
        self.cells: dict[tuple[int, int], Cell] = {}
        self.columns: dict[int, tuple[int, list, list]] = {}  # column -> (first row, values, number formats)
        self.column_dimensions = _Columns()
        self.freeze_panes: str | None = None
        self.auto_filter = _Filter()
        self.print_title_rows: str | None = None  # e.g. "1:2"
        self.print_setup = False  # landscape, A4, one page wide, gridlines

    def cell(self, row: int, column: int, value=None) -> Cell:
        c = self.cells.get((row, column))
        if c is None:
            c = self.cells[(row, column)] = Cell()
            block = self.columns.get(column)
            if block is not None and 0 <= row - block[0] < len(block[1]):  # taken out of its column block
                k = row - block[0]
                c.value, fmt = block[1][k], block[2][k]
                c.number_format = fmt or "General"
                block[1][k] = TAKEN
        if value is not None:
            c.value = value
        return c

    def put_column(self, column: int, first_row: int, values: list, formats: list) -> None:
        """A table body's column: ``values`` from ``first_row`` down, each with its number format
        (``None``: General), plain font. The cells must not have been written before."""
        self.columns[column] = (first_row, list(values), list(formats))


TAKEN = object()  # a column block's entry that now lives in ``Worksheet.cells``


class Workbook:
    def __init__(self):
        self.worksheets: list[Worksheet] = []

    @property
    def sheetnames(self) -> list[str]:
        return [ws.title for ws in self.worksheets]

    def create_sheet(self, title: str) -> Worksheet:
        if INVALID_TITLE.search(title):
            raise ValueError(f"invalid character in sheet title {title!r}")
        taken = {t.lower() for t in self.sheetnames}
        name, n = title, 0
        while name.lower() in taken:  # as openpyxl: a taken title gets 1, 2, ... appended
            n += 1
            name = f"{title}{n}"
        ws = Worksheet(name)
        self.worksheets.append(ws)
        return ws

    def save(self, path: str | Path) -> None:
        styles = _Styles()
        sheets = [_sheet_xml(ws, styles) for ws in self.worksheets]
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("[Content_Types].xml", _content_types(len(sheets)))
            z.writestr("_rels/.rels", ROOT_RELS)
            z.writestr("docProps/app.xml", APP)
            z.writestr("xl/workbook.xml", _workbook_xml(self.worksheets))
            z.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(sheets)))
            z.writestr("xl/styles.xml", styles.xml())
            for i, text in enumerate(sheets, start=1):
                z.writestr(f"xl/worksheets/sheet{i}.xml", text)


class _Styles:
    """Distinct (number format, font, alignment) combinations, each one ``cellXfs`` entry."""

    def __init__(self):
        self.formats: dict[str, int] = {}  # custom number formats -> id (164 on)
        self.fonts: dict[Font, int] = {PLAIN_FONT: 0}
        self.xfs: dict[tuple[int, int, Alignment], int] = {(0, 0, NO_ALIGNMENT): 0}
        self.seen: dict[tuple[str, Font, Alignment], int] = {}

    def index(self, number_format: str, font: Font, alignment: Alignment) -> int:
        key = (number_format, font, alignment)
        got = self.seen.get(key)
        if got is None:
            fmt = BUILTIN_FORMATS_REVERSE.get(number_format)
            if fmt is None:
                fmt = self.formats.setdefault(number_format, 164 + len(self.formats))
            f = self.fonts.setdefault(font, len(self.fonts))
            got = self.seen[key] = self.xfs.setdefault((fmt, f, alignment), len(self.xfs))
        return got

    def xml(self) -> str:
        formats = "".join(f'<numFmt numFmtId="{i}" formatCode="{_attr(code)}"/>' for code, i in self.formats.items())
        fonts = "".join(_font_xml(f) for f in self.fonts)
        xfs = []
        for fmt, font, align in self.xfs:  # in index order
            attrs = f'numFmtId="{fmt}" fontId="{font}" fillId="0" borderId="0" xfId="0"'
            attrs += ' applyNumberFormat="1"' if fmt else ""
            attrs += ' applyFont="1"' if font else ""
            if align == NO_ALIGNMENT:
                xfs.append(f"<xf {attrs}/>")
            else:
                wrap = ' wrapText="1"' if align.wrap_text else ""
                vertical = f' vertical="{align.vertical}"' if align.vertical else ""
                xfs.append(f'<xf {attrs} applyAlignment="1"><alignment{vertical}{wrap}/></xf>')
        return (f'{HEAD}<styleSheet xmlns="{MAIN}"><numFmts count="{len(self.formats)}">{formats}</numFmts>'
                f'<fonts count="{len(self.fonts)}">{fonts}</fonts>'
                '<fills count="2"><fill><patternFill patternType="none"/></fill>'
                '<fill><patternFill patternType="gray125"/></fill></fills>'
                '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
                '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
                f'<cellXfs count="{len(xfs)}">{"".join(xfs)}</cellXfs>'
                '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
                "</styleSheet>")


def _font_xml(f: Font) -> str:
    parts = ("<b/>" if f.bold else "") + ("<i/>" if f.italic else "")
    parts += f'<color rgb="{f.color}"/>' if f.color else '<color theme="1"/>'
    return f'<font>{parts}<sz val="11"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _text(value: str, seen: dict[str, str] = {}) -> str:  # noqa: B006 (a memo: table text repeats a lot)
    got = seen.get(value)
    if got is None:
        if ILLEGAL.search(value):
            raise ValueError(f"{value!r} holds a control character a workbook cannot store")
        got = escape(value)
        if len(seen) < 100_000:
            seen[value] = got
    return got


def _value_xml(ref: str, value, style: int) -> str:
    s = f' s="{style}"' if style else ""
    if value is None:
        return f'<c r="{ref}"{s}/>'
    if value == "":
        return f'<c r="{ref}"{s} t="inlineStr"/>'
    if isinstance(value, str):
        space = ' xml:space="preserve"' if value != value.strip() else ""
        return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{_text(value)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (float, int)):  # 16 significant digits, as openpyxl writes numbers
        return f'<c r="{ref}"{s}><v>{value:.16g}</v></c>' if math.isfinite(value) else f'<c r="{ref}"{s}/>'
    if isinstance(value, (dt.datetime, dt.date)):
        return f'<c r="{ref}"{s}><v>{to_excel(value):.16g}</v></c>'
    return f'<c r="{ref}"{s} t="inlineStr"><is><t>{_text(str(value))}</t></is></c>'


def _sheet_xml(ws: Worksheet, styles: _Styles) -> str:
    rows: dict[int, list[tuple[int, str]]] = {}
    index = styles.index
    for (r, c), cell in ws.cells.items():
        value, fmt = cell.value, cell.number_format
        if isinstance(value, (dt.datetime, dt.date)) and fmt == "General":
            fmt = DATETIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT
        style = 0 if (fmt == "General" and cell.font is PLAIN_FONT and cell.alignment is NO_ALIGNMENT) \
            else index(fmt, cell.font, cell.alignment)
        rows.setdefault(r, []).append((c, _value_xml(f"{get_column_letter(c)}{r}", value, style)))
    plain: dict[str | None, int] = {None: 0}
    for c, (first, values, formats) in ws.columns.items():
        letter = get_column_letter(c)
        for r, value, fmt in zip(range(first, first + len(values)), values, formats):
            if value is TAKEN:
                continue
            style = plain.get(fmt)
            if style is None:
                style = plain[fmt] = index(fmt, PLAIN_FONT, NO_ALIGNMENT)
            rows.setdefault(r, []).append((c, _value_xml(f"{letter}{r}", value, style)))
    out = []
    for r in sorted(rows):
        cells = rows[r]
        cells.sort(key=lambda entry: entry[0])
        out.append(f'<row r="{r}">' + "".join(text for _, text in cells) + "</row>")
    max_row = max(rows) if rows else 1
    max_col = max((c for entries in rows.values() for c, _ in entries), default=1)
    dimension = f"A1:{get_column_letter(max_col)}{max_row}" if rows else "A1"
    head = [f'{HEAD}<worksheet xmlns="{MAIN}" xmlns:r="{REL}">']
    if ws.print_setup:
        head.append('<sheetPr><outlinePr summaryBelow="1" summaryRight="1"/><pageSetUpPr fitToPage="1"/></sheetPr>')
    head.append(f'<dimension ref="{dimension}"/>')
    head.append(_views(ws.freeze_panes))
    head.append('<sheetFormatPr baseColWidth="8" defaultRowHeight="15"/>')
    widths = sorted((_column_index(letter), d.width) for letter, d in ws.column_dimensions.items() if d.width)
    if widths:
        head.append("<cols>" + "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>' for i, w in widths)
                    + "</cols>")
    tail = []
    if ws.auto_filter.ref:
        tail.append(f'<autoFilter ref="{ws.auto_filter.ref}"/>')
    if ws.print_setup:
        tail.append('<printOptions gridLines="1"/>')
    tail.append('<pageMargins left="0.75" right="0.75" top="1" bottom="1" header="0.5" footer="0.5"/>')
    if ws.print_setup:
        tail.append('<pageSetup orientation="landscape" paperSize="9" fitToHeight="0" fitToWidth="1"/>')
    return "".join(head) + "<sheetData>" + "".join(out) + "</sheetData>" + "".join(tail) + "</worksheet>"


def _column_index(letter: str) -> int:
    n = 0
    for ch in letter:
        n = n * 26 + ord(ch) - 64
    return n


def _views(freeze: str | None) -> str:
    if not freeze or freeze == "A1":
        return '<sheetViews><sheetView workbookViewId="0"><selection activeCell="A1" sqref="A1"/></sheetView></sheetViews>'
    col = _column_index(re.match(r"[A-Z]+", freeze).group()) - 1
    row = int(re.search(r"\d+", freeze).group()) - 1
    split = (f' xSplit="{col}"' if col else "") + (f' ySplit="{row}"' if row else "")
    pane = "bottomRight" if col and row else ("bottomLeft" if row else "topRight")
    return (f'<sheetViews><sheetView workbookViewId="0"><pane{split} topLeftCell="{freeze}" activePane="{pane}" '
            f'state="frozen"/><selection pane="{pane}" activeCell="{freeze}" sqref="{freeze}"/></sheetView>'
            "</sheetViews>")


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


def _workbook_xml(sheets: list[Worksheet]) -> str:
    entries = "".join(f'<sheet name="{_attr(ws.title)}" sheetId="{i}" r:id="rId{i}"/>'
                      for i, ws in enumerate(sheets, start=1))
    names = []
    for i, ws in enumerate(sheets):
        if ws.auto_filter.ref:
            ref = re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", ws.auto_filter.ref)
            names.append(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
                         f"{escape(_quoted(ws.title))}!{ref}</definedName>")
        if ws.print_title_rows:
            first, last = ws.print_title_rows.split(":")
            names.append(f'<definedName name="_xlnm.Print_Titles" localSheetId="{i}">'
                         f"{escape(_quoted(ws.title))}!${first}:${last}</definedName>")
    defined = f"<definedNames>{''.join(names)}</definedNames>" if names else ""
    return (f'{HEAD}<workbook xmlns="{MAIN}" xmlns:r="{REL}"><workbookPr/>'
            '<bookViews><workbookView activeTab="0"/></bookViews>'
            f'<sheets>{entries}</sheets>{defined}<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>')


def _workbook_rels(n: int) -> str:
    sheets = "".join(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.xml"/>'
                     for i in range(1, n + 1))
    return (f'{HEAD}<Relationships xmlns="{PKG_REL}">{sheets}'
            f'<Relationship Id="rId{n + 1}" Type="{REL}/styles" Target="styles.xml"/></Relationships>')


def _content_types(n: int) -> str:
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                     'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, n + 1))
    return (f'{HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/docProps/app.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
            f"{sheets}</Types>")


HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
ROOT_RELS = (f'{HEAD}<Relationships xmlns="{PKG_REL}">'
             f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/>'
             f'<Relationship Id="rId2" Type="{REL}/extended-properties" Target="docProps/app.xml"/>'
             "</Relationships>")
APP = (f'{HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
       "<Application>allocator</Application></Properties>")
