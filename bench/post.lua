-- post.lua: wrk script: one POST body and bearer key for every request (set by bench.sh
-- through the environment); prints the count of non-2xx answers so a failing run says so.
wrk.method = "POST"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY")
-- BENCH_HEADERS: more headers, "Name: value" a line (a peer gateway that takes its upstream
-- from headers, as Portkey's does); unset for the other paths.
for line in string.gmatch(os.getenv("BENCH_HEADERS") or "", "[^\n]+") do
	local name, value = string.match(line, "^([^:]+):%s*(.*)$")
	if name then wrk.headers[name] = value end
end

function done(summary, latency, requests)
	io.write(string.format("non2xx %d\n", summary.errors.status))
	io.write(string.format("sockerr %d\n", summary.errors.connect + summary.errors.read +
		summary.errors.write + summary.errors.timeout))
end
