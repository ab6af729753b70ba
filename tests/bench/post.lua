-- post.lua: wrk script for the end-to-end benchmark (tests/bench/e2e.sh).
-- Every request POSTs the AdmissionReview in the file $BENCH_BODY to the
-- URL's path (/mutate), as the API server does: application/json, over
-- the connection kept alive.
local f = assert(io.open(os.getenv("BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
