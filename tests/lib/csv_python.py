"""Python's csv module (standard library only) as the reference for fusebill.csv
(tests/engine/csv_spec.lua).

  csv_python.py write ROWS.json OUT.csv [bom] [lf]   writes the rows with csv.writer (default dialect)
  csv_python.py read IN.csv OUT.json [bom]           reads IN.csv with csv.reader, writes the rows as JSON
bom: UTF-8 with a byte-order mark (utf-8-sig, what spreadsheets save); lf: "\n" line endings.
"""
import csv
import json
import sys


def main(mode, src, dst, *flags):
    encoding = "utf-8-sig" if "bom" in flags else "utf-8"
    if mode == "write":
        with open(src, encoding="utf-8") as f:
            rows = json.load(f)
        with open(dst, "w", newline="", encoding=encoding) as f:
            csv.writer(f, lineterminator="\n" if "lf" in flags else "\r\n").writerows(rows)
    else:
        with open(src, newline="", encoding=encoding) as f:
            rows = list(csv.reader(f))
        with open(dst, "w", encoding="utf-8") as f:
            json.dump(rows, f, ensure_ascii=False)


if __name__ == "__main__":
    main(*sys.argv[1:])
