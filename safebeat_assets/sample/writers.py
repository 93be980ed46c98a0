"""Write the generated tables in the exact landing-file formats (byte-deterministic)."""

from __future__ import annotations

import io
import json
import re
import zipfile
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from shapely.geometry import mapping

from .vocabulary import (
    BLOCK_GROUP_COLUMNS,
    CALLS_DATETIME_COLUMNS,
    CALLS_DATETIME_FORMAT,
    CALLS_HEADER_25,
    CALLS_HEADER_27,
    EVENTS_HEADER,
)

# Fixed document timestamps so that XLSX files are byte-identical between runs.
XLSX_TIMESTAMP = datetime(2025, 12, 23, 0, 0, 0)
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)

_INT_COLUMNS = (
    "Incident Number",
    "Response Year",
    "Response Hour",
    "Number of Units Arrived",
    "Unit Time on Scene",
    "Response Time",
    "Officer Injured/Killed Count",
    "Subject Injured/Killed Count",
    "Other Injured/Killed Count",
    "Council District",
)
_FLOAT_COLUMNS = ("Geo ID", "Census Block Group")


def calls_for_layout(calls: pd.DataFrame, layout: int = 25) -> pd.DataFrame:
    """The 25-column frame, or the 27-column CAD layout (adds Response Year / Response Month,
    moves Council District to third place)."""
    if layout == 25:
        return calls[list(CALLS_HEADER_25)]
    if layout == 27:
        out = calls.copy()
        dt = out["Response Datetime"].astype(str)
        out["Response Year"] = dt.str[:4]
        out["Response Month"] = dt.str[5:8]
        return out[list(CALLS_HEADER_27)]
    raise ValueError(f"layout must be 25 or 27, not {layout!r}")


def write_calls_csv(calls: pd.DataFrame, path: Path, layout: int = 25) -> Path:
    """UTF-8, comma separated, double quotes only where needed (e.g. ``"7,953"``), LF endings."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    calls_for_layout(calls, layout).to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return path


def write_events_csv(events: pd.DataFrame, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    events[list(EVENTS_HEADER)].to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------------
# XLSX
# ----------------------------------------------------------------------------------------------
_EXCEL_EPOCH_SECONDS = -2_209_161_600  # 1899-12-30 00:00:00 as naive epoch seconds
_SHEET_PATH = "xl/worksheets/sheet1.xml"
_ROWS_PER_CHUNK = 20_000


def _column_letter(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _xml_escape(text: np.ndarray) -> np.ndarray:
    text = np.strings.replace(text, "&", "&amp;")
    text = np.strings.replace(text, "<", "&lt;")
    return np.strings.replace(text, ">", "&gt;")


def _cells(name: str, text: np.ndarray, ref: np.ndarray, date_style: str) -> np.ndarray:
    """XML of one column's cells (as openpyxl writes them); blank cells are omitted ("")."""
    blank = text == ""
    if name in CALLS_DATETIME_COLUMNS:
        parsed = pd.to_datetime(pd.Series(text), format=CALLS_DATETIME_FORMAT, errors="coerce")
        secs = parsed.to_numpy(dtype="datetime64[s]").astype(np.int64)
        serial = ((secs - _EXCEL_EPOCH_SECONDS) / 86_400.0).astype(str)
        blank = blank | parsed.isna().to_numpy()
        xml = np.strings.add(np.strings.add(f'" s="{date_style}" t="n"><v>', serial), "</v></c>")
    elif name in _INT_COLUMNS or name in _FLOAT_COLUMNS:
        # numbers as Excel stores them: 7953, 484530412002 (a float Geo ID has no fraction)
        digits = np.strings.replace(text, ",", "")
        digits = np.where(
            np.strings.endswith(digits, ".0"), np.strings.slice(digits, 0, -2), digits
        )
        xml = np.strings.add(np.strings.add('" t="n"><v>', digits), "</v></c>")
    elif name == "Report Written Flag":
        numeric = (text == "0") | (text == "1")
        as_num = np.strings.add(np.strings.add('" t="n"><v>', text), "</v></c>")
        as_str = np.strings.add(
            np.strings.add('" t="inlineStr"><is><t>', _xml_escape(text)), "</t></is></c>"
        )
        xml = np.where(numeric, as_num, as_str)
    else:
        xml = np.strings.add(
            np.strings.add('" t="inlineStr"><is><t>', _xml_escape(text)), "</t></is></c>"
        )
    xml = np.strings.add(np.strings.add('<c r="', ref), xml)
    return np.where(blank, "", xml)


def _sheet_rows(frame: pd.DataFrame, first_row: int, date_style: str) -> str:
    rownum = np.arange(first_row, first_row + len(frame)).astype(str)
    pieces = np.empty((len(frame), len(frame.columns) + 2), dtype=object)
    pieces[:, 0] = np.strings.add(np.strings.add('<row r="', rownum), '">')
    for j, name in enumerate(frame.columns):
        text = frame[name].to_numpy(dtype=str)
        ref = np.strings.add(_column_letter(j), rownum)
        pieces[:, j + 1] = _cells(name, text, ref, date_style)
    pieces[:, -1] = "</row>"
    return "".join(pieces.ravel().tolist())


def _normalise_zip(data: bytes, frame: pd.DataFrame) -> bytes:
    """Rewrite the openpyxl skeleton: fixed entry dates and document timestamps, and the
    worksheet rebuilt with every data row (vectorised, streamed in chunks)."""
    stamp = XLSX_TIMESTAMP.strftime("%Y-%m-%dT%H:%M:%SZ")
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            payload = src.read(info.filename)
            zi = zipfile.ZipInfo(info.filename, date_time=_ZIP_DATE)
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o600 << 16
            if info.filename == "docProps/core.xml":
                text = payload.decode("utf-8")
                text = re.sub(
                    r"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    lambda m: m.group(1) + stamp + m.group(3),
                    text,
                )
                payload = text.encode("utf-8")
            if info.filename != _SHEET_PATH or len(frame) == 0:
                dst.writestr(zi, payload)
                continue
            sheet = payload.decode("utf-8")
            head, rest = sheet.split('<row r="2">', 1)
            tail = rest[rest.index("</sheetData>") :]
            style = re.search(r'<c r="[A-Z]+2" s="(\d+)"', sheet)
            date_style = style.group(1) if style else "1"
            with dst.open(zi, "w") as fh:
                fh.write(head.encode("utf-8"))
                for lo in range(0, len(frame), _ROWS_PER_CHUNK):
                    chunk = frame.iloc[lo : lo + _ROWS_PER_CHUNK]
                    fh.write(_sheet_rows(chunk, lo + 2, date_style).encode("utf-8"))
                fh.write(tail.encode("utf-8"))
    return out.getvalue()


def _first_row_values(frame: pd.DataFrame) -> list:
    """The first data row as Python values, so openpyxl registers the datetime style."""
    row = []
    for name in frame.columns:
        v = str(frame[name].iloc[0])
        if name in CALLS_DATETIME_COLUMNS:
            row.append(datetime.strptime(v, CALLS_DATETIME_FORMAT))
        elif v == "":
            row.append(None)
        elif name in _INT_COLUMNS or name in _FLOAT_COLUMNS:
            row.append(float(v.replace(",", "")))
        else:
            row.append(v)
    return row


def write_calls_xlsx(calls: pd.DataFrame, path: Path, layout: int = 25) -> Path:
    """One sheet ("Sheet1"), same headers as the CSV, native datetime cells, numbers as
    numbers (Geo ID without thousands separators, blank cells omitted), strings inline.

    openpyxl builds the workbook; the worksheet rows are rendered vectorised in the same XML
    openpyxl writes, so a few hundred thousand rows take seconds, not minutes.
    """
    from openpyxl import Workbook

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = calls_for_layout(calls, layout)
    wb = Workbook(write_only=True)
    wb.properties.created = XLSX_TIMESTAMP
    wb.properties.modified = XLSX_TIMESTAMP
    wb.properties.creator = "SafeBeat sample generator"
    ws = wb.create_sheet("Sheet1")
    ws.append(list(frame.columns))
    if len(frame):
        ws.append(_first_row_values(frame))
    buffer = io.BytesIO()
    wb.save(buffer)
    path.write_bytes(_normalise_zip(buffer.getvalue(), frame))
    return path


# ----------------------------------------------------------------------------------------------
# GeoJSON
# ----------------------------------------------------------------------------------------------
def write_block_groups_geojson(
    block_groups: pd.DataFrame, path: Path, name: str = "tl_2020_48_bg"
) -> Path:
    """FeatureCollection with an EPSG:4269 ``crs`` member, one MultiPolygon feature per line,
    coordinates with at most 6 decimals, TIGER attributes in file order."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    int_cols = {"ALAND", "AWATER"}
    lines = [
        "{",
        '"type": "FeatureCollection",',
        f'"name": {json.dumps(name)},',
        '"crs": { "type": "name", "properties": { "name": "urn:ogc:def:crs:EPSG::4269" } },',
        '"features": [',
    ]
    records = block_groups[list(BLOCK_GROUP_COLUMNS)].to_dict(orient="records")
    features = []
    for props, geom in zip(records, block_groups.geometry, strict=True):
        clean = {k: (int(v) if k in int_cols else str(v)) for k, v in props.items()}
        feature = {
            "type": "Feature",
            "properties": clean,
            "geometry": {"type": "MultiPolygon", "coordinates": _coords(geom)},
        }
        features.append(json.dumps(feature, separators=(", ", ": ")))
    lines.append(",\n".join(features))
    lines += ["]", "}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _coords(geom) -> list:
    gj = mapping(geom)
    polys = [gj["coordinates"]] if gj["type"] == "Polygon" else gj["coordinates"]
    return [
        [[[round(float(x), 6), round(float(y), 6)] for x, y in ring] for ring in poly]
        for poly in polys
    ]
