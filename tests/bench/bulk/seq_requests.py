#!/usr/bin/python3
"""The baseline a user would write without fusebill: a sequential loop of requests.put
over one keep-alive Session (already kinder than requests.put per call). Prints requests/s.
Usage: seq_requests.py URL N   (body in $BENCH_BODY, key in $BENCH_KEY)"""
import os
import sys
import time

import requests

url, n = sys.argv[1], int(sys.argv[2])
body = os.environ["BENCH_BODY"]
headers = {"Authorization": "Basic " + os.environ["BENCH_KEY"], "Content-Type": "application/json"}
s = requests.Session()
t0 = time.monotonic()
for _ in range(n):
    r = s.put(url, data=body, headers=headers)
    r.raise_for_status()
print("%.1f" % (n / (time.monotonic() - t0)))
