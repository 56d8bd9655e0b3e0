-- idem.lua: post.lua's request with an Idempotency-Key of its own each time (the exact path
-- with a key, issue 20): the keys are the run's start, wrk's thread and a counter.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
local threads = 0
function setup(thread)
	threads = threads + 1
	thread:set("tid", threads)
end
local n = 0
local stamp = os.time()
function request()
	n = n + 1
	wrk.headers["Idempotency-Key"] = string.format("bench-%d-%d-%d", stamp, tid or 0, n)
	return wrk.format()
end
function done(summary, latency, requests)
	io.write(string.format("non2xx %d\n", summary.errors.status))
	io.write(string.format("sockerr %d\n", summary.errors.connect + summary.errors.read +
		summary.errors.write + summary.errors.timeout))
end
