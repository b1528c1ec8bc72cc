"""Google's field masks: `sheets(properties,data.rowData)`, `a.b`, `a/b`, `*`."""

from __future__ import annotations

from typing import Any

Tree = dict[str, "Tree"]  # an empty dict: the whole value


def parse(text: str) -> Tree:
    text = text.replace("/", ".").replace(" ", "")
    return _parse(text, 0)[0]


def _parse(text: str, i: int) -> tuple[Tree, int]:
    tree: Tree = {}
    name = ""
    while i < len(text):
        ch = text[i]
        if ch == ",":
            _add(tree, name)
            name = ""
        elif ch == "(":
            sub, i = _parse(text, i + 1)
            node = _add(tree, name)
            for key, value in sub.items():
                node.setdefault(key, {}).update(value)
            name = ""
        elif ch == ")":
            _add(tree, name)
            return tree, i
        else:
            name += ch
        i += 1
    _add(tree, name)
    return tree, i


def _add(tree: Tree, dotted: str) -> Tree:
    if not dotted:
        return tree
    node = tree
    for part in dotted.split("."):
        node = node.setdefault(part, {})
    return node


def select(value: Any, tree: Tree) -> Any:
    """Only the parts of `value` that the mask names (lists: each element)."""
    if not tree or "*" in tree:
        return value
    if isinstance(value, list):
        return [select(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for key, sub in tree.items():
        if key in value:
            picked = select(value[key], sub)
            if picked is not None:
                out[key] = picked
    return out


def paths(text: str) -> list[list[str]]:
    """'a.b,c(d,e)' → [['a','b'], ['c','d'], ['c','e']] for updates."""
    out: list[list[str]] = []

    def walk(tree: Tree, prefix: list[str]) -> None:
        for key, sub in tree.items():
            if sub:
                walk(sub, prefix + [key])
            else:
                out.append(prefix + [key])

    walk(parse(text), [])
    return out


def clean(value: Any) -> Any:
    """Proto3 JSON as Google answers it: no nulls, no empty messages; colours in float32."""
    if isinstance(value, dict):
        out = {}
        for key, sub in value.items():
            sub = clean(sub)
            if sub is None or sub == {}:
                continue
            if key in ("red", "green", "blue", "alpha") and isinstance(sub, int | float):
                if sub == 0:
                    continue
                sub = _float32(sub)
            out[key] = sub
        return out
    if isinstance(value, list):
        return [clean(v) for v in value]
    return value


def _float32(number: float) -> float | int:
    import numpy as np

    shortest = float(repr(np.float32(number)).removeprefix("np.float32(").rstrip(")"))
    return int(shortest) if shortest.is_integer() else shortest


def update(target: dict, source: dict, mask: str) -> None:
    """Copy the masked fields from source to target; a field absent in source is cleared."""
    if mask.strip() == "*":
        keep = {k: v for k, v in target.items() if k not in source and k in ("sheetId",)}
        target.clear()
        target.update(keep)
        target.update(source)
        return
    for path in paths(mask):
        src: Any = source
        for part in path:
            src = src.get(part) if isinstance(src, dict) else None
        node = target
        for part in path[:-1]:
            node = node.setdefault(part, {})
        src = clean(src)
        if src is None or src == {}:
            node.pop(path[-1], None)
        else:
            node[path[-1]] = src
