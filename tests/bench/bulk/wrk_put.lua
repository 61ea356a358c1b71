-- wrk script: the same PUT, over and over (body and key from the environment).
-- luacheck: globals wrk
wrk.method = "PUT"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_KEY")
