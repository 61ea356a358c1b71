"""The Python reference for the engine benchmark: the loop from Fusebill's own
documentation (requests.put with a JSON body), with and without a Session.
Usage: requests_loop.py URL KEY BODYFILE N session|plain -> "wall_seconds failures"."""
import sys, time, requests

url, key, body_file, n, mode = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
body = open(body_file, "rb").read()
headers = {"Authorization": "Basic " + key, "Content-Type": "application/json"}
put = requests.Session().put if mode == "session" else requests.put
failures = 0
t0 = time.monotonic()
for _ in range(n):
    if put(url, data=body, headers=headers).status_code != 200:
        failures += 1
print("%.4f %d" % (time.monotonic() - t0, failures))
