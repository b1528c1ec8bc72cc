"""Cell values the way Google stores, parses and renders them (locale en_US).

A cell holds a `userEnteredValue` (stringValue, numberValue, boolValue or formulaValue)
and maybe a number format. Input: RAW keeps what the client sent; USER_ENTERED parses
text as a person typing into Sheets would (numbers, percentages, currency, booleans,
dates and times, formulas, a leading apostrophe forcing text). Output: FORMATTED_VALUE,
UNFORMATTED_VALUE or FORMULA, with dates as serial numbers or formatted strings.

Known limit: formulas are stored; only plain arithmetic on numbers (`=4/2`, `= 1 / 1024`)
is evaluated. Any other formula's value (functions, references) renders as an empty
string under FORMATTED_VALUE and UNFORMATTED_VALUE.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from datetime import date, datetime, timedelta
from typing import Any

EPOCH = datetime(1899, 12, 30)

_NUMBER = re.compile(
    r"^(?P<sign>[+-]?)(?P<cur>\$?)(?P<int>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<frac>\d*))?"
    r"(?:[eE](?P<exp>[+-]?\d+))?(?P<pct>%?)$"
)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{2,4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?)?$")
_TIME = re.compile(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?$")


def serial(moment: datetime) -> float:
    delta = moment - EPOCH
    return delta.days + delta.seconds / 86400 + delta.microseconds / 86400e6


def from_serial(value: float) -> datetime:
    return EPOCH + timedelta(days=value)


def user_entered(value: Any) -> tuple[dict | None, dict | None]:
    """(userEnteredValue, numberFormat) for a value sent with USER_ENTERED."""
    if not isinstance(value, str) or value == "":
        return raw(value)  # only text is parsed
    text = value
    if text.startswith("'"):
        return {"stringValue": text[1:]}, None
    if text.startswith("=") and len(text) > 1:
        return {"formulaValue": text}, None
    if text.upper() in ("TRUE", "FALSE"):
        return {"boolValue": text.upper() == "TRUE"}, None
    parsed = _parse_number(text.strip())
    if parsed is not None:
        return parsed
    moment = _parse_moment(text.strip())
    if moment is not None:
        return moment
    return {"stringValue": text}, None


def raw(value: Any) -> tuple[dict | None, dict | None]:
    """RAW input: strings stay strings, even '=1+1'."""
    if value is None:
        return None, None
    if isinstance(value, bool):
        return {"boolValue": value}, None
    if isinstance(value, int | float):
        return {"numberValue": value}, None
    if value == "":
        return None, None
    return {"stringValue": str(value)}, None


_OPS = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}


def arithmetic(formula: str) -> float | None:
    """The value of a formula made only of numbers and + - * / ^ ( ); else None."""
    try:
        tree = ast.parse(formula[1:].strip().replace("^", "**"), mode="eval")
        return float(_eval(tree.body))
    except (SyntaxError, ValueError, ZeroDivisionError, TypeError, OverflowError):
        return None


def _eval(node: ast.AST) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_eval(node.left), _eval(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _eval(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    raise ValueError("not plain arithmetic")


def _parse_number(text: str) -> tuple[dict, dict | None] | None:
    m = _NUMBER.match(text)
    if not m or not (m.group("int") or m.group("frac")):
        return None
    digits = m.group("int").replace(",", "") or "0"
    frac = m.group("frac") or ""
    number = float(f"{digits}.{frac or 0}e{m.group('exp') or 0}")
    if m.group("sign") == "-":
        number = -number
    decimals = "." + "0" * len(frac) if frac else ""
    fmt = None
    if m.group("pct"):
        number /= 100
        fmt = {"type": "PERCENT", "pattern": f"0{decimals}%"}
    elif m.group("cur"):
        fmt = {"type": "CURRENCY", "pattern": f'"$"#,##0{".00" if frac else ""}'}
    elif "," in m.group("int"):
        fmt = {"type": "NUMBER", "pattern": f"#,##0{decimals}"}
    elif m.group("exp"):
        fmt = {"type": "SCIENTIFIC", "pattern": "0.00E+00"}
    return {"numberValue": _tidy(number)}, fmt


def _tidy(number: float) -> int | float:
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def _parse_moment(text: str) -> tuple[dict, dict] | None:
    m = _ISO_DATE.match(text)
    if m:
        y, mo, d = int(m.group(1)), int(m.group(2)), int(m.group(3))
        time = m.group(4)
        pattern = "yyyy-mm-dd" if time is None else "yyyy-mm-dd h:mm:ss"
    else:
        m = _US_DATE.match(text)
        if m:
            mo, d, y = int(m.group(1)), int(m.group(2)), int(m.group(3))
            y += 2000 if y < 30 else (1900 if y < 100 else 0)
            time = m.group(4)
            pattern = "M/d/yyyy" if time is None else "M/d/yyyy H:mm:ss"
        else:
            t = _TIME.match(text)
            if not t:
                return None
            h, mi, s = int(t.group(1)), int(t.group(2)), int(t.group(3) or 0)
            if h > 23 or mi > 59 or s > 59:
                return None
            value = (h * 3600 + mi * 60 + s) / 86400
            return {"numberValue": _tidy(value)}, {"type": "TIME", "pattern": "h:mm:ss am/pm"}
    try:
        moment = datetime(y, mo, d)
        if time is not None:
            moment += timedelta(
                hours=int(time), minutes=int(m.group(5)), seconds=int(m.group(6) or 0)
            )
    except ValueError:
        return None
    kind = "DATE" if time is None else "DATE_TIME"
    return {"numberValue": _tidy(serial(moment))}, {"type": kind, "pattern": pattern}


# ---- rendering ---------------------------------------------------------------------


def render(uev: dict | None, fmt: dict | None, value_render: str, datetime_render: str) -> Any:
    """The value of one cell in a values response; None for an empty cell."""
    if uev is None:
        return None
    if "formulaValue" in uev:
        if value_render == "FORMULA":
            return uev["formulaValue"]
        result = arithmetic(uev["formulaValue"])
        if result is None:
            return ""
        uev = {"numberValue": _tidy(result)}
    if "stringValue" in uev:
        return uev["stringValue"]
    if "boolValue" in uev:
        if value_render == "FORMATTED_VALUE":
            return "TRUE" if uev["boolValue"] else "FALSE"
        return uev["boolValue"]
    if "errorValue" in uev:
        return uev["errorValue"].get("type", "#ERROR!")
    number = uev.get("numberValue", 0)
    is_moment = bool(fmt) and fmt.get("type") in ("DATE", "DATE_TIME", "TIME")
    if value_render == "FORMATTED_VALUE":
        return formatted(number, fmt)
    if is_moment and datetime_render == "FORMATTED_STRING":
        return formatted(number, fmt)
    return number


def formatted(number: float, fmt: dict | None) -> str:
    kind = (fmt or {}).get("type")
    pattern = (fmt or {}).get("pattern", "")
    if kind in ("DATE", "DATE_TIME", "TIME"):
        return _date_text(from_serial(number), pattern or "M/d/yyyy")
    if kind == "PERCENT" or pattern.endswith("%"):
        decimals = _decimals(pattern)
        return f"{number * 100:.{decimals}f}%"
    if kind in ("NUMBER", "CURRENCY") or (pattern and "0" in pattern):
        decimals = _decimals(pattern)
        grouped = "," in pattern
        text = f"{abs(number):{',' if grouped else ''}.{decimals}f}"
        prefix = "$" if "$" in pattern else ""
        return ("-" if number < 0 else "") + prefix + text
    return general(number)


def general(number: float) -> str:
    """Sheets' automatic format: up to 10 significant digits, no trailing zeros."""
    if isinstance(number, bool):
        return "TRUE" if number else "FALSE"
    if isinstance(number, int) or float(number).is_integer() and abs(number) < 1e15:
        return str(int(number))
    if math.isnan(number) or math.isinf(number):
        return "#NUM!"
    text = f"{number:.10g}"
    if "e" in text:
        mantissa, exp = text.split("e")
        return f"{mantissa.upper()}E{int(exp):+03d}"
    return text


def _decimals(pattern: str) -> int:
    m = re.search(r"\.(0+)", pattern)
    return len(m.group(1)) if m else 0


def _date_text(moment: datetime, pattern: str) -> str:
    tokens = re.findall(
        r"yyyy|yy|mmmm|mmm|mm|m|MM|M|dddd|ddd|dd|d|hh|h|HH|H|ss|s|am/pm|AM/PM|.", pattern
    )
    out = []
    after_hour = False
    for tok in tokens:
        if tok == "yyyy":
            out.append(f"{moment.year:04d}")
        elif tok == "yy":
            out.append(f"{moment.year % 100:02d}")
        elif tok in ("MM", "mm") and (tok == "MM" or not after_hour):
            out.append(f"{moment.month:02d}")
        elif tok in ("M", "m") and (tok == "M" or not after_hour):
            out.append(str(moment.month))
        elif tok in ("mm", "m"):
            out.append(f"{moment.minute:02d}" if tok == "mm" else str(moment.minute))
        elif tok == "mmm":
            out.append(moment.strftime("%b"))
        elif tok == "mmmm":
            out.append(moment.strftime("%B"))
        elif tok == "dd":
            out.append(f"{moment.day:02d}")
        elif tok == "d":
            out.append(str(moment.day))
        elif tok in ("HH", "hh"):
            out.append(f"{_hour(moment, pattern):02d}")
        elif tok in ("H", "h"):
            out.append(str(_hour(moment, pattern)))
        elif tok == "ss":
            out.append(f"{moment.second:02d}")
        elif tok == "s":
            out.append(str(moment.second))
        elif tok.lower() == "am/pm":
            out.append("AM" if moment.hour < 12 else "PM")
        else:
            out.append(tok)
        if tok.lower() in ("h", "hh"):
            after_hour = True
        elif tok.lower() in ("d", "dd", "yyyy", "yy"):
            after_hour = False
    return "".join(out)


def _hour(moment: datetime, pattern: str) -> int:
    if "am/pm" in pattern.lower():
        return (moment.hour % 12) or 12
    return moment.hour


def from_python(value: Any) -> Any:
    """JSON-safe form of a value a test writes through the emulator's helpers."""
    if isinstance(value, datetime):
        return serial(value)
    if isinstance(value, date):
        return serial(datetime(value.year, value.month, value.day))
    return value
