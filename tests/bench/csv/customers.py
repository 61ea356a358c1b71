"""The Python side of the CSV benchmark (tests/bench/bench_csv), standard library only.

  customers.py generate FILE N    writes N customer rows with csv.DictWriter (the reference file)
  customers.py time FILE OUT REPS  times csv.DictReader, csv.reader, csv.DictWriter and csv.writer
                                   on FILE (writing to OUT), best CPU time of REPS runs each;
                                   prints one JSON object of seconds
"""
import csv
import json
import random
import sys
import time

COLUMNS = [
    "id", "firstName", "lastName", "companyName", "primaryEmail", "primaryPhone", "status", "currency",
    "customerReference.reference1", "customerReference.reference2", "customerReference.reference3",
    "customerAcquisition.salesTrackingCode1Code", "arBalance", "createdTimestamp", "notes",
]
FIRST = ["Ada", "Grace", "Zoë", "José", "Åsa", "François", "Mei", "Olúwaseun", "Chloé", "Björn", "Anne-Marie"]
LAST = ["Lovelace", "Hopper", "O'Brien", "Müller", "Ñúñez", "Smith", "van der Berg", "Łukasiewicz", "Dupré"]
COMPANY = ["Acme Corp", "Müller, Söhne & Co", 'The "Best" Widgets', "Café de l'Église", "Initech, Inc.",
           "", "Globex", "Smith & Wesson, Ltd", "Ünïcödé GmbH"]
NOTES = ["", "", "", "VIP", "call before billing, not after 5pm", 'said "no paper invoices"',
         "moved:\nnew address pending", "ok"]


def generate(path, n):
    rnd = random.Random(14)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, COLUMNS)
        w.writeheader()
        for i in range(1, n + 1):
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            w.writerow({
                "id": 100000 + i, "firstName": first, "lastName": last, "companyName": rnd.choice(COMPANY),
                "primaryEmail": "%s.%d@example.com" % (first.lower().encode("ascii", "ignore").decode(), i),
                "primaryPhone": "+1 (555) %03d-%04d" % (rnd.randrange(1000), rnd.randrange(10000)),
                "status": rnd.choice(["Active", "Active", "Draft", "Hold", "Cancelled"]),
                "currency": rnd.choice(["USD", "CAD", "EUR"]),
                "customerReference.reference1": "CRM-%06d" % rnd.randrange(1000000),
                "customerReference.reference2": rnd.choice(["", "west", "east, north"]),
                "customerReference.reference3": rnd.choice(["", "SPRING-2026"]),
                "customerAcquisition.salesTrackingCode1Code": rnd.choice(["", "EU", "NA", "APAC"]),
                "arBalance": "%d.%02d" % (rnd.randrange(10000), rnd.randrange(100)),
                "createdTimestamp": "2025-%02d-%02dT%02d:%02d:00" % (rnd.randrange(1, 13), rnd.randrange(1, 29),
                                                                  rnd.randrange(24), rnd.randrange(60)),
                "notes": rnd.choice(NOTES),
            })


def best(fn, reps):
    times = []
    for _ in range(reps):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times)


def time_all(path, out, reps):
    with open(path, newline="", encoding="utf-8") as f:
        dicts = list(csv.DictReader(f))
    lists = [list(d.values()) for d in dicts]

    def dict_read():
        with open(path, newline="", encoding="utf-8") as f:
            for _ in csv.DictReader(f):
                pass

    def list_read():
        with open(path, newline="", encoding="utf-8") as f:
            for _ in csv.reader(f):
                pass

    def dict_write():
        with open(out, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, COLUMNS)
            w.writeheader()
            for d in dicts:
                w.writerow(d)

    def list_write():
        with open(out, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            for row in lists:
                w.writerow(row)

    print(json.dumps({
        "rows": len(dicts),
        "dict_read": best(dict_read, reps), "list_read": best(list_read, reps),
        "dict_write": best(dict_write, reps), "list_write": best(list_write, reps),
    }))


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2], int(sys.argv[3]))
    else:
        time_all(sys.argv[2], sys.argv[3], int(sys.argv[4]))
