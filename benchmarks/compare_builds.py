"""``python -m benchmarks.compare_builds <data_dir_a> <data_dir_b>``: equal builds or not.

Compares every table of the two data folders' published warehouses (all but ``meta``,
which names the build) row for row, ``EXCEPT ALL`` both ways, with their column names and
types. A build optimisation is kept only when this prints no difference on the same
inputs (docs/benchmarks.md, issue 8). Exit code 1 when any table differs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb


def warehouse(data_dir: Path) -> Path:
    """The published build of ``data_dir`` (``04_warehouse/CURRENT``)."""
    build = (data_dir / "04_warehouse" / "CURRENT").read_text(encoding="utf-8").strip()
    return data_dir / "04_warehouse" / "builds" / f"{build}.duckdb"


def differences(a: Path, b: Path) -> list[str]:
    """What differs between the published builds of data folders ``a`` and ``b``."""
    con = duckdb.connect()
    con.execute("ATTACH ? AS a (READ_ONLY)", [str(warehouse(a))])
    con.execute("ATTACH ? AS b (READ_ONLY)", [str(warehouse(b))])

    def columns(db: str, table: str) -> list[tuple[str, str]]:
        return con.execute(
            "SELECT column_name, data_type FROM duckdb_columns()"
            " WHERE database_name = ? AND table_name = ? ORDER BY column_index",
            [db, table],
        ).fetchall()

    def tables(db: str) -> set[str]:
        rows = con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [db]
        ).fetchall()
        return {t for (t,) in rows} - {"meta"}

    only_a, only_b = tables("a") - tables("b"), tables("b") - tables("a")
    found = [f"only in a: {t}" for t in sorted(only_a)]
    found += [f"only in b: {t}" for t in sorted(only_b)]
    for table in sorted(tables("a") & tables("b")):
        if columns("a", table) != columns("b", table):
            found.append(f"{table}: columns differ")
            continue
        cols = ", ".join(f'"{c}"' for c, _ in columns("a", table))
        for left, right in (("a", "b"), ("b", "a")):
            n = con.execute(
                f"SELECT count(*) FROM (SELECT {cols} FROM {left}.{table}"  # noqa: S608
                f" EXCEPT ALL SELECT {cols} FROM {right}.{table})"
            ).fetchall()[0][0]
            if n:
                found.append(f"{table}: {n} rows of {left} not in {right}")
    return found


def main(argv: list[str]) -> int:
    """Print the differences; 0 when the builds are equal."""
    found = differences(Path(argv[0]), Path(argv[1]))
    sys.stdout.write("\n".join(found) + "\n" if found else "equal\n")
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
