-- wrk script of the benchmarks (bench/run.sh).
--
--   wrk -t1 -c8 -d20s -s bench/wrk.lua http://127.0.0.1:8077 -- post BODIES AUTH
--   wrk -t1 -c8 -d10s -s bench/wrk.lua http://127.0.0.1:8077 -- get PATH [AUTH]
--
-- post: cycles through BODIES, lines of "path<TAB>urlencoded body" (one line: the
--       same answer every time; 160 lines: a different answer each time).
-- get:  GETs PATH.
-- AUTH: a file whose first line is the Cookie header and second the CSRF token
--       (written by `client.py login`); sent as Cookie and X-CSRFToken, as htmx does.
-- At the end it prints one line "BENCH_JSON {...}" with req/s, latency
-- percentiles and the count of each HTTP status, which client.py report reads.

local requests_list = {}
local position = 0
statuses = {}

local function read_lines(path)
  local lines = {}
  local f = assert(io.open(path, "r"))
  for line in f:lines() do
    if line ~= "" then table.insert(lines, line) end
  end
  f:close()
  return lines
end

function init(args)
  local mode, target, auth = args[1], args[2], args[3]
  local headers = {}
  if auth then
    local a = read_lines(auth)
    headers["Cookie"] = a[1]
    headers["X-CSRFToken"] = a[2]
  end
  if mode == "post" then
    headers["Content-Type"] = "application/x-www-form-urlencoded"
    headers["HX-Request"] = "true"
    for _, line in ipairs(read_lines(target)) do
      local path, body = line:match("^([^\t]+)\t(.*)$")
      table.insert(requests_list, wrk.format("POST", path, headers, body))
    end
  else
    table.insert(requests_list, wrk.format("GET", target, headers))
  end
end

function request()
  position = position % #requests_list + 1
  return requests_list[position]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    local s = thread:get("statuses")
    for status, n in pairs(s) do
      counts[tostring(status)] = (counts[tostring(status)] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(counts) do
    table.insert(parts, string.format('"%s": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "seconds": %.3f, "rps": %.1f, "p50_ms": %.2f, "p90_ms": %.2f, ' ..
    '"p99_ms": %.2f, "max_ms": %.2f, "mean_ms": %.2f, "statuses": {%s}, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, latency.mean / 1000, table.concat(parts, ", "),
    e.connect, e.read, e.write, e.status, e.timeout))
end
