"""Exact arithmetic: Python's ``ast`` parses the expression, a whitelist evaluates it over
:class:`fractions.Fraction`. Nothing is ever passed to ``eval``.

Accepted: integers, decimals (``0.1`` is exactly one tenth), ``+ - * / // %``, powers
(``**`` or ``^``), parentheses, unary minus, percentages (``15% of 80``, ``80 + 15%`` =
92, ``200 - 10%`` = 180), ``×``/``÷``/``x`` between numbers, thousands separators
(``1,234``), and ``sqrt``, ``abs``, ``round``, ``floor``, ``ceil``, ``min``, ``max``.
Limits keep a request cheap: the expression length and depth, the exponent, and the
size of every intermediate result (``2**10**10`` is refused before it is computed).
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable
from decimal import Decimal, localcontext
from fractions import Fraction

from ember.tools.registry import ToolError

MAX_EXPRESSION_CHARS = 1000
MAX_BITS = 100_000  # about 30,000 decimal digits for any intermediate value
MAX_DEPTH = 60
APPROX_DIGITS = 20


def calculator(expression: str) -> str:
    """Evaluate an arithmetic expression exactly: + - * / ** (or ^), parentheses,
    decimals, percentages ("15% of 80", "80 + 15%") and sqrt(). Use it for any
    calculation instead of computing in your head; for converting units use
    convert_units.

    Args:
        expression: The expression, e.g. "(1234 + 5678) * 3" or "17.5% of 240".
    """
    return format_number(evaluate(expression))


def evaluate(expression: str) -> Fraction | Decimal:
    """The exact value of ``expression`` (a Decimal only when it cannot be exact: roots)."""
    if len(expression) > MAX_EXPRESSION_CHARS:
        raise ToolError(f"the expression is too long (over {MAX_EXPRESSION_CHARS} characters)")
    source = normalise(expression)
    if not source:
        raise ToolError("the expression is empty")
    try:
        tree, source = _parsed(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise ToolError(f"cannot read {expression!r} as arithmetic ({_reason(e)})") from None
    try:
        return _Evaluator(source).value(tree.body, 0)
    except ZeroDivisionError:
        raise ToolError(f"division by zero in {expression!r}") from None


# A unit written after a number ("120 km/h * 8 hours"): measured, Qwen2.5-Coder-0.5B
# writes word problems' units into the expression. Left out only when the expression
# does not parse with them, so a function name is never taken for a unit.
_UNIT_AFTER_NUMBER = re.compile(r"(?<=[\d)])\s*[A-Za-z°][A-Za-z°]*(?:\s*/\s*[A-Za-z]+)?\b")


def _parsed(source: str) -> tuple[ast.Expression, str]:
    """The tree and the source it was parsed from (units left out when needed)."""
    try:
        return ast.parse(source, mode="eval"), source
    except SyntaxError:
        without_units = _UNIT_AFTER_NUMBER.sub("", source).strip()
        if without_units == source or not without_units:
            raise
        try:
            return ast.parse(without_units, mode="eval"), without_units
        except SyntaxError:
            raise SyntaxError("invalid syntax") from None


def _reason(e: BaseException) -> str:
    return e.msg if isinstance(e, SyntaxError) and e.msg else type(e).__name__


_PERCENT_RE = re.compile(r"(\d[\d.]*|\))\s*%(?!\s*[\d.(])")
_TIMES_RE = re.compile(r"(?<=[\d)])\s*[xX]\s*(?=[\d(])")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")


def normalise(expression: str) -> str:
    """Everyday notation -> Python syntax (percent becomes a ``__percent__`` call)."""
    s = expression.strip().rstrip("=?").strip()
    for old, new in (("×", "*"), ("·", "*"), ("÷", "/"), ("−", "-"), ("^", "**"), ("√", "sqrt")):
        s = s.replace(old, new)
    s = _THOUSANDS_RE.sub("", s)
    s = re.sub(r"[$€£¥](?=\s*[\d.(])", "", s)  # "$28 + 10%": money is a number
    s = _TIMES_RE.sub(" * ", s)
    s = re.sub(r"\bof\b", "*", s)
    s = re.sub(r"\bmod\b", "%", s)
    s = re.sub(r"\b(times|multiplied by)\b", "*", s)
    s = re.sub(r"\b(divided by|over)\b", "/", s)
    s = re.sub(r"\bplus\b", "+", s)
    s = re.sub(r"\bminus\b", "-", s)
    return _percent(s)


def _percent(s: str) -> str:
    """``N%`` -> ``__percent__(N)`` (and ``(...)%`` -> ``__percent__((...))``)."""
    while match := _PERCENT_RE.search(s):
        start, end = match.start(1), match.end(1)
        if match.group(1) == ")":
            start = _matching_open(s, end - 1)
        s = f"{s[:start]}__percent__({s[start:end]}){s[match.end() :]}"
    return s


def _matching_open(s: str, close: int) -> int:
    depth = 0
    for i in range(close, -1, -1):
        depth += {")": 1, "(": -1}.get(s[i], 0)
        if depth == 0:
            return i
    raise ToolError("unbalanced parentheses")


Number = Fraction | Decimal


class _Evaluator:
    def __init__(self, source: str) -> None:
        self.source = source

    def value(self, node: ast.expr, depth: int) -> Number:
        if depth > MAX_DEPTH:
            raise ToolError("the expression is nested too deeply")
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = self.value(node.operand, depth + 1)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.BinOp):
            return self.binop(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        if isinstance(node, ast.Name) and node.id in ("pi", "e"):
            return Decimal(repr(math.pi if node.id == "pi" else math.e))
        raise ToolError(f"unsupported in arithmetic: {self.text(node)!r}")

    def text(self, node: ast.expr) -> str:
        return ast.get_source_segment(self.source, node) or type(node).__name__

    def constant(self, node: ast.Constant) -> Fraction:
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ToolError(f"not a number: {self.text(node)!r}")
        if isinstance(node.value, int):
            value = Fraction(node.value)
        else:
            literal = self.text(node).replace("_", "")  # exact: 0.1 is 1/10, not a float
            try:
                value = Fraction(literal)
            except (ValueError, ZeroDivisionError):
                value = Fraction(node.value)
        _checked(value)
        return value

    def binop(self, node: ast.BinOp, depth: int) -> Number:
        left = self.value(node.left, depth + 1)
        if isinstance(node.op, (ast.Add, ast.Sub)) and _is_percent(node.right):
            # "80 + 15%" is 80 increased by 15 percent, as on a pocket calculator
            assert isinstance(node.right, ast.Call)
            rate = self.value(node.right.args[0], depth + 1) / 100
            factor = 1 + rate if isinstance(node.op, ast.Add) else 1 - rate
            left, factor = _same_kind(left, factor)
            return _checked(left * factor)  # type: ignore[operator]
        right = self.value(node.right, depth + 1)
        if isinstance(node.op, ast.Pow):
            return power(left, right)
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ToolError(f"unsupported operator in {self.text(node)!r}")
        left, right = _same_kind(left, right)
        return _checked(op(left, right))

    def call(self, node: ast.Call, depth: int) -> Number:
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name is None or name not in _FUNCTIONS or node.keywords:
            raise ToolError(f"unsupported function: {self.text(node.func)!r}")
        args = [self.value(a, depth + 1) for a in node.args]
        arity, func = _FUNCTIONS[name]
        if (arity >= 0 and len(args) != arity) or not args:
            raise ToolError(f"{name}() takes {arity if arity >= 0 else 'one or more'} argument(s)")
        return func(args)


def _is_percent(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "__percent__"
    )


def _same_kind(a: Number, b: Number) -> tuple[Number, Number]:
    if isinstance(a, Decimal) and isinstance(b, Fraction):
        return a, _to_decimal(b)
    if isinstance(a, Fraction) and isinstance(b, Decimal):
        return _to_decimal(a), b
    return a, b


def _same_kinds(values: list[Number]) -> list[Number]:
    if all(isinstance(v, Fraction) for v in values):
        return values
    return [_to_decimal(v) for v in values]


def _to_decimal(x: Number) -> Decimal:
    if isinstance(x, Decimal):
        return x
    with localcontext() as ctx:
        ctx.prec = APPROX_DIGITS + 10
        return Decimal(x.numerator) / Decimal(x.denominator)


_BINOPS: dict[type[ast.operator], Callable[[Number, Number], Number]] = {
    ast.Add: lambda a, b: a + b,  # type: ignore[operator]
    ast.Sub: lambda a, b: a - b,  # type: ignore[operator]
    ast.Mult: lambda a, b: a * b,  # type: ignore[operator]
    ast.Div: lambda a, b: a / b,  # type: ignore[operator]
    ast.FloorDiv: lambda a, b: Fraction(a // b),  # type: ignore[operator]
    ast.Mod: lambda a, b: a % b,  # type: ignore[operator]
}


def _bits(x: Number) -> int:
    if isinstance(x, Decimal):
        return 0 if not x.is_finite() else max(0, int(x.adjusted() * 3.33))
    return max(x.numerator.bit_length(), x.denominator.bit_length())


def _checked(x: Number) -> Number:
    if isinstance(x, Decimal) and not x.is_finite():
        raise ToolError("the result is not a finite number")
    if _bits(x) > MAX_BITS:
        raise ToolError(f"the result is too large (over {MAX_BITS} bits); not computed")
    return x


def power(base: Number, exponent: Number) -> Number:
    """base ** exponent, refused before computing when the result would be too large."""
    if isinstance(exponent, Fraction) and exponent.denominator == 1:
        n = exponent.numerator
        if base == 0 and n < 0:
            raise ZeroDivisionError
        if base in (0, 1):
            return base
        if base == -1:
            return Fraction(-1 if n % 2 else 1)
        if abs(n) * max(_bits(base), 1) > MAX_BITS:
            raise ToolError(
                f"the power is too large: the result of ** {n} would exceed {MAX_BITS} bits"
            )
        return _checked(base**n)
    if base < 0:
        raise ToolError("a negative number to a fractional power is not a real number")
    if base == 0:
        return Fraction(0)
    with localcontext() as ctx:
        ctx.prec = APPROX_DIGITS + 10
        b, e = _to_decimal(base), _to_decimal(exponent)
        if abs(e * b.ln()) > 70_000:  # exp(70,000) ~ 10**30,400: over the size limit
            raise ToolError("the power is too large to compute")
        return _checked(b**e)


def _sqrt(args: list[Number]) -> Number:
    (x,) = args
    if x < 0:
        raise ToolError("the square root of a negative number is not a real number")
    if isinstance(x, Fraction):
        n, d = math.isqrt(x.numerator), math.isqrt(x.denominator)
        if n * n == x.numerator and d * d == x.denominator:
            return Fraction(n, d)
    with localcontext() as ctx:
        ctx.prec = APPROX_DIGITS + 10
        return _to_decimal(x).sqrt()


def _round(args: list[Number]) -> Number:
    if len(args) not in (1, 2):
        raise ToolError("round() takes a number and optionally a count of decimals")
    digits = int(args[1]) if len(args) == 2 else 0
    if abs(digits) > 1000:
        raise ToolError("round(): too many digits")
    scale = Fraction(10) ** digits
    x = args[0] if isinstance(args[0], Fraction) else Fraction(args[0])
    return Fraction(round(x * scale)) / scale


def _exact(x: Number) -> Fraction:
    return x if isinstance(x, Fraction) else Fraction(x)


_FUNCTIONS: dict[str, tuple[int, Callable[[list[Number]], Number]]] = {
    "__percent__": (1, lambda a: a[0] / 100),
    "sqrt": (1, _sqrt),
    "abs": (1, lambda a: -a[0] if a[0] < 0 else a[0]),
    "floor": (1, lambda a: Fraction(math.floor(_exact(a[0])))),
    "ceil": (1, lambda a: Fraction(math.ceil(_exact(a[0])))),
    "round": (-1, _round),
    "min": (-1, lambda a: min(_same_kinds(a))),
    "max": (-1, lambda a: max(_same_kinds(a))),
}


def format_number(x: Number) -> str:
    """Integers as integers, terminating fractions as exact decimals, others as
    ``p/q ≈ decimal``; results that cannot be exact (roots) start with ``≈``."""
    if isinstance(x, Decimal):
        return "≈ " + _approx(x)
    if x.denominator == 1:
        return str(x.numerator)
    d = x.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    if d == 1:  # a terminating decimal: print every digit
        digits = max(_multiplicity(x.denominator, 2), _multiplicity(x.denominator, 5))
        with localcontext() as ctx:
            ctx.prec = len(str(abs(x.numerator))) + digits + 5
            return _plain(Decimal(x.numerator) / Decimal(x.denominator))
    return f"{x.numerator}/{x.denominator} ≈ {_approx(_to_decimal(x))}"


def _multiplicity(n: int, p: int) -> int:
    count = 0
    while n % p == 0:
        n //= p
        count += 1
    return count


def _approx(x: Decimal) -> str:
    with localcontext() as ctx:
        ctx.prec = APPROX_DIGITS
        return _plain(+x)


def _plain(x: Decimal) -> str:
    text = format(x, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
